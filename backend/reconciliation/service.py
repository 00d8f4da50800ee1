"""账账、账实、账证: the master register reconciled with the agencies' sub-ledgers, with the
buildings' geometry and with their title certificates. Each mismatch carries both figures
and the agency it belongs to; the list is exportable (Excel, formulas neutralised).

- 账账 (ledger): an agency's sub-ledger is where its people sit (its active occupancies);
  the master register allocates each room to an agency (``rooms.agency_id``). A room used by
  an agency's people but allocated to another (or to nobody) is a mismatch.
- 账实 (physical): what the stock-take recorded on site against the surveyed geometry —
  each declared room's 账面面积 (``ledger_rooms.recorded_area_m2``) against the usable area
  of the surveyed room of the same building, level and number (tolerance: the stock-take's,
  ``OFFICEMAP_LEDGER_AREA_TOLERANCE_*``); a declared room on a surveyed floor that the
  survey lacks; and the building's recorded 证载面积 (``building_ledger.title_area_m2``)
  against the sum of its current floors' building areas.
- 账证 (title): the current title's 证载面积 against the sum of the building's current floor
  building areas (tolerance: 1 % or 1 m², whichever is larger), the certificate number
  the register keeps against the certificate's, and the 证载面积 the stock-take recorded
  against the certificate's.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from openpyxl import Workbook
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from backend import timekeeping
from backend.db.models import Agency, Building, Floor, Occupancy, Room
from backend.exports import workbook
from backend.lifecycle.models import Title
from backend.reconciliation import schemas
from backend.services import scope as scopes
from backend.services.scope import Scope
from backend.settings import ledger_settings
from backend.stocktake.models import BuildingLedger, LedgerRoom

OTHER_AGENCY = "其他单位"  # an agency the caller may not see (its name is not shown)
REL_TOLERANCE = 0.01
ABS_TOLERANCE_M2 = 1.0


def _region(column: Any, region: int | None) -> Any:
    return True if region is None else column.between(*scopes.adcode_range(region))


def _ledger(session: Session, scope: Scope, region: int | None) -> list[schemas.Mismatch]:
    day = timekeeping.today()
    used_by = aliased(Agency)
    allocated_to = aliased(Agency)
    rows = session.execute(
        select(
            Occupancy.agency_id,
            used_by.name,
            Room.id,
            Room.number,
            Room.agency_id,
            allocated_to.name,
            Room.usable_area_m2,
            Building.id,
            Building.name,
            func.count(),
        )
        .join(Room, Room.id == Occupancy.room_id)
        .join(Floor, and_(Floor.id == Room.floor_id, Floor.valid_to.is_(None)))
        .join(Building, Building.id == Room.building_id)
        # agencies are named only when the caller may see them (a visible room can be used
        # by, or allocated to, an agency outside the caller's scope)
        .outerjoin(
            used_by,
            and_(
                used_by.id == Occupancy.agency_id,
                scopes.agencies(scope, region=used_by.region_adcode, id=used_by.id),
            ),
        )
        .outerjoin(
            allocated_to,
            and_(
                allocated_to.id == Room.agency_id,
                scopes.agencies(scope, region=allocated_to.region_adcode, id=allocated_to.id),
            ),
        )
        .where(
            timekeeping.active_on(Occupancy.start_date, Occupancy.end_date, day),
            Room.agency_id.is_distinct_from(Occupancy.agency_id),
            Building.status != "disposed",
            scopes.rooms(scope),
            _region(Room.region_adcode, region),
        )
        .group_by(Occupancy.agency_id, used_by.name, Room.id, allocated_to.name, Building.id)
        .order_by(Occupancy.agency_id, Room.id)
    ).all()
    out = []
    for agency, seen_name, room, number, owner, seen_owner, area, b_id, b_name, people in rows:
        name = seen_name or OTHER_AGENCY
        owner_name = seen_owner or (OTHER_AGENCY if owner is not None else None)
        register = owner_name or "未分配 (unallocated)"
        out.append(
            schemas.Mismatch(
                check="ledger",
                kind="room_used_not_allocated",
                agency_id=agency,
                agency_name=name,
                building_id=b_id,
                building_name=b_name,
                object_type="room",
                object_id=room,
                register_figure=f"分配给 {register}",
                other_figure=f"{name} {people} 人使用",
                register_m2=float(area),
                other_m2=float(area),
                difference_m2=None,
                description_zh=f"房间 {number or room} 由 {name} 使用，登记为 {register}",
                description_en=(
                    f"room {number or room} is used by {name} but the register allocates it "
                    f"to {owner_name or 'nobody'}"
                ),
            )
        )
    return out


def _floor_areas() -> Any:
    """Per building: the sum of its current floors' building areas (the surveyed figure)."""
    return (
        select(Floor.building_id, func.sum(Floor.building_area_m2).label("m2"))
        .where(Floor.valid_to.is_(None))
        .group_by(Floor.building_id)
        .subquery()
    )


