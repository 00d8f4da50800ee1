"""Writing the ledger template: the empty form, the register's ledger sheets, the owed list.

Text from the register is written as text cells (``data_type = "s"``), so a value such as
``=1+1`` stays the same text and is never a live formula, and reads back unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.orm import Session

from backend.db.models import Agency, AgencyStaffing, Building
from backend.exports import workbook
from backend.services import scope as visibility
from backend.services.scope import Scope
from backend.stocktake import codes, regions
from backend.stocktake.models import BuildingAgency, BuildingLedger, LedgerOccupant, LedgerRoom
from backend.stocktake.schemas import CompletenessRow
from backend.stocktake.template import COLUMNS, KINDS, SHEET_TITLES, Column

TITLES = {
    "agencies": "党政机关办公用房清查登记表（单位）",
    "buildings": "党政机关办公用房清查登记表（房屋）",
    "rooms": "党政机关办公用房清查登记表（房间）",
    "occupants": "党政机关办公用房清查登记表（使用人）",
}


def _header_rows(kind: str) -> tuple[list[str], list[str]]:
    """Top and sub header rows (sub empty where a column has no group)."""
    top: list[str] = []
    sub: list[str] = []
    last_group: str | None = None
    for c in COLUMNS[kind]:
        if c.group:
            top.append(c.group if c.group != last_group else "")
            sub.append(c.header)
        else:
            top.append(c.header)
            sub.append("")
        last_group = c.group
    return top, sub


def _two_rows(kind: str) -> bool:
    return any(c.group for c in COLUMNS[kind])


def _write_head(ws: WriteOnlyWorksheet, kind: str) -> None:
    ws.append([workbook.cell(ws, TITLES[kind], bold=True)])
    ws.append(
        [workbook.cell(ws, "填报单位（盖章）："), None, workbook.cell(ws, "填报日期："), None]
    )
    top, sub = _header_rows(kind)
    ws.append([workbook.cell(ws, v or None, bold=True) for v in top])
    if _two_rows(kind):
        ws.append([workbook.cell(ws, v or None, bold=True) for v in sub])


def template_xlsx() -> bytes:
    """The empty template: title, fill-in block, merged two-row headers, signature footer."""
    wb = Workbook()
    wb.remove(wb.active)
    for kind in KINDS:
        ws = wb.create_sheet(SHEET_TITLES[kind])
        cols = COLUMNS[kind]
        ws.append([TITLES[kind]])
        ws.merge_cells(start_row=1, end_row=1, start_column=1, end_column=len(cols))
        ws["A1"].font = Font(bold=True, size=14)
        ws["A1"].alignment = Alignment(horizontal="center")
        ws.append(["填报单位（盖章）：", None, "填报日期：", None])
        top, sub = _header_rows(kind)
        ws.append(top)
        if _two_rows(kind):
            ws.append(sub)
            for i, c in enumerate(cols, start=1):
                if not c.group:
                    ws.merge_cells(start_row=3, end_row=4, start_column=i, end_column=i)
            groups: dict[str, list[int]] = defaultdict(list)
            for i, c in enumerate(cols, start=1):
                if c.group:
                    groups[c.group].append(i)
            for idx in groups.values():
                ws.merge_cells(start_row=3, end_row=3, start_column=idx[0], end_column=idx[-1])
        for row in ws.iter_rows(min_row=3, max_row=4 if _two_rows(kind) else 3):
            for cell in row:
                cell.font = workbook.BOLD
        ws.append([])
        ws.append(["填表人：", None, "审核人：", None, "单位负责人（签字）："])
    return workbook.to_bytes(wb)


# ---------------------------------------------------------------- register export
def _num(v: Any) -> Any:
    if v is None:
        return None
    f = float(v)
    return int(f) if f.is_integer() else f


def _filters(
    region: int | None, agency: int | None, building: int | None
) -> dict[str, ColumnElement[bool]]:
    def rng(col: Any) -> ColumnElement[bool]:
        return regions.within(col, region) if region is not None else true()

    return {
        "agencies": and_(
            rng(Agency.region_adcode), Agency.id == agency if agency is not None else true()
        ),
        "buildings": and_(
            rng(Building.region_adcode),
            Building.agency_id == agency if agency is not None else true(),
            Building.id == building if building is not None else true(),
        ),
        "rooms": and_(
            rng(LedgerRoom.region_adcode),
            LedgerRoom.agency_id == agency if agency is not None else true(),
            LedgerRoom.building_id == building if building is not None else true(),
        ),
        "occupants": and_(
            rng(LedgerOccupant.region_adcode),
            LedgerOccupant.agency_id == agency if agency is not None else true(),
        ),
    }


def ledger_room_scope(scope: Scope) -> ColumnElement[bool]:
    """Declared rooms: like surveyed rooms, by their building's region or their agency."""
    return visibility.rooms(scope, region=LedgerRoom.region_adcode, agency=LedgerRoom.agency_id)


