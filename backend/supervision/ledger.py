"""The rectification ledger 整改台账: one item per finding that needs action.

Statuses: 待整改 ``pending`` → 整改中 ``in_progress`` → 已整改待核验
``awaiting_verification`` → 已销号 ``closed``; 逾期 (overdue) is not a stored status but
the calendar's verdict: an item not closed whose deadline has passed (China Standard
Time). ``flag_overdue`` (run daily: ``officemap supervision flag-overdue``) stamps and
audits each item on the day it becomes overdue; reads compute it from the clock anyway.

Who moves what:
- an inspector or admin puts a finding on the ledger (responsible agency, named person,
  deadline) and edits those;
- the responsible agency's officer (or an inspector/admin) records measures, the state
  after, the reason if not rectified, attaches before/after evidence, starts and submits;
- only an inspector verifies (销号), only with evidence (``after`` or ``verification``);
  or sends the item back to 整改中 with a note.

A finding the rules no longer produce keeps its open ledger item and is *proposed* for
closure (``closure_proposed_at``, set by the compliance merge); an inspector may then
verify it from any open status, still with evidence.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from backend.accounts.access import Principal
from backend.audit import service as audit
from backend.compliance import service as compliance
from backend.db.compliance import ComplianceFinding
from backend.db.models import Agency
from backend.inventory.service import Page
from backend.services import scope as scopes
from backend.services.errors import Conflict, Forbidden, InvalidInput, not_found, stale
from backend.services.scope import Scope, adcode_range
from backend.supervision import clock
from backend.supervision.access import VERIFY, rectification_visible
from backend.supervision.models import (
    RECTIFICATION_STATUS_NAMES,
    Evidence,
    Rectification,
)
from backend.supervision.schemas import RectificationCreate, RectificationUpdate
from backend.supervision.service import (
    _plain,
    finding_public,
    get_check,
    get_inspection,
    rule_names,
)

OPEN = ("pending", "in_progress", "awaiting_verification")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("in_progress",),
    "in_progress": ("awaiting_verification",),
    "awaiting_verification": ("closed", "in_progress"),
    "closed": (),
}
INSPECTOR_FIELDS = (
    "responsible_agency_id",
    "responsible_person",
    "responsible_post",
    "deadline",
    "problem",
)
OFFICER_FIELDS = ("measures", "after_state", "not_rectified_reason")
CLOSING_PHASES = ("after", "verification")


def is_overdue(r: Rectification, today: dt.date) -> bool:
    return r.status != "closed" and r.deadline < today


def _evidence(session: Session, rectification_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Evidence).where(Evidence.rectification_id == rectification_id).order_by(Evidence.id)
    ).all()
    from backend.supervision.evidence import evidence_dict

    return [evidence_dict(e) for e in rows]


def item_dict(
    session: Session,
    r: Rectification,
    today: dt.date,
    *,
    finding: ComplianceFinding | None = None,
    scope: Scope | None = None,
) -> dict[str, Any]:
    """A ledger item; with ``scope``, its finding names only rooms, floors and buildings the
    caller may see (the agency that must rectify may not see the room of the finding)."""
    overdue = is_overdue(r, today)
    label = "overdue" if overdue else r.status
    zh, en = RECTIFICATION_STATUS_NAMES[label]
    agency = session.get(Agency, r.responsible_agency_id)
    out: dict[str, Any] = {
        "id": r.id,
        "finding_id": r.finding_id,
        "inspection_id": r.inspection_id,
        "check_id": r.check_id,
        "problem": r.problem,
        "responsible_agency_id": r.responsible_agency_id,
        "responsible_agency_name": agency.name if agency else None,
        "responsible_person": r.responsible_person,
        "responsible_post": r.responsible_post,
        "measures": r.measures,
        "deadline": r.deadline.isoformat(),
        "status": r.status,
        "status_name_zh": zh,
        "status_name_en": en,
        "overdue": overdue,
        "overdue_days": (today - r.deadline).days if overdue else 0,
        "overdue_flagged_on": r.overdue_flagged_on.isoformat() if r.overdue_flagged_on else None,
        "after_state": r.after_state,
        "not_rectified_reason": r.not_rectified_reason,
        "verified_by": r.verified_by,
        "verified_at": r.verified_at.isoformat() if r.verified_at else None,
        "verification_note": r.verification_note,
        "closure_proposed": r.closure_proposed_at is not None,
        "closure_proposed_at": r.closure_proposed_at.isoformat() if r.closure_proposed_at else None,
        "region_adcode": r.region_adcode,
        "agency_id": r.agency_id,
        "building_id": r.building_id,
        "created_by": r.created_by,
        "created_at": r.created_at.isoformat() if r.created_at else None,
        "version": r.version,
    }
    if finding is not None:
        public = finding_public(finding)
        out["finding"] = (
            public if scope is None else scopes.findings_as_seen(session, scope, [public])[0]
        )
    return out


def _get(session: Session, finding_id: int, principal: Principal) -> Rectification:
    found = session.scalars(
        select(Rectification).where(
            Rectification.finding_id == finding_id, rectification_visible(principal.scope)
        )
    ).one_or_none()
    if found is None:
        raise not_found("rectification of finding", finding_id)
    return found


def read(
    session: Session, finding_id: int, *, principal: Principal, today: dt.date
) -> dict[str, Any]:
    """One ledger item with its finding and evidence."""
    r = _get(session, finding_id, principal)
    out = item_dict(
        session,
        r,
        today,
        finding=session.get(ComplianceFinding, r.finding_id),
        scope=principal.scope,
    )
    out["evidence"] = _evidence(session, r.id)
    return out


def _default_problem(f: ComplianceFinding) -> str:
    zh, _ = rule_names(f.rule_code)
    parts = [zh]
    if f.measured is not None and f.allowed is not None:
        unit = (f.details or {}).get("unit") or ""
        unit = "m²" if unit == "m2" else unit
        parts.append(f"实测 {f.measured} {unit}，标准 {f.allowed} {unit}".strip())
    return "；".join(parts)[:1000]


def _require_agency(session: Session, agency_id: int, principal: Principal) -> None:
    ok = session.execute(
        select(Agency.id).where(Agency.id == agency_id, scopes.agencies(principal.scope))
    ).first()
    if ok is None:
        raise not_found("agency", agency_id)


def create(
    session: Session,
    finding_id: int,
    body: RectificationCreate,
    *,
    principal: Principal,
    today: dt.date,
) -> dict[str, Any]:
    """Put a visible, open finding on the ledger (inspector/admin); the finding becomes
    'rectifying'. Audited."""
    f = compliance.get_finding(session, finding_id, scope=principal.scope)
    if f.status == "closed":
        raise Conflict(
            "the finding is closed", message_zh="该问题已关闭", details={"finding": f.id}
        )
    existing = session.scalars(
        select(Rectification.id).where(Rectification.finding_id == f.id)
    ).first()
    if existing is not None:
        raise Conflict(
            "the finding is already on the ledger",
            message_zh="该问题已列入整改台账",
            details={"rectification": existing},
        )
    agency_id = body.responsible_agency_id or f.agency_id
    if agency_id is None:
        raise InvalidInput(
            "name the responsible agency (the finding has none)",
            message_zh="请填写整改责任单位",
            details={"field": "responsible_agency_id"},
        )
    _require_agency(session, agency_id, principal)
    if body.deadline < today:
        raise InvalidInput(
            "the deadline is in the past",
            message_zh="整改期限不能早于今天",
            details={"field": "deadline"},
        )
    if body.inspection_id is not None:
        get_inspection(session, body.inspection_id, principal=principal)
    if body.check_id is not None:
        c = get_check(session, body.check_id, principal=principal)
        if c.finding_id != f.id:
            raise InvalidInput("the check is about another finding", details={"check": c.id})
    r = Rectification(
        finding_id=f.id,
        inspection_id=body.inspection_id,
        check_id=body.check_id,
        problem=body.problem or _default_problem(f),
        responsible_agency_id=agency_id,
        responsible_person=body.responsible_person,
        responsible_post=body.responsible_post,
        measures=body.measures,
        deadline=body.deadline,
        status="pending",
        region_adcode=f.region_adcode,
        agency_id=f.agency_id,
        building_id=f.building_id,
        created_by=principal.username,
    )
    session.add(r)
    before_status = f.status
    f.status = "rectifying"
    session.flush()
    session.refresh(r)
    result = item_dict(session, r, today)
    audit.record(
        session,
        actor=principal.username,
        action="rectification.create",
        object_type="rectification",
        object_id=r.id,
        before={"finding_status": before_status},
        after=result | {"finding_status": "rectifying"},
    )
    return read(session, f.id, principal=principal, today=today)


def _may_officer(r: Rectification, principal: Principal) -> bool:
    """Officer rights on the item: an agency officer of the responsible agency."""
    return principal.has_any("agency_officer") and (
        principal.scope.unrestricted or r.responsible_agency_id in principal.scope.agencies
    )


def _closing_evidence(session: Session, r: Rectification) -> int:
    return int(
        session.execute(
            select(func.count()).where(
                Evidence.rectification_id == r.id, Evidence.phase.in_(CLOSING_PHASES)
            )
        ).scalar_one()
    )


def update(
    session: Session,
    finding_id: int,
    body: RectificationUpdate,
    *,
    expected: int,
    principal: Principal,
    today: dt.date,
) -> dict[str, Any]:
    """Edit the item and/or move it one step (If-Match); the rules in the module docstring."""
    r = _get(session, finding_id, principal)
    if r.version != expected:
        raise stale("rectification", r.id, r.version, expected)
    if r.status == "closed":
        raise Conflict("the item is closed (已销号)", message_zh="该事项已销号，不能再修改")
    changes = body.model_dump(exclude_unset=True)
    supervisor = principal.has_any("admin", "inspector")
    officer = _may_officer(r, principal)
    if not (supervisor or officer):
        raise Forbidden(
            "only inspectors and the responsible agency's officers change this item",
            message_zh="仅检查人员和整改责任单位可以修改该事项",
        )
    for key in INSPECTOR_FIELDS:
        if key in changes and not supervisor:
            raise Forbidden(
                f"only inspectors change {key}", message_zh="责任单位、责任人和期限由检查人员确定"
            )
        if key in changes and changes[key] is None and key != "responsible_post":
            raise InvalidInput(f"{key} cannot be empty", details={"field": key})
    if "verification_note" in changes and not principal.has_any(*VERIFY):
        raise Forbidden(
            "only inspectors write the verification note", message_zh="仅检查人员可填写核验意见"
        )
    if "responsible_agency_id" in changes:
        _require_agency(session, changes["responsible_agency_id"], principal)
    if "deadline" in changes and changes["deadline"] < today and changes["deadline"] != r.deadline:
        raise InvalidInput("the deadline is in the past", message_zh="整改期限不能早于今天")
    target = changes.pop("status", None)
    if target is not None and target != r.status:
        _check_transition(session, r, target, changes, principal)
    elif target is not None:
        target = None
    values: dict[str, Any] = dict(changes)
    if target is not None:
        values["status"] = target
        if target == "closed":
            values["verified_by"] = principal.username
            values["verified_at"] = clock.now()
    if "deadline" in values and values["deadline"] >= today:
        values["overdue_flagged_on"] = None
    if not values:
        return read(session, finding_id, principal=principal, today=today)
    before = {k: _plain(getattr(r, k)) for k in values}
    new_version = session.execute(
        sql_update(Rectification)
        .where(Rectification.id == r.id, Rectification.version == expected)
        .values(**values, version=Rectification.version + 1, updated_at=func.now())
        .returning(Rectification.version)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if new_version is None:
        current = session.execute(select(Rectification.version).where(Rectification.id == r.id))
        raise stale("rectification", r.id, current.scalar_one(), expected)
    session.expire(r)
    action = "rectification.update" if target is None else f"rectification.{target}"
    audit.record(
        session,
        actor=principal.username,
        action=action,
        object_type="rectification",
        object_id=r.id,
        before=before | {"version": expected},
        after={k: _plain(v) for k, v in values.items()} | {"version": new_version},
    )
    if target == "closed":
        _close_finding(session, r, principal)
    return read(session, finding_id, principal=principal, today=today)


def _check_transition(
    session: Session,
    r: Rectification,
    target: str,
    changes: dict[str, Any],
    principal: Principal,
) -> None:
    allowed = TRANSITIONS[r.status]
    proposed_close = target == "closed" and r.closure_proposed_at is not None
    if target not in allowed and not proposed_close:
        raise Conflict(
            f"cannot go from {r.status} to {target}",
            message_zh=(
                f"不能从“{RECTIFICATION_STATUS_NAMES[r.status][0]}”"
                f"变为“{RECTIFICATION_STATUS_NAMES[target][0]}”"
            ),
            details={"from": r.status, "to": target, "allowed": list(allowed)},
        )
    verifying = target == "closed" or (
        r.status == "awaiting_verification" and target == "in_progress"
    )
    if verifying and not principal.has_any(*VERIFY):
        raise Forbidden("only an inspector verifies (销号)", message_zh="仅检查人员可以核验销号")
    if target == "closed" and not _closing_evidence(session, r):
        raise Conflict(
            "closing needs evidence: attach an 'after' or 'verification' file first",
            message_zh="销号须有整改后或核验的佐证材料",
            details={"evidence_phases": list(CLOSING_PHASES)},
        )
    if (
        r.status == "awaiting_verification"
        and target == "in_progress"
        and not changes.get("verification_note")
    ):
        raise InvalidInput(
            "sending an item back needs a verification_note",
            message_zh="退回整改须填写核验意见",
            details={"field": "verification_note"},
        )
    if (
        target == "in_progress"
        and r.status == "pending"
        and not (changes.get("measures") or r.measures)
    ):
        raise InvalidInput(
            "starting needs the measures",
            message_zh="开始整改须填写整改措施",
            details={"field": "measures"},
        )
    if target == "awaiting_verification":
        reason = changes.get("not_rectified_reason", r.not_rectified_reason)
        if not reason and not _closing_evidence(session, r):
            raise InvalidInput(
                "submitting needs 'after' evidence or the reason it was not rectified",
                message_zh="提交核验须有整改后佐证材料或未整改原因",
                details={"fields": ["evidence(after)", "not_rectified_reason"]},
            )


def _close_finding(session: Session, r: Rectification, principal: Principal) -> None:
    f = session.get(ComplianceFinding, r.finding_id)
    if f is None or f.status == "closed":
        return
    before = f.status
    f.status = "closed"
    f.closed_at = clock.now()
    f.details = {
        **(f.details or {}),
        "closed_by": "verification",
        "verified_by": principal.username,
        "rectification_id": r.id,
    }
    session.flush()
    audit.record(
        session,
        actor=principal.username,
        action="compliance.finding.status",
        object_type="compliance_finding",
        object_id=f.id,
        before={"status": before},
        after={"status": "closed", "closed_by": "verification", "rectification_id": r.id},
    )


# ---------------------------------------------------------------- the ledger
def _filters(
    principal: Principal,
    today: dt.date,
    *,
    status: str | None = None,
    region: int | None = None,
    agency: int | None = None,
    inspection: int | None = None,
    person: str | None = None,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [rectification_visible(principal.scope)]
    if status == "overdue":
        where += [Rectification.status != "closed", Rectification.deadline < today]
    elif status == "open":
        where.append(Rectification.status != "closed")
    elif status is not None:
        where.append(Rectification.status == status)
    if region is not None:
        where.append(Rectification.region_adcode.between(*adcode_range(region)))
    if agency is not None:
        where.append(Rectification.responsible_agency_id == agency)
    if inspection is not None:
        where.append(Rectification.inspection_id == inspection)
    if person is not None:
        where.append(Rectification.responsible_person == person)
    return where


def list_items(
    session: Session,
    *,
    principal: Principal,
    today: dt.date,
    page: Page,
    **filters: Any,
) -> dict[str, Any]:
    where = _filters(principal, today, **filters)
    matched = session.execute(select(func.count()).select_from(Rectification).where(*where))
    rows = session.execute(
        select(Rectification, ComplianceFinding)
        .join(ComplianceFinding, ComplianceFinding.id == Rectification.finding_id)
        .where(*where)
        .order_by(Rectification.deadline, Rectification.id)
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    return {
        "as_of": today.isoformat(),
        "numberMatched": matched.scalar_one(),
        "numberReturned": len(rows),
        "items": [item_dict(session, r, today, finding=f, scope=principal.scope) for r, f in rows],
    }


def reminders(
    session: Session, *, principal: Principal, today: dt.date, within_days: int = 7
) -> dict[str, Any]:
    """Per responsible person: items overdue and items due within ``within_days``."""
    horizon = today + dt.timedelta(days=within_days)
    rows = session.execute(
        select(Rectification, Agency.name)
        .join(Agency, Agency.id == Rectification.responsible_agency_id)
        .where(
            rectification_visible(principal.scope),
            Rectification.status != "closed",
            Rectification.deadline <= horizon,
        )
        .order_by(Agency.name, Rectification.responsible_person, Rectification.deadline)
    ).all()
    people: dict[tuple[int, str], dict[str, Any]] = {}
    for r, agency_name in rows:
        p = people.setdefault(
            (r.responsible_agency_id, r.responsible_person),
            {
                "responsible_agency_id": r.responsible_agency_id,
                "responsible_agency_name": agency_name,
                "responsible_person": r.responsible_person,
                "overdue": [],
                "due_soon": [],
            },
        )
        entry = {
            "finding_id": r.finding_id,
            "problem": r.problem,
            "deadline": r.deadline.isoformat(),
            "status": r.status,
            "days": (r.deadline - today).days,
        }
        (p["overdue"] if r.deadline < today else p["due_soon"]).append(entry)
    return {
        "as_of": today.isoformat(),
        "within_days": within_days,
        "people": sorted(
            people.values(),
            key=lambda p: (
                -len(p["overdue"]),
                p["responsible_agency_name"],
                p["responsible_person"],
            ),
        ),
    }


def flag_overdue(session: Session, *, today: dt.date, actor: str = "system") -> dict[str, int]:
    """The daily flag: stamp and audit items that became overdue; clear extended ones."""
    newly = session.scalars(
        select(Rectification)
        .where(
            Rectification.status != "closed",
            Rectification.deadline < today,
            Rectification.overdue_flagged_on.is_(None),
        )
        .order_by(Rectification.id)
        .with_for_update()
    ).all()
    for r in newly:
        r.overdue_flagged_on = today
        r.version += 1
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="rectification.overdue",
            object_type="rectification",
            object_id=r.id,
            after={
                "deadline": r.deadline.isoformat(),
                "flagged_on": today.isoformat(),
                "responsible_agency_id": r.responsible_agency_id,
                "responsible_person": r.responsible_person,
            },
        )
    cleared = session.execute(
        sql_update(Rectification)
        .where(
            Rectification.overdue_flagged_on.is_not(None),
            or_(Rectification.deadline >= today, Rectification.status == "closed"),
        )
        .values(overdue_flagged_on=None, version=Rectification.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return {"flagged": len(newly), "cleared": int(cleared or 0)}


def progress(
    session: Session,
    *,
    principal: Principal,
    today: dt.date,
    months: int = 12,
    region: int | None = None,
) -> dict[str, Any]:
    """Per month (China Standard Time): items opened, closed (销号), and overdue at month end."""
    where = _filters(principal, today, region=region)
    first = dt.date(today.year, today.month, 1)
    for _ in range(months - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    items = session.execute(
        select(
            Rectification.created_at,
            Rectification.verified_at,
            Rectification.deadline,
            Rectification.status,
        ).where(*where)
    ).all()
    out = []
    month = first
    while month <= today:
        nxt = (month + dt.timedelta(days=32)).replace(day=1)
        last = min(nxt - dt.timedelta(days=1), today)
        opened = closed = overdue = open_end = 0
        for created, verified, deadline, _status in items:
            c_day = clock.cst_date(created)
            v_day = clock.cst_date(verified) if verified else None
            if month <= c_day <= last:
                opened += 1
            if v_day is not None and month <= v_day <= last:
                closed += 1
            if c_day <= last and (v_day is None or v_day > last):
                open_end += 1
                if deadline < last:
                    overdue += 1
        out.append(
            {
                "month": month.strftime("%Y-%m"),
                "opened": opened,
                "closed": closed,
                "open_at_end": open_end,
                "overdue_at_end": overdue,
            }
        )
        month = nxt
    return {"as_of": today.isoformat(), "region": region, "months": out}


def ledger_rows(
    session: Session, *, principal: Principal, today: dt.date, **filters: Any
) -> list[tuple[Rectification, ComplianceFinding]]:
    where = _filters(principal, today, **filters)
    return [
        (r, f)
        for r, f in session.execute(
            select(Rectification, ComplianceFinding)
            .join(ComplianceFinding, ComplianceFinding.id == Rectification.finding_id)
            .where(*where)
            .order_by(Rectification.region_adcode, Rectification.building_id, Rectification.id)
        ).all()
    ]


__all__ = ["create", "flag_overdue", "list_items", "progress", "read", "reminders", "update"]
