"""问责 records: who was held to account, for which findings, by what measure, when, by whom.

Readable by admins, inspectors (the discipline side works with the inspector role) and
leaders, within scope; written by admins and inspectors. Agency officers, planners and
surveyors never see them (403), not even their own agency's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, any_, func, literal, select
from sqlalchemy.orm import Session

from backend.accounts.access import Principal
from backend.audit import service as audit
from backend.compliance import service as compliance
from backend.db.models import Agency
from backend.inventory.service import Page
from backend.services import scope as scopes
from backend.services.errors import InvalidInput, not_found
from backend.services.scope import adcode_range
from backend.supervision.access import accountability_visible
from backend.supervision.models import ACCOUNTABILITY_MEASURE_NAMES, AccountabilityRecord
from backend.supervision.schemas import AccountabilityCreate


def record_dict(a: AccountabilityRecord, agency_name: str | None = None) -> dict[str, Any]:
    zh, en = ACCOUNTABILITY_MEASURE_NAMES[a.measure]
    return {
        "id": a.id,
        "person_name": a.person_name,
        "person_post": a.person_post,
        "agency_id": a.agency_id,
        "agency_name": agency_name,
        "region_adcode": a.region_adcode,
        "finding_ids": [int(x) for x in a.finding_ids],
        "measure": a.measure,
        "measure_name_zh": zh,
        "measure_name_en": en,
        "measure_detail": a.measure_detail,
        "decided_on": a.decided_on.isoformat(),
        "issuing_body": a.issuing_body,
        "created_by": a.created_by,
        "version": a.version,
    }


def create(
    session: Session, body: AccountabilityCreate, *, principal: Principal, today: dt.date
) -> dict[str, Any]:
    """Record a 问责 decision about visible findings of a visible agency (audited)."""
    agency = session.scalars(
        select(Agency).where(Agency.id == body.agency_id, scopes.agencies(principal.scope))
    ).one_or_none()
    if agency is None:
        raise not_found("agency", body.agency_id)
    ids = sorted(set(body.finding_ids))
    for fid in ids:
        compliance.get_finding(session, fid, scope=principal.scope)  # 404 outside scope
    if body.decided_on > today:
        raise InvalidInput("decided_on is in the future", message_zh="问责日期不能晚于今天")
    a = AccountabilityRecord(
        person_name=body.person_name,
        person_post=body.person_post,
        agency_id=agency.id,
        region_adcode=agency.region_adcode,
        finding_ids=ids,
        measure=body.measure,
        measure_detail=body.measure_detail,
        decided_on=body.decided_on,
        issuing_body=body.issuing_body,
        created_by=principal.username,
    )
    session.add(a)
    session.flush()
    result = record_dict(a, agency.name)
    audit.record(
        session,
        actor=principal.username,
        action="accountability.create",
        object_type="accountability",
        object_id=a.id,
        after=result,
    )
    return result


def get(session: Session, record_id: int, *, principal: Principal) -> dict[str, Any]:
    row = session.execute(
        select(AccountabilityRecord, Agency.name)
        .join(Agency, Agency.id == AccountabilityRecord.agency_id)
        .where(AccountabilityRecord.id == record_id, accountability_visible(principal.scope))
    ).one_or_none()
    if row is None:
        raise not_found("accountability record", record_id)
    return record_dict(row[0], row[1])


def list_records(
    session: Session,
    *,
    principal: Principal,
    page: Page,
    agency: int | None = None,
    region: int | None = None,
    finding: int | None = None,
) -> dict[str, Any]:
    where: list[ColumnElement[bool]] = [accountability_visible(principal.scope)]
    if agency is not None:
        where.append(AccountabilityRecord.agency_id == agency)
    if region is not None:
        where.append(AccountabilityRecord.region_adcode.between(*adcode_range(region)))
    if finding is not None:
        where.append(literal(finding) == any_(AccountabilityRecord.finding_ids))
    n = session.execute(select(func.count()).select_from(AccountabilityRecord).where(*where))
    rows = session.execute(
        select(AccountabilityRecord, Agency.name)
        .join(Agency, Agency.id == AccountabilityRecord.agency_id)
        .where(*where)
        .order_by(AccountabilityRecord.decided_on.desc(), AccountabilityRecord.id.desc())
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    return {
        "numberMatched": n.scalar_one(),
        "numberReturned": len(rows),
        "items": [record_dict(a, name) for a, name in rows],
    }


__all__ = ["create", "get", "list_records"]
