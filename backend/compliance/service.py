"""Compliance engine: rules 1–7 as set-based SQL, incremental re-evaluation, roll-ups.

The rules live in ``backend/compliance/sql/compliance.sql`` (every value bound). An evaluation fills a
temporary table with candidate findings for its target (the whole province, or the floors,
agencies, people and buildings a change touches) and merges them into
``compliance_findings``: a finding still produced is refreshed (its status kept), a new one
is opened, one no longer produced is closed — unless it has an open item in the
rectification ledger (``backend.supervision``): then it is proposed for closure and stays
open until an inspector verifies it (销号). Every evaluation records the standards
version and the date it judged at, so it can be repeated.

Shared offices: a room's usable area is compared with the SUM of the allowances of its
in-post occupants (each by their agency level and rank); the finding lists every occupant
with their allowance.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, text, update
from sqlalchemy.orm import Session

from backend import timekeeping
from backend.audit import service as audit
from backend.compliance import standards
from backend.db.compliance import (
    FINDING_STATUSES,
    RULE_CODES,
    ComplianceEvaluation,
    ComplianceFinding,
    Lease,
)
from backend.db.models import Agency, Building, Floor, Occupancy, Region, Room
from backend.inventory.service import Page
from backend.services import scope as scopes
from backend.services.errors import Conflict, InvalidInput, NotFound, stale
from backend.services.scope import Scope, adcode_range

SQL_FILE = Path(__file__).resolve().parent / "sql" / "compliance.sql"

RULE_NAMES: dict[str, tuple[str, str]] = {
    "office_over_standard": ("办公室面积超标", "Office over standard"),
    "agency_over_approved": ("单位办公用房超核定面积", "Agency over approved area"),
    "multiple_offices": ("多处占用办公室", "Offices in more than one place"),
    "office_not_recovered": ("调离退休后办公室未腾退", "Office not recovered"),
    "idle_room": ("房间闲置", "Idle room"),
    "idle_floor": ("楼层闲置", "Idle floor"),
    "unapproved_lease": ("未经批准出租出借", "Rented out or lent without approval"),
    "data_quality.overlap": ("数据质量：房间重叠", "Data quality: overlapping rooms"),
    "data_quality.outside_floor": ("数据质量：房间超出楼层", "Data quality: room outside floor"),
    "data_quality.usable_coefficient": (
        "数据质量：使用面积系数偏低",
        "Data quality: usable-area coefficient below minimum",
    ),
    "data_quality.uncategorised": ("数据质量：房间未分类", "Data quality: room without category"),
}
assert set(RULE_NAMES) == set(RULE_CODES)
# findings raised by inspectors on site (backend.supervision): same fields, never closed by
# a re-evaluation (the rules do not produce them)
MANUAL_RULE_NAMES: dict[str, tuple[str, str]] = {
    "manual.area_mismatch": (
        "账实不符：实测面积与登记不符",
        "Measured area differs from the register",
    ),
    "manual.use_changed": ("擅自改变使用功能", "Use differs from the registered category"),
    "manual.occupant_mismatch": ("使用人与登记不符", "Occupant differs from the register"),
    "manual.lease": ("出租出借", "Rented out or lent"),
    "manual.over_standard": ("超标准使用（现场核查）", "Over standard (found on site)"),
    "manual.other": ("其他问题", "Other problem"),
}

STATUS_NAMES = {"open": "待整改", "rectifying": "整改中", "closed": "已关闭"}
LEVELS = ("province", "city", "county", "agency", "building")

# statement names of the SQL file, in evaluation order
RULE_STATEMENTS = (
    "office_over_standard",
    "agency_over_approved",
    "multiple_offices",
    "office_not_recovered",
    "idle",
    "unapproved_lease",
    "uncategorised",
    "outside_floor",
    "overlap",
    "usable_coefficient",
)
_STATEMENT_RULES = {
    "idle": ("idle_room", "idle_floor"),
    "uncategorised": ("data_quality.uncategorised",),
    "outside_floor": ("data_quality.outside_floor",),
    "overlap": ("data_quality.overlap",),
    "usable_coefficient": ("data_quality.usable_coefficient",),
}


@lru_cache
def statements(path: Path = SQL_FILE) -> dict[str, str]:
    """Named statements of the rules file (``-- name: x`` starts statement x)."""
    out: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"--\s*name:\s*(\S+)", line)
        if m:
            if name:
                out[name] = "\n".join(lines).strip()
            name, lines = m.group(1), []
        elif name:
            lines.append(line)
    if name:
        out[name] = "\n".join(lines).strip()
    return out


@dataclass(frozen=True)
class Target:
    """What an evaluation covers; ``None`` everywhere means the whole province."""

    floors: tuple[int, ...] | None = None
    agencies: tuple[int, ...] | None = None
    persons: tuple[str, ...] | None = None
    buildings: tuple[int, ...] | None = None

    @property
    def full(self) -> bool:
        return self.floors is None

    def params(self) -> dict[str, Any]:
        def arr(v: tuple[Any, ...] | None) -> list[Any] | None:
            return None if v is None else list(v)

        return {
            "floors": arr(self.floors),
            "agencies": arr(self.agencies),
            "persons": arr(self.persons),
            "buildings": arr(self.buildings),
        }


@dataclass
class EvaluationResult:
    """What one evaluation did."""

    evaluation_id: int
    kind: str
    as_of: dt.date
    standard_version: str
    counts: dict[str, int] = field(default_factory=dict)
    not_configured: dict[str, str] = field(default_factory=dict)
    opened: int = 0
    refreshed: int = 0
    closed: int = 0
    proposed_for_closure: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        total = sum(self.counts.values())
        return (
            f"{total} findings ({self.opened} new, {self.refreshed} still open, "
            f"{self.closed} closed) with standards {self.standard_version} as of {self.as_of} "
            f"in {self.seconds:.2f} s"
        )


def fill_candidates(
    session: Session,
    params: dict[str, Any],
    threshold: Decimal | None,
    coefficient_min: Decimal | None,
) -> dict[str, str]:
    """Run every configured rule into the temporary table ``cf_new`` (nothing merged);
    returns the rules not (or only partly) configured and why. ``params`` bind the target
    arrays, ``as_of``, ``version``, ``threshold`` and ``coefficient_min``."""
    version = params["version"]
    sql = statements()
    not_configured: dict[str, str] = {}
    if threshold is None:
        not_configured["idle_room"] = not_configured["idle_floor"] = (
            f"{standards.IDLE_THRESHOLD} is empty in {version}"
        )
    if coefficient_min is None:
        not_configured["data_quality.usable_coefficient"] = (
            f"{standards.USABLE_COEFFICIENT_MIN} is empty in {version}"
        )
    session.execute(text(sql["create_new"]))
    session.execute(text("TRUNCATE cf_new"))
    for name in RULE_STATEMENTS:
        rules = _STATEMENT_RULES.get(name, (name,))
        if any(r in not_configured for r in rules):
            continue
        session.execute(text(sql[name]), params)
    for rule, stmt in (
        ("office_over_standard", "office_over_standard_unconfigured"),
        ("agency_over_approved", "agency_over_approved_unconfigured"),
    ):
        n = session.execute(text(sql[stmt]), params).scalar_one()
        if n:
            what = "rooms" if rule == "office_over_standard" else "agencies"
            not_configured[rule] = (
                f"partly: {n} {what} not judged (an allowance is not configured in {version})"
            )
    session.execute(text(sql["drop_disposed"]))
    return not_configured


def evaluate(
    session: Session,
    target: Target,
    *,
    as_of: dt.date | None = None,
    version: str | None = None,
    actor: str = "system",
    audited: bool = True,
) -> EvaluationResult:
    """Run every configured rule over ``target`` and merge the findings (caller's transaction).

    ``audited=False``: no audit event of its own (a write that triggered it has one)."""
    t0 = time.perf_counter()
    session.flush()  # the rules read the caller's pending changes
    as_of = as_of or timekeeping.today()
    version = standards.resolve_version(session, as_of, version)
    threshold = standards.setting(session, version, standards.IDLE_THRESHOLD)
    coefficient_min = standards.setting(session, version, standards.USABLE_COEFFICIENT_MIN)
    now = dt.datetime.now(dt.UTC)
    evaluation = ComplianceEvaluation(
        kind="full" if target.full else "incremental",
        as_of=as_of,
        standard_version=version,
        target=None if target.full else {k: v for k, v in target.params().items()},
        started_at=now,
        actor=actor,
    )
    session.add(evaluation)
    session.flush()
    params: dict[str, Any] = {
        **target.params(),
        "as_of": as_of,
        "version": version,
        "threshold": int(threshold) if threshold is not None else None,
        "coefficient_min": coefficient_min,
        "now": now,
        "evaluation_id": evaluation.id,
    }
    not_configured = fill_candidates(session, params, threshold, coefficient_min)
    sql = statements()
    session.execute(text("ANALYZE cf_new"))  # the merge joins on it: give the planner its size
    counts = {
        str(r): int(n)
        for r, n in session.execute(text("SELECT rule_code, count(*) FROM cf_new GROUP BY 1"))
    }
    judged = [r for r in RULE_CODES if r not in not_configured or "partly" in not_configured[r]]
    refreshed = session.execute(text(sql["merge_update"]), params).rowcount  # type: ignore[attr-defined]
    opened = session.execute(text(sql["merge_insert"]), params).rowcount  # type: ignore[attr-defined]
    closed = session.execute(text(sql["merge_close"]), {**params, "rules": judged}).rowcount  # type: ignore[attr-defined]
    proposed = int(session.execute(text(sql["proposed_for_closure"]), params).scalar_one())
    for obj in list(session.identity_map.values()):
        if isinstance(obj, ComplianceFinding):
            session.expire(obj)  # the merge changed them behind the ORM's back
    evaluation.finished_at = dt.datetime.now(dt.UTC)
    evaluation.counts = counts
    evaluation.not_configured = not_configured
    session.flush()
    if not audited:
        return _result(evaluation, counts, not_configured, opened, refreshed, closed, proposed, t0)
    audit.record(
        session,
        actor=actor,
        action="compliance.evaluate",
        object_type="compliance_evaluation",
        object_id=evaluation.id,
        after={
            "kind": evaluation.kind,
            "as_of": as_of.isoformat(),
            "standard_version": version,
            "target": evaluation.target,
            "opened": opened,
            "closed": closed,
            "proposed_for_closure": proposed,
        },
    )
    return _result(evaluation, counts, not_configured, opened, refreshed, closed, proposed, t0)


def _result(
    evaluation: ComplianceEvaluation,
    counts: dict[str, int],
    not_configured: dict[str, str],
    opened: int,
    refreshed: int,
    closed: int,
    proposed: int,
    t0: float,
) -> EvaluationResult:
    return EvaluationResult(
        evaluation_id=evaluation.id,
        kind=evaluation.kind,
        as_of=evaluation.as_of,
        standard_version=evaluation.standard_version,
        counts=counts,
        not_configured=not_configured,
        opened=opened,
        refreshed=refreshed,
        closed=closed,
        proposed_for_closure=proposed,
        seconds=time.perf_counter() - t0,
    )


def run_full(
    session: Session,
    *,
    as_of: dt.date | None = None,
    version: str | None = None,
    actor: str = "system",
) -> EvaluationResult:
    """Evaluate the whole province."""
    return evaluate(session, Target(), as_of=as_of, version=version, actor=actor)


def target_for_floors(session: Session, floor_ids: Iterable[int]) -> Target:
    """What a change to these floors touches: every version of their storeys, the agencies
    and people using them, their buildings."""
    ids = sorted(set(floor_ids))
    if not ids:
        return Target(floors=(), agencies=(), persons=(), buildings=())
    storeys = select(Floor.building_id, Floor.level).where(Floor.id.in_(ids)).subquery()
    floors = sorted(
        session.scalars(
            select(Floor.id).join(
                storeys,
                and_(Floor.building_id == storeys.c.building_id, Floor.level == storeys.c.level),
            )
        ).all()
    )
    buildings = sorted(
        session.scalars(select(Floor.building_id).where(Floor.id.in_(floors)).distinct()).all()
    )
    room_agencies = session.scalars(
        select(Room.agency_id).where(Room.floor_id.in_(floors), Room.agency_id.is_not(None))
    ).all()
    occupants = session.execute(
        select(Occupancy.agency_id, Occupancy.person_id)
        .join(Room, Room.id == Occupancy.room_id)
        .where(Room.floor_id.in_(floors))
    ).all()
    agencies = {a for a in room_agencies if a is not None} | {o[0] for o in occupants}
    persons = {o[1] for o in occupants if o[1] is not None}
    return Target(
        floors=tuple(floors),
        agencies=tuple(sorted(agencies)),
        persons=tuple(sorted(persons)),
        buildings=tuple(buildings),
    )


def evaluate_floor(
    session: Session,
    floor_id: int,
    *,
    as_of: dt.date | None = None,
    version: str | None = None,
    actor: str = "system",
) -> EvaluationResult:
    """Re-evaluate what a change to one floor touches (plan upload, occupancy change)."""
    if session.get(Floor, floor_id) is None:
        raise NotFound(f"floor {floor_id} does not exist", details={"floor": floor_id})
    return evaluate(
        session, target_for_floors(session, [floor_id]), as_of=as_of, version=version, actor=actor
    )


def _merge(*targets: Target) -> Target:
    """One target covering all of ``targets`` (each part the sorted union)."""

    def part(name: str) -> tuple[Any, ...]:
        values: set[Any] = set()
        for t in targets:
            values.update(getattr(t, name) or ())
        return tuple(sorted(values))

    return Target(
        floors=part("floors"),
        agencies=part("agencies"),
        persons=part("persons"),
        buildings=part("buildings"),
    )


def target_for_buildings(session: Session, building_ids: Iterable[int]) -> Target:
    """What a change to a building (its agency, a building-wide lease) touches: its current
    floors with everything they touch, and the building itself."""
    ids = sorted(set(building_ids))
    floors = session.scalars(
        select(Floor.id).where(Floor.building_id.in_(ids), Floor.valid_to.is_(None))
    ).all()
    return _merge(target_for_floors(session, floors), Target((), (), (), tuple(ids)))


def target_for_agencies(
    session: Session, agency_ids: Iterable[int], *, occupants: bool = False
) -> Target:
    """What a change to an agency touches: its approved-area finding (staffing, approved
    area); with ``occupants`` (its level changed) also the floors where its people sit."""
    ids = tuple(sorted(set(agency_ids)))
    target = Target(floors=(), agencies=ids, persons=(), buildings=())
    if not occupants:
        return target
    floors = session.scalars(
        select(Room.floor_id)
        .join(Occupancy, Occupancy.room_id == Room.id)
        .where(Occupancy.agency_id.in_(ids))
        .distinct()
    ).all()
    return _merge(target, target_for_floors(session, floors))


def target_for_change(
    session: Session, what: str, key: int, before: dict[str, Any], after: dict[str, Any]
) -> Target | None:
    """What one audited write of the register touches (None: nothing a rule reads).

    ``before``/``after`` hold the changed columns (as the audit event records them).
    """
    if what in ("room", "occupancy"):
        rooms = (
            select(Occupancy.room_id).where(Occupancy.id == key)
            if what == "occupancy"
            else select(Room.id).where(Room.id == key)
        )
        floors = session.scalars(select(Room.floor_id).where(Room.id.in_(rooms))).all()
        # the agency or person it no longer names is touched too (its finding may go)
        agencies = {v for v in (before.get("agency_id"), after.get("agency_id")) if v}
        persons = {v for v in (before.get("person_id"), after.get("person_id")) if v}
        return _merge(
            target_for_floors(session, floors),
            Target((), tuple(agencies), tuple(persons), ()),
        )
    if what == "lease":  # its building's lease finding; idle rules of what it covers
        row = session.execute(
            select(Lease.room_id, Lease.building_id).where(Lease.id == key)
        ).first()
        if row is None:
            return None
        if row.room_id is not None:
            return target_for_change(session, "room", row.room_id, {}, {})
        return target_for_buildings(session, [row.building_id])
    if what == "floor":
        return target_for_floors(session, [key])
    if what == "building":
        return target_for_buildings(session, [key])
    if what == "agency":
        return target_for_agencies(session, [key], occupants="level" in after)
    return None


_SETTINGS = ("officemap.unrestricted", "officemap.regions", "officemap.agencies")


@contextmanager
def whole_register(session: Session) -> Iterator[None]:
    """The rules judge the whole register, whoever's write triggered them: the row-level
    security scope of the transaction is lifted while they run and restored after. (What the
    caller may *see* of the results is still filtered by ``backend.services.scope``.)"""
    saved = session.execute(
        text("SELECT " + ", ".join(f"current_setting('{k}', true)" for k in _SETTINGS))
    ).one()
    session.execute(text("SELECT set_config('officemap.unrestricted', 'on', true)"))
    try:
        yield
    finally:
        session.execute(
            text(
                "SELECT "
                + ", ".join(f"set_config('{k}', :v{i}, true)" for i, k in enumerate(_SETTINGS))
            ),
            {f"v{i}": v or "" for i, v in enumerate(saved)},
        )


def follow(
    session: Session,
    target: Target | None,
    *,
    actor: str = "system",
    as_of: dt.date | None = None,
) -> EvaluationResult | None:
    """Re-evaluate what a write touched, in the writer's transaction (live compliance).

    Does nothing when nothing is touched or when no standards version is in effect (then
    there are no findings to keep current). The write's own audit event stands for it.
    """
    if target is None or not any(
        (target.floors, target.agencies, target.persons, target.buildings)
    ):
        return None
    try:
        standards.resolve_version(session, as_of or timekeeping.today())
    except InvalidInput:
        return None
    with whole_register(session):
        return evaluate(session, target, as_of=as_of, actor=actor, audited=False)


def evaluate_rooms(
    session: Session,
    room_ids: Sequence[int],
    *,
    as_of: dt.date | None = None,
    version: str | None = None,
    actor: str = "system",
) -> EvaluationResult:
    """Re-evaluate what a change to these rooms (or their occupancy) touches."""
    floors = session.scalars(select(Room.floor_id).where(Room.id.in_(list(room_ids)))).all()
    return evaluate(
        session, target_for_floors(session, floors), as_of=as_of, version=version, actor=actor
    )


# ------------------------------------------------------------------ reading findings
def _visible(scope: Scope) -> ColumnElement[bool]:
    return scopes.findings(scope)


def finding_filters(
    scope: Scope,
    *,
    rule: str | None = None,
    region: int | None = None,
    agency: int | None = None,
    building: int | None = None,
    status: str | None = None,
) -> list[ColumnElement[bool]]:
    """WHERE clauses of a findings query: visible to ``scope`` and matching the filters."""
    where = [_visible(scope)]
    if rule is not None:
        if rule not in RULE_CODES and rule != "data_quality":
            raise InvalidInput(f"unknown rule {rule!r}", details={"rules": list(RULE_CODES)})
        where.append(
            ComplianceFinding.rule_code.startswith("data_quality.")
            if rule == "data_quality"
            else ComplianceFinding.rule_code == rule
        )
    if region is not None:
        where.append(ComplianceFinding.region_adcode.between(*adcode_range(region)))
    if agency is not None:
        where.append(ComplianceFinding.agency_id == agency)
    if building is not None:
        where.append(ComplianceFinding.building_id == building)
    if status is not None:
        if status not in FINDING_STATUSES:
            raise InvalidInput(f"unknown status {status!r}")
        where.append(ComplianceFinding.status == status)
    return where


def _num(v: Decimal | None) -> float | None:
    return None if v is None else float(v)


def finding_dict(f: ComplianceFinding) -> dict[str, Any]:
    """The public form of a finding."""
    zh, en = RULE_NAMES.get(f.rule_code) or MANUAL_RULE_NAMES.get(f.rule_code) or (f.rule_code,) * 2
    return {
        "id": f.id,
        "rule_code": f.rule_code,
        "rule_name_zh": zh,
        "rule_name_en": en,
        "object_type": f.object_type,
        "object_id": f.object_id,
        "room_id": f.room_id,
        "floor_id": f.floor_id,
        "building_id": f.building_id,
        "agency_id": f.agency_id,
        "region_adcode": f.region_adcode,
        "measured": _num(f.measured),
        "allowed": _num(f.allowed),
        "excess_m2": _num(f.excess_m2),
        "excess_pct": _num(f.excess_pct),
        "unit": (f.details or {}).get("unit"),
        "standard_version": f.standard_version,
        "evaluated_at": f.evaluated_at.isoformat(),
        "status": f.status,
        "details": f.details,
        "version": f.version,
    }


def finding_seen(session: Session, f: ComplianceFinding, *, scope: Scope) -> dict[str, Any]:
    """The public form of one finding as the caller may see it (``scope.Seen.redact``)."""
    return scopes.findings_as_seen(session, scope, [finding_dict(f)])[0]


def list_findings(
    session: Session,
    *,
    scope: Scope,
    page: Page,
    rule: str | None = None,
    region: int | None = None,
    agency: int | None = None,
    building: int | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """One page of findings the caller may see, largest excess first."""
    where = finding_filters(
        scope, rule=rule, region=region, agency=agency, building=building, status=status
    )
    matched = session.execute(
        select(func.count()).select_from(ComplianceFinding).where(*where)
    ).scalar_one()
    rows = session.scalars(
        select(ComplianceFinding)
        .where(*where)
        .order_by(
            ComplianceFinding.excess_m2.desc().nulls_last(),
            ComplianceFinding.id,
        )
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    return {
        "numberMatched": matched,
        "numberReturned": len(rows),
        "findings": scopes.findings_as_seen(session, scope, [finding_dict(f) for f in rows]),
    }


def get_finding(session: Session, finding_id: int, *, scope: Scope) -> ComplianceFinding:
    """One finding, if the caller may see it."""
    f = session.scalars(
        select(ComplianceFinding).where(ComplianceFinding.id == finding_id, _visible(scope))
    ).one_or_none()
    if f is None:
        raise NotFound(f"finding {finding_id} not found", details={"finding": finding_id})
    return f


def set_status(
    session: Session,
    finding_id: int,
    status: str,
    *,
    expected: int,
    scope: Scope,
    actor: str,
    note: str | None,
) -> ComplianceFinding:
    """Move a finding to open / rectifying / closed (an inspector's decision), audited.

    Optimistic: ``expected`` is the finding's version the decision was based on (its ETag);
    StaleVersion when a re-evaluation or another inspector changed it since.
    """
    if status not in FINDING_STATUSES:
        raise InvalidInput(f"unknown status {status!r}")
    f = get_finding(session, finding_id, scope=scope)
    if (
        status == "closed"
        and session.execute(
            text("SELECT 1 FROM rectifications WHERE finding_id = :f AND status <> 'closed'"),
            {"f": f.id},
        ).first()
    ):
        raise Conflict(
            f"finding {f.id} has an open rectification: an inspector closes it by verifying it",
            message_zh="该问题已列入整改台账，须由检查人员核验销号",
            details={"finding": f.id, "rectification": f"/api/v1/findings/{f.id}/rectification"},
        )
    before = {"status": f.status, "version": f.version}
    if f.version != expected:
        raise stale("finding", finding_id, f.version, expected)
    values: dict[str, Any] = {
        "status": status,
        "closed_at": dt.datetime.now(dt.UTC) if status == "closed" else None,
    }
    if note:
        values["details"] = {**(f.details or {}), "status_note": note}
    updated = session.execute(
        update(ComplianceFinding)
        .where(ComplianceFinding.id == finding_id, ComplianceFinding.version == expected)
        .values(**values)
        .returning(ComplianceFinding.version)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if updated is None:  # a concurrent change committed first
        session.expire(f)
        raise stale("finding", finding_id, f.version, expected)
    session.expire(f)
    audit.record(
        session,
        actor=actor,
        action="compliance.finding.status",
        object_type="compliance_finding",
        object_id=finding_id,
        before=before,
        after={"status": status, "note": note, "version": updated},
    )
    return get_finding(session, finding_id, scope=scope)


OTHERS_ZH = "其他"  # the group of agencies or buildings the caller may not see


def _group_key(level: str) -> tuple[ColumnElement[Any], Any]:
    """Grouping expression of a roll-up level, and how to name the groups."""
    adcode: ColumnElement[Any] = ComplianceFinding.region_adcode.expression
    if level == "province":
        return (adcode // 10000) * 10000, Region
    if level == "city":
        return (adcode // 100) * 100, Region
    if level == "county":
        return adcode, Region
    if level == "agency":
        return ComplianceFinding.agency_id.expression, Agency
    return ComplianceFinding.building_id.expression, Building


def _summary_level(session: Session, scope: Scope, region: int | None, level: str | None) -> str:
    """The level to group by (one below the region's by default); 404 for a hidden region."""
    if level is not None and level not in LEVELS:
        raise InvalidInput(f"unknown level {level!r}", details={"levels": list(LEVELS)})
    if region is not None and (
        session.execute(
            select(Region.adcode).where(Region.adcode == region, scopes.regions(scope))
        ).first()
        is None
    ):
        raise NotFound(f"region {region} not found", details={"region": region})
    if level is not None:
        return level
    if region is None or region % 10000 == 0:
        return "city"
    return "county" if region % 100 == 0 else "agency"


def _latest_full_evaluation(session: Session) -> ComplianceEvaluation | None:
    return session.execute(
        select(ComplianceEvaluation)
        .where(ComplianceEvaluation.kind == "full", ComplianceEvaluation.finished_at.is_not(None))
        .order_by(ComplianceEvaluation.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _rule_totals(
    session: Session, where: list[ColumnElement[bool]], not_configured: dict[str, str]
) -> list[dict[str, Any]]:
    """Per rule (every rule, also those without findings): counts by status and open excess."""
    live = ComplianceFinding.status != "closed"
    totals = session.execute(
        select(
            ComplianceFinding.rule_code,
            func.count().filter(ComplianceFinding.status == "open"),
            func.count().filter(ComplianceFinding.status == "rectifying"),
            func.count().filter(ComplianceFinding.status == "closed"),
            func.coalesce(func.sum(ComplianceFinding.excess_m2).filter(live), 0),
        )
        .where(*where)
        .group_by(ComplianceFinding.rule_code)
    ).all()
    by_rule = {r[0]: r for r in totals}
    rules = []
    for code in RULE_CODES:
        row = by_rule.get(code)
        zh, en = RULE_NAMES[code]
        rules.append(
            {
                "rule_code": code,
                "rule_name_zh": zh,
                "rule_name_en": en,
                "configured": code not in not_configured or "partly" in not_configured[code],
                "not_configured_reason": not_configured.get(code),
                "open": int(row[1]) if row else 0,
                "rectifying": int(row[2]) if row else 0,
                "closed": int(row[3]) if row else 0,
                "excess_m2": float(row[4] or 0) if row else 0.0,
            }
        )
    return rules


def _groups(
    session: Session, scope: Scope, where: list[ColumnElement[bool]], level: str, limit: int
) -> list[dict[str, Any]]:
    """Open findings per group of ``level``, most first, named when the caller may see it."""
    raw, named = _group_key(level)
    # an agency or building the caller may not see is not named: its findings (visible
    # through a room the caller does see) are counted under one group without a key
    shown = (
        scopes.shown_agency(scope, raw)
        if level == "agency"
        else scopes.shown_building(scope, raw)
        if level == "building"
        else raw
    )
    grouped = session.execute(
        select(
            shown.label("key"),
            ComplianceFinding.rule_code,
            func.count(),
            func.coalesce(func.sum(ComplianceFinding.excess_m2), 0),
        )
        .where(*where, ComplianceFinding.status != "closed", raw.is_not(None))
        .group_by(shown, ComplianceFinding.rule_code)
    ).all()
    groups: dict[int | None, dict[str, Any]] = {}
    for k, rule_code, n, excess in grouped:
        gk = None if k is None else int(k)
        g = groups.setdefault(gk, {"key": gk, "open_or_rectifying": 0, "by_rule": {}})
        g["open_or_rectifying"] += int(n)
        g["by_rule"][rule_code] = {"count": int(n), "excess_m2": round(float(excess), 2)}
    names = _names(session, named, [k for k in groups if k is not None])
    out = sorted(
        groups.values(),
        key=lambda g: (g["key"] is None, -g["open_or_rectifying"], g["key"] or 0),
    )[:limit]
    for g in out:
        g["name"] = OTHERS_ZH if g["key"] is None else names.get(g["key"])
    return out


def summary(
    session: Session,
    *,
    scope: Scope,
    region: int | None = None,
    level: str | None = None,
    limit: int = 500,
) -> dict[str, Any]:
    """Totals per rule for a region subtree, and per rule for each group of one level."""
    level = _summary_level(session, scope, region, level)
    where = finding_filters(scope, region=region)
    latest = _latest_full_evaluation(session)
    not_configured = (latest.not_configured or {}) if latest else {}
    return {
        "region": region,
        "level": level,
        "standard_version": latest.standard_version if latest else None,
        "evaluated_at": latest.finished_at.isoformat() if latest and latest.finished_at else None,
        "as_of": latest.as_of.isoformat() if latest else None,
        "rules": _rule_totals(session, where, not_configured),
        "groups": _groups(session, scope, where, level, limit),
    }


def _names(session: Session, model: Any, keys: list[int]) -> dict[int, str]:
    if not keys:
        return {}
    pk = model.adcode if model is Region else model.id
    return {int(k): str(n) for k, n in session.execute(select(pk, model.name).where(pk.in_(keys)))}


# ------------------------------------------------------------------ demo
def seed_demo(session: Session, *, as_of: dt.date | None = None) -> dict[str, int]:
    """Leases/loans and approved uses for the demo province (idempotent: only when none exist).

    Deterministic picks among vacant office rooms: some rented out or lent without approval,
    some lent with approval, some kept in an approved use; one idle building lent unapproved.
    """
    as_of = as_of or timekeeping.today()
    sql = statements()
    if session.execute(text(sql["demo_has_uses"])).scalar_one():
        return {"leases": 0, "approved_uses": 0}
    leases = session.execute(text(sql["demo_leases"]), {"as_of": as_of}).rowcount  # type: ignore[attr-defined]
    uses = session.execute(text(sql["demo_approved_uses"]), {"as_of": as_of}).rowcount  # type: ignore[attr-defined]
    audit.record(
        session,
        actor="system",
        action="compliance.demo_uses",
        object_type="lease",
        object_id=None,
        after={"leases": leases, "approved_uses": uses},
    )
    return {"leases": leases, "approved_uses": uses}