def ledger_occupant_scope(scope: Scope) -> ColumnElement[bool]:
    """Declared occupants: by their room's region or their agency."""
    return visibility.rooms(
        scope, region=LedgerOccupant.region_adcode, agency=LedgerOccupant.agency_id
    )


@dataclass(frozen=True)
class _Export:
    """What every ledger sheet needs: the caller's view of the register and the filters."""

    session: Session
    scope: Scope
    filters: dict[str, ColumnElement[bool]]
    code_of: dict[int, str | None]  # agency id → credit code (references are written as codes)
    levels: dict[int, str]  # agency id → level (a rank's name depends on it)

    def sheet(self, wb: Workbook, kind: str) -> WriteOnlyWorksheet:
        ws = wb.create_sheet(SHEET_TITLES[kind])
        _write_head(ws, kind)
        return ws


def write_ledger_sheets(
    wb: Workbook,
    session: Session,
    *,
    scope: Scope,
    region: int | None = None,
    agency: int | None = None,
    building: int | None = None,
) -> None:
    """The four ledger sheets of the register, in the template's layout (import reads them)."""
    visible = session.execute(
        select(Agency.id, Agency.credit_code, Agency.level).where(visibility.agencies(scope))
    ).all()
    ex = _Export(
        session,
        scope,
        _filters(region, agency, building),
        {a: c for a, c, _ in visible},
        {a: lv for a, _, lv in visible},
    )
    _write_agencies(wb, ex)
    _write_buildings(wb, ex)
    _write_rooms(wb, ex)
    _write_occupants(wb, ex, building)


def _write_agencies(wb: Workbook, ex: _Export) -> None:
    ws = ex.sheet(wb, "agencies")
    staffing: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
    for a, rank, q, h in ex.session.execute(
        select(
            AgencyStaffing.agency_id,
            AgencyStaffing.rank_code,
            AgencyStaffing.quota,
            AgencyStaffing.headcount,
        ).where(AgencyStaffing.agency_id.in_(visibility.agency_ids(ex.scope)))
    ):
        staffing[a][rank] = (q, h)
    for ag in ex.session.scalars(
        select(Agency)
        .where(visibility.agencies(ex.scope), ex.filters["agencies"])
        .order_by(Agency.id)
    ):
        row = _agency_row(ag, staffing.get(ag.id, {}), ex.code_of)
        ws.append([workbook.cell(ws, v) for v in row])


def _write_buildings(wb: Workbook, ex: _Export) -> None:
    ws = ex.sheet(wb, "buildings")
    # only the using agencies the caller can see: an import of this file leaves the others
    users: dict[int, list[str]] = defaultdict(list)
    for b, a in ex.session.execute(
        select(BuildingAgency.building_id, BuildingAgency.agency_id).where(
            BuildingAgency.agency_id.in_(visibility.agency_ids(ex.scope))
        )
    ):
        user_code = ex.code_of.get(a)
        if user_code:
            users[b].append(user_code)
    stmt = (
        select(
            Building,
            func.ST_X(BuildingLedger.location),
            func.ST_Y(BuildingLedger.location),
            BuildingLedger.title_area_m2,
            BuildingLedger.use,
            BuildingLedger.issued_on,
        )
        .outerjoin(BuildingLedger, BuildingLedger.building_id == Building.id)
        .where(visibility.buildings(ex.scope), ex.filters["buildings"])
        .order_by(Building.id)
    )
    for b, lon, lat, title_area, use, issued in ex.session.execute(stmt):
        values = {
            "building_id": b.id,
            "name": b.name,
            "address": b.address,
            "region": b.region_adcode,
            "agency": ex.code_of.get(b.agency_id) if b.agency_id else None,
            "users": "、".join(sorted(users.get(b.id, []))) or None,
            "lon": lon,
            "lat": lat,
            "certificate_no": b.building_certificate_no,
            "title_area": _num(title_area),
            "registered_owner": b.registered_owner,
            "ownership": codes.OWNERSHIP_NAMES.get(b.ownership),
            "use": use,
            "issued_on": issued,
            "year_built": b.year_built,
            "storeys_above": b.storeys_above,
            "storeys_below": b.storeys_below,
        }
        ws.append([workbook.cell(ws, values.get(c.field)) for c in COLUMNS["buildings"]])


