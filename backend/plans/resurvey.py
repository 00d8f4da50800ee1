"""Re-surveys keep their occupants: carry what sits on a floor's rooms to its new version.

When a plan makes a new version of a storey, what is attached to the old version's rooms —
occupancies, leases and approved uses that have not ended, and live compliance findings —
moves to the new room it belongs to: the new room with the same number (when that number
is unique in the new plan), else the new room that covers the largest share of the old one
(at least ``MIN_SHARE``). An old room that matches nothing must be decided by the surveyor
(``carry_over``: old room id → new feature index, or ``"end"`` to end its uses on the day
of the re-survey); until then the upload is refused with ``carry_over_undecided`` listing
them (the dry run lists them as a warning). Nothing is silently orphaned. Floor-wide approved uses follow the
floor. Ended uses stay on the version they happened in (history).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend import timekeeping
from backend.audit import service as audit
from backend.db.compliance import ApprovedUse, ComplianceFinding, Lease
from backend.db.models import Floor, Occupancy, Room
from backend.services.errors import InvalidInput
from gis.validate import Issue

MIN_SHARE = 0.10
"""An overlap match needs at least this share of the old room's area."""

END = "end"


@dataclass
class Carried:
    """One old room with something attached, and where it goes."""

    old_room_id: int
    old_number: str | None
    occupancies: list[int] = field(default_factory=list)
    leases: list[int] = field(default_factory=list)
    approved_uses: list[int] = field(default_factory=list)
    findings: list[int] = field(default_factory=list)
    new_feature: int | None = None
    new_number: str | None = None
    by: str | None = None  # number | overlap | decision | end
    overlap_share: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "old_room_id": self.old_room_id,
            "old_number": self.old_number,
            "new_feature": self.new_feature,
            "new_number": self.new_number,
            "by": self.by,
            "overlap_share": None if self.overlap_share is None else round(self.overlap_share, 4),
            "occupancies": len(self.occupancies),
            "leases": len(self.leases),
            "approved_uses": len(self.approved_uses),
            "findings": len(self.findings),
        }


@dataclass
class CarryOver:
    """The plan for one re-survey: matched rooms, undecided ones, floor-wide uses."""

    previous_floor_id: int
    rooms: list[Carried]
    floor_uses: list[int]
    floor_findings: list[int]

    @property
    def undecided(self) -> list[Carried]:
        return [c for c in self.rooms if c.by is None]

    def report(self) -> dict[str, Any]:
        return {
            "previous_floor_id": self.previous_floor_id,
            "matched": [c.as_dict() for c in self.rooms if c.by not in (None, END)],
            "ended": [c.as_dict() for c in self.rooms if c.by == END],
            "unmatched": [c.as_dict() for c in self.undecided],
            "floor_approved_uses": len(self.floor_uses),
            "floor_findings": len(self.floor_findings),
        }

    def issue(self) -> dict[str, Any] | None:
        """The refusal while old rooms are undecided (the report's error entry)."""
        if not self.undecided:
            return None
        ids = [c.old_room_id for c in self.undecided]
        return Issue(
            "carry_over_undecided",
            f"{len(ids)} rooms of the current version hold occupants, leases, approved uses "
            "or findings and match no new room: decide each with carry_over "
            '({"<old room id>": <new feature index> or "end"})',
            details={
                "old_room_ids": ids,
                "message_zh": "旧版本中有房间的使用人、出租出借、批准用途或问题无法对应到"
                "新房间，请在 carry_over 中逐一指定",
            },
        ).as_dict()


def _active(model: Any, today: dt.date) -> Any:
    """Running on ``today`` or starting later (``timekeeping``: the one time rule)."""
    return timekeeping.not_ended_on(model.start_date, model.end_date, today)


def _attached(session: Session, floor_id: int, today: dt.date) -> dict[int, Carried]:
    rooms = {
        rid: Carried(rid, number)
        for rid, number in session.execute(
            select(Room.id, Room.number).where(Room.floor_id == floor_id)
        )
    }
    ids = list(rooms)
    for model, attr in (
        (Occupancy, "occupancies"),
        (Lease, "leases"),
        (ApprovedUse, "approved_uses"),
    ):
        for key, room_id in session.execute(
            select(model.id, model.room_id).where(model.room_id.in_(ids), _active(model, today))
        ):
            getattr(rooms[room_id or 0], attr).append(int(key))
    for key, room_id in session.execute(
        select(ComplianceFinding.id, ComplianceFinding.room_id).where(
            ComplianceFinding.room_id.in_(ids),
            ComplianceFinding.floor_id == floor_id,
            ComplianceFinding.status != "closed",
            ComplianceFinding.object_type.in_(("room", "room_pair", "occupancy")),
        )
    ):
        rooms[room_id or 0].findings.append(int(key))
    return {
        k: c for k, c in rooms.items() if c.occupancies or c.leases or c.approved_uses or c.findings
    }


