"""Excel exports: the 整改台账 (rectification ledger) and the assessment ranking.

Text from users is written as text cells, never as formulas: a value starting with
``=``, ``+``, ``-`` or ``@`` stays the literal text (string cell type, quote prefix).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend import reference, timekeeping
from backend.accounts.access import Principal
from backend.db.compliance import ComplianceFinding
from backend.db.models import Agency, Building, Floor, Occupancy, Room
from backend.exports import workbook
from backend.exports.service import rank_names_zh
from backend.services.errors import InvalidInput
from backend.settings import supervision_settings
from backend.supervision import assessment, ledger
from backend.supervision.models import (
    RECTIFICATION_STATUS_NAMES,
    Evidence,
    InspectionCheck,
    Rectification,
)

LEDGER_HEADERS = [
    "序号",
    "问题编号",
    "存在问题",
    "办公楼",
    "楼层",
    "房间号",
    "实际用途",
    "使用单位",
    "使用面积(m²)",
    "核定面积(m²)",
    "超标面积(m²)",
    "是否整改到位",
    "未整改原因",
    "使用人",
    "职务",
    "职级",
    "是否兼职",
    "整改前",
    "整改后",
    "整改责任单位",
    "责任人",
    "整改措施",
    "整改期限",
    "整改状态",
    "逾期天数",
    "核验人",
    "销号时间",
]


@dataclass
class _Places:
    """What the ledger's lines name, loaded once for all of them (ids → rows or names)."""

    rooms: dict[int, Room]
    floors: dict[int, Floor]
    buildings: dict[int, str]
    agencies: dict[int, str]
    occupants: dict[int, list[Occupancy]]  # room → who uses it on the day of the export
    uses: dict[int, str]  # room → actual use seen at the latest check
    evidence: dict[tuple[int, str], int]  # (rectification, phase) → files


def ledger_xlsx(session: Session, *, principal: Principal, today: dt.date, **filters: Any) -> bytes:
    """The 整改台账 of the items the caller may see (same filters as the ledger list)."""
    rows = ledger.ledger_rows(session, principal=principal, today=today, **filters)
    limit = supervision_settings().max_ledger_rows
    if len(rows) > limit:
        raise InvalidInput(
            f"{len(rows)} items exceed the export limit {limit}: narrow by region or agency",
            message_zh="导出条数超过上限，请按地区或单位筛选",
        )
    places = _places(session, rows, today)
    ranks = rank_names_zh()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("整改台账")
    workbook.header(ws, LEDGER_HEADERS)
    for n, (r, f) in enumerate(rows, start=1):
        workbook.append(ws, _ledger_line(n, r, f, places, ranks, today))
    return workbook.to_bytes(wb)