def _write_rooms(wb: Workbook, ex: _Export) -> None:
    ws = ex.sheet(wb, "rooms")
    for r in ex.session.scalars(
        select(LedgerRoom)
        .where(ledger_room_scope(ex.scope), ex.filters["rooms"])
        .order_by(LedgerRoom.building_id, LedgerRoom.level, LedgerRoom.number)
    ):
        values = {
            "building_id": r.building_id,
            "level": r.level,
            "number": r.number,
            "category": codes.category_label(r.category, r.subcategory),
            "recorded_area": _num(r.recorded_area_m2),
            "agency": ex.code_of.get(r.agency_id) if r.agency_id else None,
        }
        ws.append([workbook.cell(ws, values.get(c.field)) for c in COLUMNS["rooms"]])


def _write_occupants(wb: Workbook, ex: _Export, building: int | None) -> None:
    ws = ex.sheet(wb, "occupants")
    stmt = (
        select(LedgerOccupant, LedgerRoom)
        .join(LedgerRoom, LedgerRoom.id == LedgerOccupant.ledger_room_id)
        .where(ledger_occupant_scope(ex.scope), ex.filters["occupants"])
        .order_by(LedgerOccupant.id)
    )
    if building is not None:  # occupants carry no building: filter through their room
        stmt = stmt.where(LedgerRoom.building_id == building)
    for o, r in ex.session.execute(stmt):
        values = {
            "person_id": o.person_id,
            "person_name": o.person_name,
            "post_title": o.post_title,
            "rank": codes.rank_name(ex.levels.get(o.agency_id, ""), o.rank_code),
            "agency": ex.code_of.get(o.agency_id),
            "building_id": r.building_id,
            "level": r.level,
            "number": r.number,
            "start_date": o.start_date,
            "concurrent": "是" if o.is_concurrent_post else "否",
        }
        ws.append([workbook.cell(ws, values.get(c.field)) for c in COLUMNS["occupants"]])


def _agency_row(
    a: Agency, staffing: dict[str, tuple[int, int]], code_of: dict[int, str | None]
) -> list[Any]:
    values: dict[str, Any] = {
        "name": a.name,
        "credit_code": a.credit_code,
        "level": codes.LEVEL_NAMES.get(a.level, a.level),
        "region": a.region_adcode,
        "parent": code_of.get(a.parent_id) if a.parent_id else None,
        "approved_area": _num(a.approved_office_area_m2),
    }
    for rank, (q, h) in staffing.items():
        step = codes.ladder_step_for(a.level, rank)
        if step is not None:
            values[f"quota.{step}"] = q
            values[f"headcount.{step}"] = h
    return [values.get(c.field) for c in COLUMNS["agencies"]]


# ---------------------------------------------------------------- what is owed
OWED_HEADERS = [
    "行政区划代码",
    "单位名称",
    "统一社会信用代码",
    "填报状态",
    "房屋",
    "已定位房屋",
    "申报楼层",
    "有平面图楼层",
    "申报房间",
    "有图形房间",
    "账实相符房间",
    "使用人",
    "完成度",
    "尚欠事项",
]


def completeness_xlsx(rows: Sequence[CompletenessRow]) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("尚欠事项")
    ws.append([workbook.cell(ws, h, bold=True) for h in OWED_HEADERS])
    for r in rows:
        values: Iterable[Any] = (
            r.region_adcode,
            r.agency_name,
            r.credit_code,
            r.status_zh,
            r.buildings,
            r.buildings_located,
            r.floors_declared,
            r.floors_with_plans,
            r.rooms_declared,
            r.rooms_with_geometry,
            r.rooms_agreeing,
            r.occupants,
            r.score,
            "；".join(r.owes) or "无",
        )
        ws.append([workbook.cell(ws, v) for v in values])
    return workbook.to_bytes(wb)


__all__ = ["Column", "completeness_xlsx", "template_xlsx", "write_ledger_sheets"]
