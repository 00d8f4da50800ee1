"""What-if: evaluate the register under another standard into a named scenario.

The rules of ``backend/compliance/sql/compliance.sql`` run unchanged (``compliance.fill_candidates``)
inside a savepoint: a draft becomes a temporary standards version there, the candidates are
read, and the savepoint is rolled back — live findings, their status and the standards
tables are never written. The scenario keeps its own findings (``whatif_findings``) within
the creator's scope; comparisons with the live findings are made when read, within the
reader's scope as well.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from sqlalchemy import ColumnElement, Subquery, and_, delete, func, insert, select, text
from sqlalchemy.orm import Session

from backend import timekeeping
from backend.accounts.access import Principal
from backend.audit import service as audit
from backend.compliance import service as compliance
from backend.compliance import standards
from backend.db.compliance import (
    ComplianceFinding,
    StandardOfficeAllowance,
    StandardSetting,
)
from backend.db.models import Agency, Building, Floor, Occupancy, Region, Room
from backend.exports import workbook
from backend.live.models import WhatIfFinding, WhatIfScenario
from backend.live.schemas import (
    LEVEL_NAMES,
    Comparison,
    GroupComparison,
    Level,
    ScenarioCreate,
    ScenarioPublic,
    StandardsDraft,
)
from backend.services import scope as scopes
from backend.services.errors import InvalidInput, NotFound
from backend.services.scope import Scope

IDLE_RULES = ("idle_room", "idle_floor")
OVER_RULE = "office_over_standard"
COLUMNS = (
    "rule_code",
    "object_type",
    "object_id",
    "room_id",
    "floor_id",
    "building_id",
    "agency_id",
    "region_adcode",
    "measured",
    "allowed",
    "excess_m2",
    "excess_pct",
    "details",
)


# ------------------------------------------------------------------ running a scenario
def _scope_json(scope: Scope) -> dict[str, Any]:
    return {
        "unrestricted": scope.unrestricted,
        "regions": sorted(scope.regions),
        "agencies": sorted(scope.agencies),
    }


def _scope_of(doc: dict[str, Any] | None) -> Scope:
    doc = doc or {}
    return Scope(
        unrestricted=bool(doc.get("unrestricted")),
        regions=frozenset(doc.get("regions") or ()),
        agencies=frozenset(doc.get("agencies") or ()),
    )


def _visible(scope: Scope, region: int | None, agency: int | None) -> bool:
    return (
        scope.unrestricted
        or (region is not None and scope.allows_region(region))
        or (agency is not None and agency in scope.agencies)
    )


def _check_draft(session: Session, draft: StandardsDraft) -> None:
    seen: set[tuple[str, str]] = set()
    for k, row in enumerate(draft.allowances):
        key = (row.agency_level, row.rank_code)
        if key in seen:
            raise InvalidInput(
                f"draft allowance {key} given twice",
                message_zh="草案中同一职级重复",
                details={"field": f"draft.allowances.{k}"},
            )
        seen.add(key)
        standards.check_rank(
            session, row.agency_level, row.rank_code, field=f"draft.allowances.{k}.rank_code"
        )


def _shadow_allowances(session: Session, base: str, draft: StandardsDraft) -> None:
    """The draft's allowance table as a temporary table of the same name, shadowing the
    loaded one for this transaction's rule statements (pg_temp comes first in the search
    path): base version's rows with the draft's rows over them. The standards tables are
    never written; the savepoint's rollback drops it."""
    session.execute(
        text(
            "CREATE TEMP TABLE standard_office_allowances ON COMMIT DROP AS "
            "SELECT * FROM public.standard_office_allowances WHERE version = :base"
        ),
        {"base": base},
    )
    for row in draft.allowances:
        params = {"base": base, "level": row.agency_level, "rank": row.rank_code}
        session.execute(
            text(
                "DELETE FROM pg_temp.standard_office_allowances "
                "WHERE agency_level = :level AND rank_code = :rank"
            ),
            params,
        )
        if row.max_usable_m2 is not None:
            session.execute(
                text(
                    "INSERT INTO pg_temp.standard_office_allowances "
                    "(version, agency_level, rank_code, max_usable_m2, origin) "
                    "VALUES (:base, :level, :rank, :m2, 'what-if draft')"
                ),
                params | {"m2": row.max_usable_m2},
            )


