"""Excel exports with Chinese headers: the register 登记造册 and the findings list.

Written with openpyxl in write-only mode (rows streamed, constant memory per row). Both
are filtered by the caller's scope and capped at ``MAX_ROWS``: larger exports must be
narrowed by region, agency or building.

User text is data: every text cell is written as a string cell (never a formula, whatever
it starts with), and text starting with a character a spreadsheet reads as the start of a
formula (``= + - @``, their full-width forms, tab, CR, LF) also carries the quote prefix,
so it stays text when someone edits the cell. CSV has no cell types: ``csv_field`` prefixes
such text with an apostrophe (OWASP "CSV injection").
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from openpyxl import Workbook
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Subquery,
    and_,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from backend import domain, reference, timekeeping
from backend.compliance import service as compliance
from backend.compliance import standards
from backend.db.compliance import ComplianceFinding, StandardOfficeAllowance
from backend.db.models import Agency, Building, Floor, Occupancy, Region, Room
from backend.exports import workbook
from backend.services import scope as scopes
from backend.services.errors import InvalidInput
from backend.services.scope import Scope, adcode_range
from backend.stocktake.workbook_export import write_ledger_sheets

MAX_ROWS = 200_000

REGISTER_HEADERS = [
    "单位",
    "单位级别",
    "行政区划代码",
    "办公楼",
    "楼层",
    "房间号",
    "用房类别",
    "用房子类",
    "使用面积(m²)",
    "使用人",
    "职级",
    "核定标准(m²)",
    "合规状态",
]
FINDING_HEADERS = [
    "编号",
    "规则",
    "规则代码",
    "对象类型",
    "对象",
    "单位",
    "办公楼",
    "楼层",
    "房间",
    "行政区划代码",
    "实测值",
    "标准值",
    "单位(计量)",
    "超出面积(m²)",
    "超出比例(%)",
    "标准版本",
    "评估时间",
    "状态",
]
AGENCY_LEVEL_ZH = domain.zh(domain.AGENCY_LEVEL_NAMES)
UNIT_ZH = {"m2": "m²", "days": "天", "offices": "处", "ratio": "比值"}


@lru_cache
def rank_names_zh() -> dict[str, str]:
    """Rank code → Chinese name."""
    return {code: rank.name_zh for (_level, code), rank in reference.ranks().items()}


def _ranks_zh(codes: str | None) -> str | None:
    if not codes:
        return None
    names = rank_names_zh()
    return "、".join(names.get(c, c) for c in codes.split("、"))


OTHER_AGENCY_ZH = "（其他单位）"  # allocated to an agency the caller may not see


def _register_filters(
    scope: Scope, region: int | None, agency: int | None, building: int | None
) -> list[ColumnElement[bool]]:
    """The rooms the register lists: in scope, on live floors, within the filters."""
    where = [scopes.rooms(scope), Floor.valid_to.is_(None)]
    if region is not None:
        where.append(Building.region_adcode.between(*adcode_range(region)))
    if agency is not None:
        where.append(Room.agency_id == agency)
    if building is not None:
        where.append(Room.building_id == building)
    return where


def _occupants_per_room(version: str, today: dt.date) -> Subquery:
    """Per room: today's occupants, their ranks and the sum of their office allowances
    (``configured`` < ``n`` when a rank has no allowance in the standard version)."""
    active = timekeeping.active_on(Occupancy.start_date, Occupancy.end_date, today)
    return (
        select(
            Occupancy.room_id,
            func.string_agg(
                func.coalesce(Occupancy.person_name, "—"),
                aggregate_order_by(literal("、"), Occupancy.id),
            ).label("names"),
            func.string_agg(
                Occupancy.rank_code, aggregate_order_by(literal("、"), Occupancy.id)
            ).label("ranks"),
            func.sum(StandardOfficeAllowance.max_usable_m2).label("allowance"),
            func.count(StandardOfficeAllowance.max_usable_m2).label("configured"),
            func.count().label("n"),
        )
        .join(Agency, Agency.id == Occupancy.agency_id)
        .outerjoin(
            StandardOfficeAllowance,
            and_(
                StandardOfficeAllowance.version == version,
                StandardOfficeAllowance.agency_level == Agency.level,
                StandardOfficeAllowance.rank_code == Occupancy.rank_code,
            ),
        )
        .where(active)
        .group_by(Occupancy.room_id)
        .subquery()
    )


def _open_rules_per_room(scope: Scope) -> Subquery:
    """Per room: the rule codes of its findings not closed (those the viewer may see)."""
    return (
        select(
            ComplianceFinding.room_id,
            func.string_agg(
                cast(ComplianceFinding.rule_code, String),
                aggregate_order_by(literal(","), ComplianceFinding.id),
            ).label("rules"),
        )
        .where(
            ComplianceFinding.status != "closed",
            ComplianceFinding.room_id.is_not(None),
            scopes.findings(scope),
        )
        .group_by(ComplianceFinding.room_id)
        .subquery()
    )


def _register_rows(
    where: list[ColumnElement[bool]], occupants: Subquery, status: Subquery, scope: Scope
) -> Select[Any]:
    return (
        select(
            case(
                (Room.agency_id.is_(None), "（未分配）"),
                else_=func.coalesce(Agency.name, OTHER_AGENCY_ZH),
            ),
            Agency.level,
            Building.region_adcode,
            Building.name,
            Floor.name,
            Room.number,
            Room.category,
            Room.subcategory,
            Room.usable_area_m2,
            occupants.c.names,
            occupants.c.ranks,
            occupants.c.allowance,
            occupants.c.configured,
            occupants.c.n,
            status.c.rules,
        )
        .join(Floor, Floor.id == Room.floor_id)
        .join(Building, Building.id == Room.building_id)
        # a visible room's agency is named only when the caller may see that agency
        .outerjoin(Agency, and_(Agency.id == Room.agency_id, scopes.agencies(scope)))
        .outerjoin(occupants, occupants.c.room_id == Room.id)
        .outerjoin(status, status.c.room_id == Room.id)
        .where(*where)
        .order_by(Agency.name, Building.name, Floor.level, Room.number, Room.id)
    )


def _register_cells(row: Any) -> list[Any]:
    """One register line: the room, its occupants, their allowance and its compliance."""
    (ag, level, adcode, bname, fname, number, cat, sub, area) = row[:9]
    names, ranks, allowance, configured, n, rules = row[9:]
    state = (
        "；".join(compliance.RULE_NAMES.get(r, (r, r))[0] for r in rules.split(","))
        if rules
        else "合规"
    )
    return [
        ag,
        AGENCY_LEVEL_ZH.get(level or "", level),
        adcode,
        bname,
        fname,
        number,
        reference.category_names_zh().get(cat or "", cat or "未分类"),
        sub,
        workbook.number(area),
        names,
        _ranks_zh(ranks),
        workbook.number(allowance) if n and configured == n else None,
        state,
    ]


def register_xlsx(
    session: Session,
    *,
    scope: Scope,
    region: int | None = None,
    agency: int | None = None,
    building: int | None = None,
) -> bytes:
    """登记造册: agency → building → floor → room, with occupants, allowance and status."""
    today = _as_of()
    version = standards.resolve_version(session, today)
    where = _register_filters(scope, region, agency, building)
    count = session.execute(
        select(func.count())
        .select_from(Room)
        .join(Floor, Floor.id == Room.floor_id)
        .join(Building, Building.id == Room.building_id)
        .where(*where)
    ).scalar_one()
    _check_size(count)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("登记造册")
    workbook.header(ws, REGISTER_HEADERS)
    stmt = _register_rows(
        where, _occupants_per_room(version, today), _open_rules_per_room(scope), scope
    )
    for row in session.execute(stmt.execution_options(yield_per=5000)):
        workbook.append(ws, _register_cells(row))
    # the ledger sheets in the import template's layout: export → import changes nothing
    write_ledger_sheets(wb, session, scope=scope, region=region, agency=agency, building=building)
    return workbook.to_bytes(wb)


def findings_xlsx(
    session: Session,
    *,
    scope: Scope,
    rule: str | None = None,
    region: int | None = None,
    agency: int | None = None,
    building: int | None = None,
    status: str | None = None,
) -> bytes:
    """The findings list (整改清单) with Chinese headers."""
    where = compliance.finding_filters(
        scope, rule=rule, region=region, agency=agency, building=building, status=status
    )
    count = session.execute(
        select(func.count()).select_from(ComplianceFinding).where(*where)
    ).scalar_one()
    _check_size(count)
    stmt = (
        select(ComplianceFinding, Agency.name, Building.name, Floor.name, Room.number, Region.name)
        # names only of what the caller may see (a person's finding seen through its main
        # agency may sit on an office the caller does not see)
        .outerjoin(Agency, and_(Agency.id == ComplianceFinding.agency_id, scopes.agencies(scope)))
        .outerjoin(
            Building,
            and_(Building.id == ComplianceFinding.building_id, scopes.buildings(scope)),
        )
        .outerjoin(Floor, and_(Floor.id == ComplianceFinding.floor_id, scopes.floors(scope)))
        .outerjoin(Room, and_(Room.id == ComplianceFinding.room_id, scopes.rooms(scope)))
        .outerjoin(Region, Region.adcode == ComplianceFinding.region_adcode)
        .where(*where)
        .order_by(ComplianceFinding.rule_code, ComplianceFinding.excess_m2.desc().nulls_last())
    )
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("问题清单")
    workbook.header(ws, FINDING_HEADERS)
    for f, ag, bname, fname, number, _rname in session.execute(stmt):
        unit = (f.details or {}).get("unit")
        workbook.append(
            ws,
            [
                f.id,
                compliance.RULE_NAMES.get(f.rule_code, (f.rule_code, ""))[0],
                f.rule_code,
                f.object_type,
                f.object_id,
                ag,
                bname,
                fname,
                number,
                f.region_adcode,
                workbook.number(f.measured),
                workbook.number(f.allowed),
                UNIT_ZH.get(unit or "", unit),
                workbook.number(f.excess_m2),
                workbook.number(f.excess_pct),
                f.standard_version,
                f.evaluated_at.astimezone().replace(tzinfo=None),
                compliance.STATUS_NAMES.get(f.status, f.status),
            ],
        )
    return workbook.to_bytes(wb)


def _check_size(count: int) -> None:
    if count > MAX_ROWS:
        raise InvalidInput(
            f"{count} rows exceed the export limit of {MAX_ROWS}; filter by region, agency or building",
            message_zh=f"导出行数 {count} 超过上限 {MAX_ROWS}，请按区划、单位或办公楼筛选",
            details={"rows": count, "limit": MAX_ROWS},
        )


def _as_of() -> Any:
    return timekeeping.today()