def _beyond(a: float, b: float) -> bool:
    """Differ by more than the title tolerance (1 % of ``b`` or 1 m², the larger)."""
    return abs(a - b) > max(ABS_TOLERANCE_M2, REL_TOLERANCE * b)


def _physical_rooms(session: Session, scope: Scope, region: int | None) -> list[schemas.Mismatch]:
    """账实 per room: each declared room (账面) on a surveyed floor against the surveyed room
    of the same number — its area beyond the stock-take's tolerance, or missing."""
    s = ledger_settings()
    current = and_(
        Floor.building_id == LedgerRoom.building_id,
        Floor.level == LedgerRoom.level,
        Floor.valid_to.is_(None),
    )
    tolerance = func.greatest(
        LedgerRoom.recorded_area_m2 * s.area_tolerance_pct / 100, s.area_tolerance_m2
    )
    rows = session.execute(
        select(
            LedgerRoom.id,
            LedgerRoom.agency_id,
            Agency.name,
            LedgerRoom.building_id,
            Building.name,
            LedgerRoom.level,
            LedgerRoom.number,
            LedgerRoom.recorded_area_m2,
            Room.id,
            Room.usable_area_m2,
        )
        .join(Building, Building.id == LedgerRoom.building_id)
        .join(Floor, current)
        .outerjoin(Room, and_(Room.floor_id == Floor.id, Room.number == LedgerRoom.number))
        .outerjoin(Agency, and_(Agency.id == LedgerRoom.agency_id, scopes.agencies(scope)))
        .where(
            Building.status != "disposed",
            scopes.rooms(scope, region=LedgerRoom.region_adcode, agency=LedgerRoom.agency_id),
            _region(LedgerRoom.region_adcode, region),
            Room.id.is_(None)
            | (func.abs(Room.usable_area_m2 - LedgerRoom.recorded_area_m2) > tolerance),
        )
        .order_by(LedgerRoom.agency_id, LedgerRoom.building_id, LedgerRoom.level, LedgerRoom.id)
    ).all()
    return [_room_mismatch(row) for row in rows]


def _room_mismatch(row: Any) -> schemas.Mismatch:
    """One declared room against the survey: missing from the floor, or another area."""
    lid, agency, a_name, b_id, b_name, level, number, recorded, room, area = row
    common = {
        "check": "physical",
        "agency_id": agency,
        "agency_name": a_name,
        "building_id": b_id,
        "building_name": b_name,
        "object_type": "ledger_room",
        "object_id": lid,
        "other_m2": float(recorded),
    }
    where_zh = f"{level} 层 {number} 室"
    if room is None:
        return schemas.Mismatch(
            **common,
            kind="room_not_surveyed",
            register_figure="测绘图中无此房间",
            other_figure=f"账面 {float(recorded):.2f} m²",
            description_zh=f"{b_name}：{where_zh}已登记（清查），但测绘楼层中没有该房间",
            description_en=(
                f"{b_name}: room {number} on level {level} is declared by the "
                "stock-take but the surveyed floor has no such room"
            ),
        )
    return schemas.Mismatch(
        **common,
        kind="room_area",
        register_figure=f"实测 {float(area):.2f} m²",
        other_figure=f"账面 {float(recorded):.2f} m²",
        register_m2=float(area),
        difference_m2=round(float(area) - float(recorded), 2),
        description_zh=f"{b_name}：{where_zh}实测使用面积与清查账面面积不符",
        description_en=(
            f"{b_name}: room {number} on level {level}: the surveyed usable area "
            "differs from the area the stock-take recorded"
        ),
    )


