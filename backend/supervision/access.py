"""Who sees which supervision rows: one predicate per table, built on ``Scope``.

The same rules are the row-level security policies of migration 0013 (the second wall).

- inspections: the organising region lies in the caller's regions, or one of the scope's
  agencies is the caller's (a region-scoped inspector of a city does not see the
  province's inspections);
- checks, evidence, accountability: the region or the agency of the object concerned;
- rectifications: the finding's region or agency, or the responsible agency (an agency
  officer sees the items their agency must rectify, and no others).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, true

from backend.services.scope import Scope
from backend.supervision.models import (
    AccountabilityRecord,
    Evidence,
    Inspection,
    InspectionCheck,
    Rectification,
)


def inspection_visible(scope: Scope) -> ColumnElement[bool]:
    if scope.unrestricted:
        return true()
    parts = [scope.region_predicate(Inspection.region_adcode)]
    if scope.agencies:
        parts.append(Inspection.scope_agencies.overlap(sorted(scope.agencies)))
    return or_(*parts)


def check_visible(scope: Scope) -> ColumnElement[bool]:
    return scope.predicate(InspectionCheck.region_adcode, InspectionCheck.agency_id)


def evidence_visible(scope: Scope) -> ColumnElement[bool]:
    return scope.predicate(Evidence.region_adcode, Evidence.agency_id)


def rectification_visible(scope: Scope) -> ColumnElement[bool]:
    if scope.unrestricted:
        return true()
    return or_(
        scope.predicate(Rectification.region_adcode, Rectification.agency_id),
        scope.agency_predicate(Rectification.responsible_agency_id),
    )


def accountability_visible(scope: Scope) -> ColumnElement[bool]:
    return scope.predicate(AccountabilityRecord.region_adcode, AccountabilityRecord.agency_id)


# roles per capability (documented in README, checked by the routes and services)
READ_INSPECTIONS = ("admin", "inspector", "leader")
WRITE_INSPECTIONS = ("admin", "inspector")
READ_LEDGER = ("admin", "inspector", "leader", "agency_officer", "planner")
WRITE_LEDGER = ("admin", "inspector", "agency_officer")
VERIFY = ("inspector",)
READ_ACCOUNTABILITY = ("admin", "inspector", "leader")
WRITE_ACCOUNTABILITY = ("admin", "inspector")
READ_ASSESSMENTS = ("admin", "inspector", "leader", "planner")
UPLOAD_EVIDENCE = ("admin", "inspector", "agency_officer")