def _norm(number: str | None) -> str | None:
    text = (number or "").strip()
    return text or None


def plan(
    session: Session,
    previous: Floor | None,
    rows: list[dict[str, Any]],
    lonlat: np.ndarray,
    decisions: dict[str, Any] | None,
    *,
    today: dt.date,
) -> CarryOver | None:
    """Match the old version's attached rooms to the new plan's rooms (nothing is written).

    ``rows`` are the new rooms (``feature``, ``number``) in the order of ``lonlat``.
    """
    if previous is None:
        return None
    attached = _attached(session, previous.id, today)
    features = {int(r["feature"]): k for k, r in enumerate(rows)}
    chosen = _parse_decisions(decisions, attached, features)
    counts = Counter(_norm(r["number"]) for r in rows)
    by_number = {
        _norm(r["number"]): k for k, r in enumerate(rows) if counts[_norm(r["number"])] == 1
    }
    old_geoms: dict[int, bytes] = dict(
        session.execute(
            select(Room.id, func.ST_AsBinary(Room.geom)).where(Room.id.in_(list(attached)))
        ).all()
    )
    tree = shapely.STRtree(lonlat) if len(lonlat) else None
    for c in attached.values():
        _match(c, chosen, by_number, rows, old_geoms, tree, lonlat)
    floor_uses = list(
        session.scalars(
            select(ApprovedUse.id).where(
                ApprovedUse.floor_id == previous.id, _active(ApprovedUse, today)
            )
        )
    )
    floor_findings = list(
        session.scalars(
            select(ComplianceFinding.id).where(
                ComplianceFinding.floor_id == previous.id,
                ComplianceFinding.object_type == "floor",
                ComplianceFinding.status != "closed",
            )
        )
    )
    return CarryOver(
        previous.id,
        sorted(attached.values(), key=lambda c: c.old_room_id),
        floor_uses,
        floor_findings,
    )


def _match(
    c: Carried,
    chosen: dict[str, int | None],
    by_number: dict[str | None, int],
    rows: list[dict[str, Any]],
    old_geoms: dict[int, bytes],
    tree: shapely.STRtree | None,
    lonlat: np.ndarray,
) -> None:
    """The new room of one old room: the surveyor's decision, else the same number, else
    the largest overlap (at least ``MIN_SHARE`` of the old room)."""
    if str(c.old_room_id) in chosen:
        k = chosen[str(c.old_room_id)]
        if k is None:
            c.by = END
        else:
            c.new_feature, c.new_number, c.by = (
                int(rows[k]["feature"]),
                rows[k]["number"],
                "decision",
            )
        return
    key = _norm(c.old_number)
    if key is not None and key in by_number:
        k = by_number[key]
        c.new_feature, c.new_number, c.by = int(rows[k]["feature"]), rows[k]["number"], "number"
        return
    old = shapely.from_wkb(old_geoms[c.old_room_id])
    if tree is None or old.area <= 0:
        return
    near = tree.query(old)
    if len(near) == 0:
        return
    shares = shapely.area(shapely.intersection(lonlat[near], old)) / old.area
    best = int(np.argmax(shares))
    if shares[best] >= MIN_SHARE:
        k = int(near[best])
        c.new_feature, c.new_number, c.by = (
            int(rows[k]["feature"]),
            rows[k]["number"],
            "overlap",
        )
        c.overlap_share = float(shares[best])


def _parse_decisions(
    decisions: dict[str, Any] | None, attached: dict[int, Carried], features: dict[int, int]
) -> dict[str, int | None]:
    """Old room id → row index of the new room (None = end its uses); strict."""
    out: dict[str, int | None] = {}
    for key, value in (decisions or {}).items():
        if not key.isdigit() or int(key) not in attached:
            raise InvalidInput(
                f"carry_over: room {key!r} is not a room of the current version with "
                "something to carry",
                message_zh="carry_over 中的房间不属于当前版本或无需处理",
                details={"parameter": "carry_over", "room": key},
            )
        if value == END:
            out[key] = None
        elif isinstance(value, int) and not isinstance(value, bool) and value in features:
            out[key] = features[value]
        else:
            raise InvalidInput(
                f"carry_over: {value!r} for room {key} is neither a feature index of the new "
                'plan nor "end"',
                message_zh='carry_over 的取值须为新平面图的要素序号或 "end"',
                details={"parameter": "carry_over", "room": key},
            )
    return out


def _set_room(room_id: int) -> Callable[[Any], dict[str, Any]]:
    return lambda model: {"room_id": room_id}