def _physical_buildings(
    session: Session, scope: Scope, region: int | None
) -> list[schemas.Mismatch]:
    """账实 per building: the 证载面积 the stock-take recorded against the surveyed floors."""
    floors = _floor_areas()
    rows = session.execute(
        select(
            Building.id,
            Building.name,
            Building.agency_id,
            Agency.name,
            BuildingLedger.title_area_m2,
            floors.c.m2,
        )
        .join(BuildingLedger, BuildingLedger.building_id == Building.id)
        .join(floors, floors.c.building_id == Building.id)
        .outerjoin(Agency, and_(Agency.id == Building.agency_id, scopes.agencies(scope)))
        .where(
            BuildingLedger.title_area_m2.is_not(None),
            Building.status != "disposed",
            scopes.buildings_managed(scope),
            _region(Building.region_adcode, region),
        )
        .order_by(Building.id)
    ).all()
    out: list[schemas.Mismatch] = []
    for b_id, b_name, agency, a_name, recorded, m2 in rows:
        if m2 is None or not _beyond(float(m2), float(recorded)):
            continue
        out.append(
            schemas.Mismatch(
                check="physical",
                kind="building_area",
                agency_id=agency,
                agency_name=a_name,
                building_id=b_id,
                building_name=b_name,
                object_type="building",
                object_id=b_id,
                register_figure=f"实测 {float(m2):.2f} m²",
                other_figure=f"清查登记证载 {float(recorded):.2f} m²",
                register_m2=float(m2),
                other_m2=float(recorded),
                difference_m2=round(float(m2) - float(recorded), 2),
                description_zh=f"{b_name}：楼层建筑面积之和与清查登记的证载面积不符",
                description_en=(
                    f"{b_name}: the surveyed floors' building areas differ from the certified "
                    "area the stock-take recorded"
                ),
            )
        )
    return out


def _title_mismatches(row: Any) -> list[schemas.Mismatch]:
    """账证 for one current title: floor areas vs 证载面积, the stock-take's recorded
    证载面积 vs the certificate, and the register's certificate number vs the title's."""
    title, b_name, cert_no, m2, agency_name, recorded = row
    out: list[schemas.Mismatch] = []
    certified = float(title.certified_area_m2)
    measured = None if m2 is None else float(m2)
    common = {
        "check": "title",
        "agency_id": title.agency_id,
        "agency_name": agency_name,
        "building_id": title.building_id,
        "building_name": b_name,
        "object_type": "title",
        "object_id": title.id,
    }
    if measured is None or _beyond(measured, certified):
        out.append(
            schemas.Mismatch(
                **common,
                kind="certified_area",
                register_figure="无楼层面积" if measured is None else f"{measured:.2f} m²",
                other_figure=f"证载 {certified:.2f} m²",
                register_m2=measured,
                other_m2=certified,
                difference_m2=None if measured is None else round(measured - certified, 2),
                description_zh=f"{b_name}：登记建筑面积与证载面积不符（{title.certificate_no}）",
                description_en=(
                    f"{b_name}: the register's floor building areas differ from the certified area"
                ),
            )
        )
    if recorded is not None and abs(float(recorded) - certified) >= 0.005:
        out.append(
            schemas.Mismatch(
                **common,
                kind="recorded_certified_area",
                register_figure=f"清查登记证载 {float(recorded):.2f} m²",
                other_figure=f"证载 {certified:.2f} m²",
                register_m2=float(recorded),
                other_m2=certified,
                difference_m2=round(float(recorded) - certified, 2),
                description_zh=f"{b_name}：清查登记的证载面积与不动产权证不一致",
                description_en=(
                    f"{b_name}: the certified area the stock-take recorded differs from "
                    "the title certificate's"
                ),
            )
        )
    if cert_no != title.certificate_no:
        out.append(
            schemas.Mismatch(
                **common,
                kind="certificate_no",
                register_figure=cert_no or "（空）",
                other_figure=title.certificate_no,
                description_zh=f"{b_name}：登记的房屋产权证号与不动产权证不一致",
                description_en=f"{b_name}: the register's certificate number differs",
            )
        )
    return out


