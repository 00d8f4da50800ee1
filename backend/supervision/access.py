"""Who sees which supervision rows: one predicate per table, from ``backend.services.scope``.

The same rules are the row-level security policies of migration 0013 (the second wall).

- inspections: the organising region lies in the caller's regions, or one of the scope's
  agencies is the caller's (a region-scoped inspector of a city does not see the
  province's inspections);
- checks, evidence, accountability: the region or the agency of the object concerned;
- rectifications: the finding's region or agency, or the responsible agency (an agency
  officer sees the items their agency must rectify, and no others).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement

from backend.accounts.access import roles_for
from backend.services import scope as scopes
from backend.services.scope import Scope


def inspection_visible(scope: Scope) -> ColumnElement[bool]:
    return scopes.inspection_rows(scope)


def check_visible(scope: Scope) -> ColumnElement[bool]:
    return scopes.checks(scope)


def evidence_visible(scope: Scope) -> ColumnElement[bool]:
    return scopes.evidence(scope)


def rectification_visible(scope: Scope) -> ColumnElement[bool]:
    return scopes.rectifications(scope)


def accountability_visible(scope: Scope) -> ColumnElement[bool]:
    return scopes.accountability(scope)


# roles per capability: rows of the role × action table (backend/accounts/access.PERMISSIONS,
# the README's table), checked by the routes and services
READ_INSPECTIONS = roles_for("inspection.read")
WRITE_INSPECTIONS = roles_for("inspection.write")
CREATE_RECTIFICATION = roles_for("rectification.create")
READ_LEDGER = roles_for("rectification.read")
WRITE_LEDGER = roles_for("rectification.update")
FLAG_OVERDUE = roles_for("rectification.flag_overdue")
VERIFY = ("inspector",)  # within rectification.update: the verification fields
READ_ACCOUNTABILITY = roles_for("accountability.read")
WRITE_ACCOUNTABILITY = roles_for("accountability.write")
READ_ASSESSMENTS = roles_for("assessment.read")
UPLOAD_EVIDENCE = roles_for("evidence.upload")