def _candidates(
    session: Session, data: ScenarioCreate, base: str, as_of: dt.date, actor: str
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The scenario's findings, computed in a savepoint that is always rolled back."""
    savepoint = session.begin_nested()
    try:
        version = base
        threshold = standards.setting(session, version, standards.IDLE_THRESHOLD)
        coefficient = standards.setting(session, version, standards.USABLE_COEFFICIENT_MIN)
        if data.draft is not None:
            threshold = data.draft.settings.get("idle_threshold_days", threshold)
            coefficient = data.draft.settings.get("usable_area_coefficient_min", coefficient)
            _shadow_allowances(session, base, data.draft)
        if data.idle_threshold_days is not None:
            threshold = Decimal(data.idle_threshold_days)
        params = {
            **compliance.Target().params(),
            "as_of": as_of,
            "version": version,
            "threshold": None if threshold is None else int(threshold),
            "coefficient_min": coefficient,
        }
        with compliance.whole_register(session):
            not_configured = compliance.fill_candidates(session, params, threshold, coefficient)
        rows = [
            dict(r)
            for r in session.execute(text(f"SELECT {', '.join(COLUMNS)} FROM cf_new")).mappings()  # noqa: S608 - constant column list
        ]
    finally:
        savepoint.rollback()
    return rows, not_configured


def create_scenario(session: Session, data: ScenarioCreate, *, principal: Principal) -> int:
    """Evaluate a scenario (within the creator's scope) and store its findings."""
    as_of = data.as_of or timekeeping.today()
    base = standards.resolve_version(session, as_of, data.version)
    if data.draft is not None:
        _check_draft(session, data.draft)
    rows, not_configured = _candidates(session, data, base, as_of, principal.username)
    scope = principal.scope
    rows = [r for r in rows if _visible(scope, r["region_adcode"], r["agency_id"])]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["rule_code"]] = counts.get(r["rule_code"], 0) + 1
    scenario = WhatIfScenario(
        name=data.name,
        as_of=as_of,
        base_version=base,
        draft=None if data.draft is None else data.draft.model_dump(mode="json"),
        idle_threshold_days=data.idle_threshold_days,
        not_configured=not_configured,
        counts=counts,
        created_by=principal.username,
        scope=_scope_json(scope),
    )
    session.add(scenario)
    session.flush()
    if rows:
        session.execute(insert(WhatIfFinding), [r | {"scenario_id": scenario.id} for r in rows])
        # the finer rule of what a caller may see of a finding (one home: scope.findings)
        session.execute(
            delete(WhatIfFinding).where(
                WhatIfFinding.scenario_id == scenario.id,
                ~scopes.findings(scope, WhatIfFinding.__table__),
            )
        )
        counts = {
            str(rule): int(n)
            for rule, n in session.execute(
                select(WhatIfFinding.rule_code, func.count())
                .where(WhatIfFinding.scenario_id == scenario.id)
                .group_by(WhatIfFinding.rule_code)
            )
        }
        scenario.counts = counts
    audit.record(
        session,
        actor=principal.username,
        action="whatif.create",
        object_type="whatif_scenario",
        object_id=scenario.id,
        after={
            "name": data.name,
            "as_of": as_of.isoformat(),
            "base_version": base,
            "draft": scenario.draft,
            "idle_threshold_days": data.idle_threshold_days,
            "counts": counts,
        },
    )
    return scenario.id


# ------------------------------------------------------------------ reading
def _public(s: WhatIfScenario) -> ScenarioPublic:
    return ScenarioPublic(
        id=s.id,
        name=s.name,
        as_of=s.as_of,
        base_version=s.base_version,
        draft=s.draft,
        idle_threshold_days=s.idle_threshold_days,
        not_configured=s.not_configured,
        counts=s.counts,
        created_by=s.created_by,
        created_at=s.created_at,
    )


def list_scenarios(
    session: Session, *, scope: Scope, limit: int = 100, offset: int = 0
) -> list[ScenarioPublic]:
    """Scenarios whose scope the caller's covers (their counts were computed within it),
    newest first."""
    rows = session.scalars(select(WhatIfScenario).order_by(WhatIfScenario.id.desc()))
    seen = [s for s in rows if scope.covers(_scope_of(s.scope))]
    return [_public(s) for s in seen[offset : offset + limit]]


def get_scenario(session: Session, scenario_id: int, *, scope: Scope) -> WhatIfScenario:
    """A scenario the caller's scope covers; NotFound otherwise, like a missing one."""
    s = session.get(WhatIfScenario, scenario_id)
    if s is None or not scope.covers(_scope_of(s.scope)):
        raise NotFound(
            f"scenario {scenario_id} not found",
            message_zh="情景不存在",
            details={"scenario": scenario_id},
        )
    return s