def _titles(
    session: Session, scope: Scope, region: int | None
) -> tuple[list[schemas.Mismatch], int]:
    floors = _floor_areas()
    rows = session.execute(
        select(
            Title,
            Building.name,
            Building.building_certificate_no,
            floors.c.m2,
            Agency.name,
            BuildingLedger.title_area_m2,
        )
        .join(Building, Building.id == Title.building_id)
        .outerjoin(floors, floors.c.building_id == Title.building_id)
        .outerjoin(Agency, and_(Agency.id == Building.agency_id, scopes.agencies(scope)))
        .outerjoin(BuildingLedger, BuildingLedger.building_id == Title.building_id)
        .where(
            Title.status == "current",
            Building.status != "disposed",
            scopes.building_records(scope, Title),
            _region(Title.region_adcode, region),
        )
        .order_by(Title.building_id)
    ).all()
    out = [m for row in rows for m in _title_mismatches(row)]
    without = session.execute(
        select(func.count())
        .select_from(Building)
        .where(
            Building.status != "disposed",
            scopes.buildings_managed(scope),
            _region(Building.region_adcode, region),
            ~select(Title.id)
            .where(Title.building_id == Building.id, Title.status == "current")
            .exists(),
        )
    ).scalar_one()
    return out, int(without)


def _agency_areas(
    session: Session, scope: Scope, region: int | None, agencies: set[int]
) -> dict[int, tuple[float, float]]:
    """Per agency: m² allocated to it in the register; m² of the rooms its people use."""
    if not agencies:
        return {}
    day = timekeeping.today()
    current = and_(Floor.id == Room.floor_id, Floor.valid_to.is_(None))
    allocated = dict(
        session.execute(
            select(Room.agency_id, func.sum(Room.usable_area_m2))
            .join(Floor, current)
            .where(
                Room.agency_id.in_(sorted(agencies)),
                scopes.rooms(scope),
                _region(Room.region_adcode, region),
            )
            .group_by(Room.agency_id)
        ).all()
    )
    used_rooms = (
        select(Occupancy.agency_id, Room.id, Room.usable_area_m2)
        .join(Room, Room.id == Occupancy.room_id)
        .join(Floor, current)
        .where(
            Occupancy.agency_id.in_(sorted(agencies)),
            timekeeping.active_on(Occupancy.start_date, Occupancy.end_date, day),
            scopes.rooms(scope),
            _region(Room.region_adcode, region),
        )
        .distinct()
        .subquery()
    )
    used = dict(
        session.execute(
            select(used_rooms.c.agency_id, func.sum(used_rooms.c.usable_area_m2)).group_by(
                used_rooms.c.agency_id
            )
        ).all()
    )
    return {a: (float(allocated.get(a) or 0), float(used.get(a) or 0)) for a in agencies}