def _update_uses(
    session: Session,
    c: Carried,
    moved: Counter[str],
    prefix: str,
    values_of: Callable[[Any], dict[str, Any]],
) -> None:
    """One UPDATE per kind of use of an old room (occupancies also get a new version)."""
    for model, ids, what in (
        (Occupancy, c.occupancies, "occupancies"),
        (Lease, c.leases, "leases"),
        (ApprovedUse, c.approved_uses, "approved_uses"),
    ):
        if not ids:
            continue
        values = values_of(model)
        if model is Occupancy:
            values["version"] = Occupancy.version + 1
        session.execute(
            update(model)
            .where(model.id.in_(ids))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        moved[prefix + what] += len(ids)


def apply(
    session: Session,
    carry: CarryOver,
    new_floor_id: int,
    *,
    today: dt.date,
    actor: str,
) -> dict[str, int]:
    """Move (or end) what the plan says, after the new rooms exist; audited as one event."""
    if carry.undecided:  # import_plan refuses before this; never orphan silently
        raise InvalidInput("carry_over: undecided rooms", details={"parameter": "carry_over"})
    room_of_feature = {
        int(feature): int(rid)
        for rid, feature in session.execute(
            select(Room.id, Room.attributes["feature"].as_integer()).where(
                Room.floor_id == new_floor_id
            )
        )
    }
    moved: Counter[str] = Counter()
    new_room: dict[int, int] = {}
    for c in carry.rooms:
        if c.by == END:
            _update_uses(
                session,
                c,
                moved,
                "ended_",
                lambda m: {"end_date": func.greatest(m.start_date, today)},
            )
            continue
        assert c.new_feature is not None
        target = room_of_feature[c.new_feature]
        new_room[c.old_room_id] = target
        _update_uses(session, c, moved, "", _set_room(target))
    if carry.floor_uses:
        session.execute(
            update(ApprovedUse)
            .where(ApprovedUse.id.in_(carry.floor_uses))
            .values(floor_id=new_floor_id)
            .execution_options(synchronize_session=False)
        )
        moved["floor_approved_uses"] += len(carry.floor_uses)
    moved["findings"] = _move_findings(session, carry, new_room, new_floor_id)
    session.expire_all()
    audit.record(
        session,
        actor=actor,
        action="plan.carry_over",
        object_type="floor",
        object_id=new_floor_id,
        before={"floor_id": carry.previous_floor_id},
        after={"floor_id": new_floor_id, **moved, "rooms": carry.report()["matched"]},
    )
    return dict(moved)


def _move_findings(
    session: Session, carry: CarryOver, new_room: dict[int, int], new_floor_id: int
) -> int:
    """Live findings follow their room (status and history kept); the re-evaluation that
    follows refreshes or closes them. Two old rooms merged into one keep one finding."""
    ids = [f for c in carry.rooms for f in c.findings] + carry.floor_findings
    if not ids:
        return 0
    findings = list(
        session.scalars(
            select(ComplianceFinding)
            .where(ComplianceFinding.id.in_(ids))
            .order_by(ComplianceFinding.id)
        )
    )
    wanted = {_moved_object_id(f, new_room, new_floor_id) for f in findings} - {None}
    taken = {
        (r, t, o)
        for r, t, o in session.execute(
            select(
                ComplianceFinding.rule_code,
                ComplianceFinding.object_type,
                ComplianceFinding.object_id,
            ).where(ComplianceFinding.status != "closed", ComplianceFinding.object_id.in_(wanted))
        )
    }
    n = 0
    for f in findings:
        object_id = _moved_object_id(f, new_room, new_floor_id)
        if object_id is None:
            continue
        if object_id != f.object_id and (f.rule_code, f.object_type, object_id) in taken:
            continue
        taken.add((f.rule_code, f.object_type, object_id))
        f.object_id = object_id
        f.floor_id = new_floor_id
        if f.room_id is not None and f.room_id in new_room:
            f.room_id = new_room[f.room_id]
        n += 1
    session.flush()
    return n


def _moved_object_id(
    f: ComplianceFinding, new_room: dict[int, int], new_floor_id: int
) -> str | None:
    """The finding's object id after the move; None when it stays (closed by re-evaluation)."""
    if f.object_type == "floor":
        return str(new_floor_id)
    if f.object_type == "room_pair":
        a, b = (int(x) for x in f.object_id.split(":"))
        if a not in new_room or b not in new_room or new_room[a] == new_room[b]:
            return None
        lo, hi = sorted((new_room[a], new_room[b]))
        return f"{lo}:{hi}"
    if f.room_id not in new_room:
        return None
    return str(new_room[f.room_id]) if f.object_type == "room" else f.object_id