def _key(level: Level, region: Any, agency: Any) -> ColumnElement[Any]:
    if level == "province":
        return (region // 10000) * 10000  # type: ignore[no-any-return]
    if level == "city":
        return (region // 100) * 100  # type: ignore[no-any-return]
    if level == "county":
        return region  # type: ignore[no-any-return]
    return agency  # type: ignore[no-any-return]


def compare(
    session: Session, scenario_id: int, *, scope: Scope, level: Level = "city"
) -> Comparison:
    """Per region (or agency): findings gained and lost, over-standard and idle area, the
    scenario against the live findings — within the reader's and the scenario's scope."""
    s = get_scenario(session, scenario_id, scope=scope)
    live, what = _live_and_scenario(s, scope)
    # a full join on the finding's identity: one side missing = gained or lost
    joined = live.join(
        what,
        and_(
            live.c.rule_code == what.c.rule_code,
            live.c.object_type == what.c.object_type,
            live.c.object_id == what.c.object_id,
        ),
        full=True,
    )
    region = func.coalesce(what.c.region_adcode, live.c.region_adcode)
    agency = func.coalesce(what.c.agency_id, live.c.agency_id)
    rule = func.coalesce(what.c.rule_code, live.c.rule_code)
    measures = _measures(live, what)
    key = _key(level, region, agency).label("key")
    grouped = session.execute(
        select(key, *measures).select_from(joined).group_by(key).order_by(key)
    ).all()
    total = session.execute(select(*measures).select_from(joined)).one()
    by_rule = {
        str(r): {"live": int(n_live), "scenario": int(n_s), "gained": int(g), "lost": int(lo)}
        for r, n_live, n_s, g, lo in session.execute(
            select(rule, *measures[:4]).select_from(joined).group_by(rule).order_by(rule)
        )
    }
    model = Agency if level == "agency" else Region
    names = compliance._names(session, model, [int(r[0]) for r in grouped if r[0] is not None])
    return Comparison(
        scenario=_public(s),
        level=level,
        total=_group_comparison(None, total, names),
        by_rule=by_rule,
        groups=[
            _group_comparison(None if r[0] is None else int(r[0]), r[1:], names) for r in grouped
        ],
    )


def _live_and_scenario(s: WhatIfScenario, scope: Scope) -> tuple[Subquery, Subquery]:
    """The open live findings and the scenario's findings the reader may see; the live side
    is also cut to the scenario's own scope so that both sides cover the same ground."""
    cf, wf = ComplianceFinding, WhatIfFinding
    live = (
        select(
            cf.rule_code, cf.object_type, cf.object_id, cf.region_adcode, cf.agency_id, cf.excess_m2
        )
        .where(
            cf.status != "closed",
            scopes.findings(scope),
            scopes.findings(_scope_of(s.scope)),
        )
        .subquery("l")
    )
    what = (
        select(
            wf.rule_code, wf.object_type, wf.object_id, wf.region_adcode, wf.agency_id, wf.excess_m2
        )
        .where(wf.scenario_id == s.id, scopes.findings(scope, WhatIfFinding.__table__))
        .subquery("s")
    )
    return live, what


def _measures(live: Subquery, what: Subquery) -> tuple[Any, ...]:
    """Counts (live, scenario, gained, lost) then m² (over-standard and idle, each side)."""

    def m2(col: Any, rules: tuple[str, ...], side: Subquery) -> Any:
        return func.coalesce(func.sum(col).filter(side.c.rule_code.in_(rules)), 0)

    return (
        func.count(live.c.object_id),
        func.count(what.c.object_id),
        func.count().filter(live.c.object_id.is_(None)),
        func.count().filter(what.c.object_id.is_(None)),
        m2(live.c.excess_m2, (OVER_RULE,), live),
        m2(what.c.excess_m2, (OVER_RULE,), what),
        m2(live.c.excess_m2, IDLE_RULES, live),
        m2(what.c.excess_m2, IDLE_RULES, what),
    )


def _group_comparison(k: int | None, row: Any, names: dict[int, str]) -> GroupComparison:
    return GroupComparison(
        key=k,
        name=None if k is None else names.get(k),
        live_findings=int(row[0]),
        scenario_findings=int(row[1]),
        gained=int(row[2]),
        lost=int(row[3]),
        over_standard_m2_live=round(float(row[4]), 2),
        over_standard_m2_scenario=round(float(row[5]), 2),
        idle_m2_live=round(float(row[6]), 2),
        idle_m2_scenario=round(float(row[7]), 2),
    )


# ------------------------------------------------------------------ Excel
GROUP_HEADERS = [
    "区划/单位代码",
    "名称",
    "现行问题数",
    "情景问题数",
    "新增",
    "消除",
    "现行超标面积(m²)",
    "情景超标面积(m²)",
    "现行闲置面积(m²)",
    "情景闲置面积(m²)",
]


def export_xlsx(
    session: Session, scenario_id: int, *, scope: Scope, level: Level = "city"
) -> bytes:
    """The comparison as a workbook: the scenario's settings, per group, per rule."""
    c = compare(session, scenario_id, scope=scope, level=level)
    wb = Workbook(write_only=True)
    about = wb.create_sheet("情景")
    s = c.scenario
    for label, value in (
        ("情景名称", s.name),
        ("评估日期", s.as_of.isoformat()),
        ("标准版本", s.base_version),
        ("闲置天数阈值", s.idle_threshold_days),
        ("标准草案", None if s.draft is None else str(s.draft)),
        ("创建人", s.created_by),
    ):
        workbook.append(about, [label, value])
    groups = wb.create_sheet(f"按{LEVEL_NAMES[level][0]}对比")
    workbook.header(groups, GROUP_HEADERS)
    for g in [*c.groups, c.total]:
        workbook.append(
            groups,
            [
                g.key,
                g.name if g.key is not None else "合计",
                g.live_findings,
                g.scenario_findings,
                g.gained,
                g.lost,
                g.over_standard_m2_live,
                g.over_standard_m2_scenario,
                g.idle_m2_live,
                g.idle_m2_scenario,
            ],
        )
    rules = wb.create_sheet("按规则对比")
    workbook.header(rules, ["规则", "规则代码", "现行", "情景", "新增", "消除"])
    for code, n in c.by_rule.items():
        zh = compliance.RULE_NAMES.get(code, (code, code))[0]
        workbook.append(rules, [zh, code, n["live"], n["scenario"], n["gained"], n["lost"]])
    return workbook.to_bytes(wb)


__all__ = ["compare", "create_scenario", "export_xlsx", "get_scenario", "list_scenarios"]


# ------------------------------------------------------------------ an object's history
HISTORY_KINDS = ("agency", "building", "floor", "room", "occupancy")


def object_history(
    session: Session, kind: str, object_id: int, *, scope: Scope, limit: int = 50
) -> list[dict[str, Any]]:
    """The audited changes of one object the caller may see (newest first); a room's
    history includes its occupancies'. Out of scope answers NotFound, like a missing one."""
    if kind not in HISTORY_KINDS:
        raise InvalidInput(f"unknown kind {kind!r}", details={"kinds": list(HISTORY_KINDS)})
    visible = audit.list_events(
        session, scope=scope, object_type=kind, object_id=str(object_id), limit=limit
    )
    if not visible and not exists_in_scope(session, kind, object_id, scope):
        raise NotFound(f"{kind} {object_id} not found", message_zh="对象不存在")
    items = visible
    if kind == "room":
        occupancies = session.scalars(
            select(Occupancy.id).where(Occupancy.room_id == object_id)
        ).all()
        for oid in occupancies:
            items += audit.list_events(
                session, scope=scope, object_type="occupancy", object_id=str(oid), limit=limit
            )
        items.sort(key=lambda e: -int(e["id"]))
    return [
        {
            k: e.get(k)
            for k in (
                "id",
                "occurred_at",
                "actor",
                "action",
                "object_type",
                "object_id",
                "before",
                "after",
            )
        }
        for e in items[:limit]
    ]


def exists_in_scope(session: Session, kind: str, object_id: int, scope: Scope) -> bool:
    """The object exists and the caller may see it (``backend.services.scope``)."""
    model: Any
    model, visible = {
        "agency": (Agency, scopes.agencies(scope)),
        "building": (Building, scopes.buildings(scope)),
        "floor": (Floor, scopes.floors(scope)),
        "room": (Room, scopes.rooms(scope)),
        "occupancy": (Occupancy, scopes.occupancies(scope)),
    }[kind]
    stmt = select(model.id).where(model.id == object_id, visible)
    return session.execute(stmt).first() is not None


# ------------------------------------------------------------------ a version's tables (drafts start here)
def version_tables(session: Session, version: str) -> dict[str, Any]:
    """The allowances and settings of a loaded version: what a draft is edited from."""
    version = standards.resolve_version(session, timekeeping.today(), version)
    allowances = [
        {
            "agency_level": a.agency_level,
            "rank_code": a.rank_code,
            "max_usable_m2": float(a.max_usable_m2),
            "origin": a.origin,
        }
        for a in session.scalars(
            select(StandardOfficeAllowance)
            .where(StandardOfficeAllowance.version == version)
            .order_by(StandardOfficeAllowance.agency_level, StandardOfficeAllowance.rank_code)
        )
    ]
    settings = {
        s.key: None if s.value is None else float(s.value)
        for s in session.scalars(select(StandardSetting).where(StandardSetting.version == version))
    }
    return {"version": version, "allowances": allowances, "settings": settings}