def reconcile(session: Session, *, scope: Scope, region: int | None) -> schemas.Reconciliation:
    ledger = _ledger(session, scope, region)
    physical = _physical_rooms(session, scope, region) + _physical_buildings(session, scope, region)
    titles, without = _titles(session, scope, region)
    mismatches = ledger + physical + titles
    per: dict[int | None, dict[str, Any]] = defaultdict(
        lambda: {"ledger": 0, "physical": 0, "title": 0}
    )
    for m in mismatches:
        per[m.agency_id]["name"] = m.agency_name
        per[m.agency_id][m.check] += 1
    areas = _agency_areas(session, scope, region, {a for a in per if a is not None})
    tolerances = ledger_settings()
    return schemas.Reconciliation(
        region=region,
        as_of=timekeeping.today(),
        tolerance=(
            f"账证 and buildings: {REL_TOLERANCE:.0%} or {ABS_TOLERANCE_M2} m², whichever is "
            f"larger; rooms: the stock-take's {tolerances.area_tolerance_pct} % or "
            f"{tolerances.area_tolerance_m2} m²"
        ),
        checks={
            "ledger": schemas.Check(
                done=True,
                note_zh="单位使用记录（在用人员）与总账房间分配对比",
                note_en="the agencies' occupancy records against the register's allocation",
            ),
            "physical": schemas.Check(
                done=True,
                note_zh=(
                    "清查账面面积与测绘房间使用面积、清查登记证载面积与楼层建筑面积之和对比；"
                    "已测绘楼层上缺少的登记房间"
                ),
                note_en=(
                    "the stock-take's recorded room areas against the surveyed rooms, its "
                    "recorded certified areas against the surveyed floors; declared rooms "
                    "missing from a surveyed floor"
                ),
            ),
            "title": schemas.Check(
                done=True,
                note_zh="证载面积与楼层建筑面积之和、产权证号、清查登记证载面积对比",
                note_en=(
                    "certified area against the sum of floor building areas; certificate "
                    "number; the certified area the stock-take recorded"
                ),
            ),
        },
        buildings_without_title=without,
        agencies=[
            schemas.AgencySummary(
                agency_id=a,
                agency_name=v.get("name"),
                ledger=v["ledger"],
                physical=v["physical"],
                title=v["title"],
                register_allocated_m2=round(areas.get(a, (0.0, 0.0))[0], 2) if a else 0.0,
                ledger_in_use_m2=round(areas.get(a, (0.0, 0.0))[1], 2) if a else 0.0,
            )
            for a, v in sorted(per.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
        ],
        mismatches=mismatches,
    )


# ---------------------------------------------------------------- Excel
# the cells go through the exports module's writer: text is a string cell, never a formula
# (= + - @, their full-width forms, tab, CR, LF carry the quote prefix)
HEADERS = [
    "核对",
    "类型",
    "单位",
    "办公楼",
    "对象",
    "编号",
    "总账/实测",
    "分户账/清查账面/证书",
    "总账/实测面积(m²)",
    "对方面积(m²)",
    "差额(m²)",
    "说明",
]
CHECK_ZH = {"ledger": "账账", "physical": "账实", "title": "账证"}


def xlsx(result: schemas.Reconciliation) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("不一致清单")
    workbook.header(ws, HEADERS)
    for m in result.mismatches:
        workbook.append(
            ws,
            [
                CHECK_ZH[m.check],
                m.kind,
                m.agency_name,
                m.building_name,
                m.object_type,
                m.object_id,
                m.register_figure,
                m.other_figure,
                m.register_m2,
                m.other_m2,
                m.difference_m2,
                m.description_zh,
            ],
        )
    summary = wb.create_sheet("按单位汇总")
    workbook.header(
        summary,
        ["单位", "账账不一致", "账实不一致", "账证不一致", "总账分配面积(m²)", "在用面积(m²)"],
    )
    for a in result.agencies:
        workbook.append(
            summary,
            [
                a.agency_name,
                a.ledger,
                a.physical,
                a.title,
                a.register_allocated_m2,
                a.ledger_in_use_m2,
            ],
        )
    notes = wb.create_sheet("说明")
    for key, check in result.checks.items():
        workbook.append(notes, [CHECK_ZH[key], "已核对" if check.done else "未核对", check.note_zh])
    return workbook.to_bytes(wb)