def _by_id(session: Session, model: Any, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    return {x.id: x for x in session.scalars(select(model).where(model.id.in_(ids)))}


def _places(
    session: Session, rows: list[tuple[Rectification, ComplianceFinding]], today: dt.date
) -> _Places:
    rooms: dict[int, Room] = _by_id(session, Room, {f.room_id for _, f in rows if f.room_id})
    floors = _by_id(session, Floor, {f.floor_id for _, f in rows if f.floor_id})
    buildings = _by_id(session, Building, {f.building_id for _, f in rows if f.building_id})
    agency_ids = (
        {r.responsible_agency_id for r, _ in rows}
        | {f.agency_id for _, f in rows if f.agency_id}
        | {room.agency_id for room in rooms.values() if room.agency_id}
    )
    agencies = (
        dict(session.execute(select(Agency.id, Agency.name).where(Agency.id.in_(agency_ids))).all())
        if agency_ids
        else {}
    )
    return _Places(
        rooms=rooms,
        floors=floors,
        buildings={i: b.name for i, b in buildings.items()},
        agencies=agencies,
        occupants=_occupants_on(session, set(rooms), today),
        uses=_latest_uses(session, set(rooms)),
        evidence=_evidence_counts(session, [r.id for r, _ in rows]),
    )


def _occupants_on(session: Session, room_ids: set[int], day: dt.date) -> dict[int, list[Occupancy]]:
    occupants: dict[int, list[Occupancy]] = defaultdict(list)
    if room_ids:
        for o in session.scalars(
            select(Occupancy)
            .where(
                Occupancy.room_id.in_(room_ids),
                timekeeping.active_on(Occupancy.start_date, Occupancy.end_date, day),
            )
            .order_by(Occupancy.id)
        ):
            occupants[o.room_id].append(o)
    return occupants


def _latest_uses(session: Session, room_ids: set[int]) -> dict[int, str]:
    """Each room's actual use at its latest check (later rows overwrite earlier ones)."""
    uses: dict[int, str] = {}
    if room_ids:
        latest = (
            select(InspectionCheck.room_id, InspectionCheck.actual_use)
            .where(InspectionCheck.room_id.in_(room_ids), InspectionCheck.actual_use.is_not(None))
            .order_by(InspectionCheck.room_id, InspectionCheck.checked_on, InspectionCheck.id)
        )
        for room_id, use in session.execute(latest):
            if room_id is not None and use is not None:
                uses[int(room_id)] = use
    return uses


def _evidence_counts(session: Session, rectification_ids: list[int]) -> dict[tuple[int, str], int]:
    if not rectification_ids:
        return {}
    return {
        (int(rid or 0), phase): int(n)
        for rid, phase, n in session.execute(
            select(Evidence.rectification_id, Evidence.phase, func.count())
            .where(Evidence.rectification_id.in_(rectification_ids))
            .group_by(Evidence.rectification_id, Evidence.phase)
        )
    }


def _ledger_line(
    n: int,
    r: Rectification,
    f: ComplianceFinding,
    p: _Places,
    ranks: dict[str, str],
    today: dt.date,
) -> list[Any]:
    """One line of the 整改台账, in the order of LEDGER_HEADERS."""
    room = p.rooms.get(f.room_id) if f.room_id else None
    floor = p.floors.get(f.floor_id) if f.floor_id else None
    occ = p.occupants.get(f.room_id, []) if f.room_id else []
    unit = (f.details or {}).get("unit")
    overdue = ledger.is_overdue(r, today)
    status = RECTIFICATION_STATUS_NAMES["overdue" if overdue else r.status][0]
    actual = p.uses.get(room.id) if room else None
    before_n = p.evidence.get((r.id, "before"), 0)
    after_n = p.evidence.get((r.id, "after"), 0) + p.evidence.get((r.id, "verification"), 0)
    return [
        n,
        f.id,
        r.problem,
        p.buildings.get(f.building_id) if f.building_id else None,
        (floor.name or f"{floor.level}F") if floor else None,
        room.number if room else None,
        reference.category_names_zh().get(actual or (room.category if room else "") or "", actual),
        p.agencies.get((room.agency_id if room and room.agency_id else f.agency_id) or 0),
        workbook.number(room.usable_area_m2)
        if room
        else (workbook.number(f.measured) if unit == "m2" else None),
        workbook.number(f.allowed) if unit == "m2" else None,
        workbook.number(f.excess_m2),
        "是" if r.status == "closed" else "否",
        r.not_rectified_reason,
        "、".join(o.person_name or "" for o in occ) or None,
        "、".join(o.post_title or "" for o in occ if o.post_title) or None,
        "、".join(ranks.get(o.rank_code, o.rank_code) for o in occ) or None,
        ("是" if any(o.is_concurrent_post for o in occ) else "否") if occ else None,
        "；".join(x for x in (r.problem, f"佐证{before_n}份" if before_n else "") if x),
        "；".join(x for x in (r.after_state or "", f"佐证{after_n}份" if after_n else "") if x)
        or None,
        p.agencies.get(r.responsible_agency_id),
        r.responsible_person,
        r.measures,
        r.deadline.isoformat(),
        status,
        (today - r.deadline).days if overdue else 0,
        r.verified_by,
        r.verified_at.isoformat() if r.verified_at else None,
    ]


def assessment_xlsx(session: Session, *, principal: Principal, **kwargs: Any) -> bytes:
    """The ranking with every indicator's numerator, denominator and value."""
    result = assessment.compute(session, principal=principal, **kwargs)
    inds = result["scheme"]["indicators"]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("考核排名")
    workbook.append(
        ws,
        [
            f"考核方案 {result['scheme']['version']}",
            result["scheme"]["title"],
            "考核日期",
            result["as_of"],
        ],
    )
    header = ["排名", "代码", "名称", "得分"]
    for ind in inds:
        header += [
            f"{ind['name_zh']}（权重{ind['weight']}）分子",
            f"{ind['name_zh']} 分母",
            f"{ind['name_zh']} 比值",
        ]
    workbook.append(ws, header, bold=True)
    for u in result["units"]:
        values: list[Any] = [u["rank"], u["key"], u["name"], u["score"]]
        for x in u["indicators"]:
            values += [x["numerator"], x["denominator"], x["value"]]
        workbook.append(ws, values)
    return workbook.to_bytes(wb)
