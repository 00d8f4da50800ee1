"""账账、账实、账证: the master register reconciled with the agencies' sub-ledgers, with the
buildings' geometry and with their title certificates. Each mismatch carries both figures
and the agency it belongs to; the list is exportable (Excel, formulas neutralised).

- 账账 (ledger): an agency's sub-ledger is where its people sit (its active occupancies);
  the master register allocates each room to an agency (``rooms.agency_id``). A room used by
  an agency's people but allocated to another (or to nobody) is a mismatch.
- 账实 (physical): the register's areas are computed from the surveyed geometry, so there is
  no separately recorded (on-site measured) area to compare with yet; the check reports
  itself as not done until the stock-take adds one.
- 账证 (title): the current title's 证载面积 against the sum of the building's current floor
  building areas (tolerance: 1 % or 1 m², whichever is larger), and the certificate number
  the register keeps against the certificate's.
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

OTHER_AGENCY = "其他单位"  # an agency the caller may not see (its name is not shown)
REL_TOLERANCE = 0.01
ABS_TOLERANCE_M2 = 1.0
XLSX = workbook.XLSX


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


def _titles(
    session: Session, scope: Scope, region: int | None
) -> tuple[list[schemas.Mismatch], int]:
    floors = (
        select(Floor.building_id, func.sum(Floor.building_area_m2).label("m2"))
        .where(Floor.valid_to.is_(None))
        .group_by(Floor.building_id)
        .subquery()
    )
    rows = session.execute(
        select(Title, Building.name, Building.building_certificate_no, floors.c.m2, Agency.name)
        .join(Building, Building.id == Title.building_id)
        .outerjoin(floors, floors.c.building_id == Title.building_id)
        .outerjoin(Agency, and_(Agency.id == Building.agency_id, scopes.agencies(scope)))
        .where(
            Title.status == "current",
            Building.status != "disposed",
            scopes.building_records(scope, Title),
            _region(Title.region_adcode, region),
        )
        .order_by(Title.building_id)
    ).all()
    out: list[schemas.Mismatch] = []
    for title, b_name, cert_no, m2, agency_name in rows:
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
        tolerance = max(ABS_TOLERANCE_M2, REL_TOLERANCE * certified)
        if measured is None or abs(certified - measured) > tolerance:
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
                        f"{b_name}: the register's floor building areas differ from the "
                        "certified area"
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
    titles, without = _titles(session, scope, region)
    mismatches = ledger + titles
    per: dict[int | None, dict[str, Any]] = defaultdict(lambda: {"ledger": 0, "title": 0})
    for m in mismatches:
        per[m.agency_id]["name"] = m.agency_name
        per[m.agency_id][m.check] += 1
    areas = _agency_areas(session, scope, region, {a for a in per if a is not None})
    return schemas.Reconciliation(
        region=region,
        as_of=timekeeping.today(),
        tolerance=f"账证: {REL_TOLERANCE:.0%} or {ABS_TOLERANCE_M2} m², whichever is larger",
        checks={
            "ledger": schemas.Check(
                done=True,
                note_zh="单位使用记录（在用人员）与总账房间分配对比",
                note_en="the agencies' occupancy records against the register's allocation",
            ),
            "physical": schemas.Check(
                done=False,
                note_zh="登记面积由测绘几何计算，尚无独立的实地测量面积可比对（待清查盘点）",
                note_en=(
                    "register areas are computed from the surveyed geometry; there is no "
                    "separately recorded on-site area to compare with yet (stock-take)"
                ),
            ),
            "title": schemas.Check(
                done=True,
                note_zh="证载面积与楼层建筑面积之和、产权证号对比",
                note_en="certified area against the sum of floor building areas; cert. number",
            ),
        },
        buildings_without_title=without,
        agencies=[
            schemas.AgencySummary(
                agency_id=a,
                agency_name=v.get("name"),
                ledger=v["ledger"],
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
    "总账",
    "分户账/证书",
    "总账面积(m²)",
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
        summary, ["单位", "账账不一致", "账证不一致", "总账分配面积(m²)", "在用面积(m²)"]
    )
    for a in result.agencies:
        workbook.append(
            summary,
            [a.agency_name, a.ledger, a.title, a.register_allocated_m2, a.ledger_in_use_m2],
        )
    notes = wb.create_sheet("说明")
    for key, check in result.checks.items():
        workbook.append(notes, [CHECK_ZH[key], "已核对" if check.done else "未核对", check.note_zh])
    return workbook.to_bytes(wb)
