"""Stock-take use cases: the ledger import, 账实 reconciliation, agencies, campaigns.

No FastAPI here: routes parse and call these; errors are the domain errors.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ScalarSelect,
    Select,
    Subquery,
    and_,
    func,
    insert,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from backend.accounts.access import Principal, roles_for
from backend.audit import service as audit
from backend.db.models import Agency, AgencyStaffing, Building, Floor, Region, Room
from backend.inventory import writes
from backend.services import scope as visibility
from backend.services.errors import Conflict, Forbidden, InvalidInput, NotFound, check_version
from backend.services.scope import Scope
from backend.settings import ledger_settings
from backend.stocktake import codes, regions
from backend.stocktake.ledger import (
    REFERENCE_SETTERS,
    LedgerOutcome,
    LedgerRequest,
    import_ledger,
)
from backend.stocktake.models import (
    STATUS_ZH,
    BuildingLedger,
    Campaign,
    CampaignAgency,
    LedgerOccupant,
    LedgerRoom,
)
from backend.stocktake.schemas import (
    AgencyCreate,
    AgencyPublic,
    CampaignAgencyPublic,
    CampaignCreate,
    CampaignPublic,
    CompletenessRow,
    Transition,
)

__all__ = ["LedgerOutcome", "LedgerRequest", "import_ledger", "reconcile"]

RULE = "ledger.area_mismatch"  # 账实不符: recorded (账面) vs surveyed (实测) usable area

# ---------------------------------------------------------------- reconciliation 账实
_CANDIDATES = text(
    """
    SELECT l.id AS ledger_id, r.id AS room_id, r.floor_id, l.building_id, l.agency_id,
           l.region_adcode, r.usable_area_m2 AS measured, l.recorded_area_m2 AS recorded
    FROM ledger_rooms l
    JOIN floors f ON f.building_id = l.building_id AND f.level = l.level AND f.valid_to IS NULL
    JOIN rooms r ON r.floor_id = f.id AND r.number = l.number
    WHERE l.building_id = ANY(CAST(:buildings AS int[]))
      AND abs(r.usable_area_m2 - l.recorded_area_m2)
          > greatest(l.recorded_area_m2 * CAST(:pct AS numeric) / 100, CAST(:m2 AS numeric))
    """
)
_UPSERT = text(
    """
    INSERT INTO compliance_findings
        (rule_code, object_type, object_id, room_id, floor_id, building_id, agency_id,
         region_adcode, measured, allowed, excess_m2, excess_pct, standard_version,
         evaluated_at, status, details, first_seen_at)
    VALUES (:rule, 'ledger_room', :object_id, :room_id, :floor_id, :building_id, :agency_id,
            :region_adcode, :measured, :recorded, :excess_m2, :excess_pct, 'ledger', now(),
            'open', CAST(:details AS jsonb), now())
    ON CONFLICT (rule_code, object_type, object_id) WHERE status <> 'closed'
    DO UPDATE SET room_id = EXCLUDED.room_id, floor_id = EXCLUDED.floor_id,
        measured = EXCLUDED.measured, allowed = EXCLUDED.allowed,
        excess_m2 = EXCLUDED.excess_m2, excess_pct = EXCLUDED.excess_pct,
        agency_id = EXCLUDED.agency_id, region_adcode = EXCLUDED.region_adcode,
        details = EXCLUDED.details, evaluated_at = now()
    """
)
_CLOSE = text(
    """
    UPDATE compliance_findings
    SET status = 'closed', closed_at = now(), evaluated_at = now(),
        details = coalesce(details, '{}'::jsonb) || '{"closed_by": "reconciliation"}'::jsonb
    WHERE rule_code = :rule AND status <> 'closed'
      AND building_id = ANY(CAST(:buildings AS int[]))
      AND NOT (object_id = ANY(CAST(:keep AS text[])))
    """
)


def reconcile(session: Session, *, buildings: list[int]) -> int:
    """Match declared rooms to surveyed ones; open or close 账实不符 findings. Returns open."""
    if not buildings:
        return 0
    s = ledger_settings()
    rows = (
        session.execute(
            _CANDIDATES,
            {
                "buildings": buildings,
                "pct": str(s.area_tolerance_pct),
                "m2": str(s.area_tolerance_m2),
            },
        )
        .mappings()
        .all()
    )
    import json

    keep: list[str] = []
    for r in rows:
        excess = Decimal(r["measured"]) - Decimal(r["recorded"])
        pct = (excess / r["recorded"] * 100).quantize(Decimal("0.01")) if r["recorded"] else None
        keep.append(str(r["ledger_id"]))
        session.execute(
            _UPSERT,
            {
                "rule": RULE,
                "object_id": str(r["ledger_id"]),
                "room_id": r["room_id"],
                "floor_id": r["floor_id"],
                "building_id": r["building_id"],
                "agency_id": r["agency_id"],
                "region_adcode": r["region_adcode"],
                "measured": r["measured"],
                "recorded": r["recorded"],
                "excess_m2": excess,
                "excess_pct": pct,
                "details": json.dumps(
                    {
                        "unit": "m2",
                        "recorded_area_m2": str(r["recorded"]),
                        "surveyed_area_m2": str(r["measured"]),
                        "tolerance_pct": s.area_tolerance_pct,
                        "tolerance_m2": s.area_tolerance_m2,
                    }
                ),
            },
        )
    session.execute(_CLOSE, {"rule": RULE, "buildings": buildings, "keep": keep})
    return len(rows)


def _after_plan(session: Session, building_id: int) -> None:
    reconcile(session, buildings=[building_id])


def install_hooks() -> None:
    from backend.plans import service as plans

    if _after_plan not in plans.AFTER_IMPORT:
        plans.AFTER_IMPORT.append(_after_plan)


install_hooks()


# ---------------------------------------------------------------- agencies
def _agency_public(session: Session, agency_id: int, scope: Scope) -> AgencyPublic:
    a = session.execute(
        select(Agency).where(Agency.id == agency_id, visibility.agencies(scope))
    ).scalar_one_or_none()
    if a is None:
        raise NotFound(f"agency {agency_id} not found", message_zh=f"单位 {agency_id} 不存在")
    staffing = session.execute(
        select(AgencyStaffing.rank_code, AgencyStaffing.quota, AgencyStaffing.headcount)
        .where(AgencyStaffing.agency_id == agency_id)
        .order_by(AgencyStaffing.rank_code)
    ).all()
    return AgencyPublic(
        id=a.id,
        name=a.name,
        credit_code=a.credit_code,
        level=a.level,
        region_adcode=a.region_adcode,
        parent_id=a.parent_id,
        approved_office_area_m2=a.approved_office_area_m2,
        staffing=[writes.StaffingRow(rank_code=r, quota=q, headcount=h) for r, q, h in staffing],
        version=a.version,
    )


def get_agency(session: Session, agency_id: int, *, scope: Scope) -> AgencyPublic:
    return _agency_public(session, agency_id, scope)


def _check_credit_code(code: str) -> None:
    problem = codes.credit_code_problem(code)
    if problem:
        raise InvalidInput(
            f"统一社会信用代码 is invalid ({problem}, GB 32100-2015)",
            message_zh="统一社会信用代码无效（GB 32100-2015 校验不通过）",
            details={"field": "credit_code", "problem": problem},
        )


def _check_ranks(level: str, staffing: list[writes.StaffingRow]) -> None:
    valid = {r.rank_code for r in codes.rank_rows() if r.agency_level == level}
    bad = sorted({r.rank_code for r in staffing} - valid)
    if bad:
        raise InvalidInput(
            f"rank codes not in the {level} table: {', '.join(bad)}",
            message_zh="职级代码不属于该级别的标准表",
            details={"field": "staffing", "unknown": bad},
        )
    if len({r.rank_code for r in staffing}) != len(staffing):
        raise InvalidInput("rank_code repeated", details={"field": "staffing"})


def _require_reference_setter(principal: Principal) -> None:
    if not principal.has_any(*REFERENCE_SETTERS):
        raise Forbidden(
            "only the managing office (admin, planner) may set staffing quotas and approved areas",
            message_zh="仅管理机关（管理员、规划调配）可设置核定编制和核定面积",
        )


def create_agency(session: Session, data: AgencyCreate, *, principal: Principal) -> int:
    """A new agency in the caller's scope (its region must lie within it)."""
    _check_credit_code(data.credit_code)
    if not regions.existing(session, {data.region_adcode}):
        raise InvalidInput(
            f"unknown region {data.region_adcode}",
            message_zh=f"行政区划 {data.region_adcode} 不存在",
            details={"field": "region_adcode"},
        )
    if not principal.scope.allows_region(data.region_adcode):
        raise NotFound(f"region {data.region_adcode} not found", message_zh="行政区划不存在")
    if data.approved_office_area_m2 is not None or any(r.quota for r in data.staffing):
        _require_reference_setter(principal)
    _check_ranks(data.level, data.staffing)
    if data.parent_id is not None:
        _visible_agency(session, data.parent_id, principal.scope)
    taken = session.execute(
        text("SELECT officemap_credit_codes_taken(CAST(:c AS text[]))"), {"c": [data.credit_code]}
    ).first()
    if taken is not None:
        raise Conflict(
            "an agency with this 统一社会信用代码 is already registered",
            message_zh="该统一社会信用代码已登记",
            details={"field": "credit_code"},
        )
    values = data.model_dump(exclude={"staffing"})
    agency_id = int(
        session.execute(insert(Agency).values(**values).returning(Agency.id)).scalar_one()
    )
    writes.insert_staffing(session, agency_id, data.staffing)
    audit.record(
        session,
        actor=principal.username,
        action="agency.create",
        object_type="agency",
        object_id=agency_id,
        after=data.model_dump(mode="json") | {"version": 1},
    )
    return agency_id


def _visible_agency(session: Session, agency_id: int, scope: Scope) -> Agency:
    a = session.execute(
        select(Agency).where(Agency.id == agency_id, visibility.agencies(scope))
    ).scalar_one_or_none()
    if a is None:
        raise NotFound(f"agency {agency_id} not found", message_zh=f"单位 {agency_id} 不存在")
    return a


# ---------------------------------------------------------------- campaigns
CAMPAIGN_ROLES = roles_for("campaign.create")
# status transitions: (from, to) → roles; officers act on their own agency only
TRANSITIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("not_started", "in_progress"): ("agency_officer", "admin", "planner"),
    ("returned", "in_progress"): ("agency_officer", "admin", "planner"),
    ("not_started", "submitted"): roles_for("campaign.submit"),
    ("in_progress", "submitted"): roles_for("campaign.submit"),
    ("returned", "submitted"): roles_for("campaign.submit"),
    ("submitted", "verified"): roles_for("campaign.verify"),
    ("submitted", "returned"): roles_for("campaign.verify"),
    ("verified", "returned"): roles_for("campaign.verify"),
}


def _campaign_visible(scope: Scope) -> Any:
    return visibility.campaigns(scope)


def _campaign_public(session: Session, c: Campaign, scope: Scope) -> CampaignPublic:
    counts = dict(
        session.execute(
            select(CampaignAgency.status, func.count())
            .join(Agency, Agency.id == CampaignAgency.agency_id)
            .where(CampaignAgency.campaign_id == c.id, visibility.agencies(scope))
            .group_by(CampaignAgency.status)
        ).all()
    )
    name = session.execute(select(Region.name).where(Region.adcode == c.region_adcode)).scalar()
    return CampaignPublic(
        id=c.id,
        name=c.name,
        region_adcode=c.region_adcode,
        region_name=name,
        deadline=c.deadline,
        created_by=c.created_by,
        created_at=c.created_at,
        status_counts={k: int(v) for k, v in counts.items()},
        version=c.version,
    )


def list_campaigns(session: Session, *, scope: Scope) -> list[CampaignPublic]:
    rows = session.scalars(
        select(Campaign).where(_campaign_visible(scope)).order_by(Campaign.id.desc())
    ).all()
    return [_campaign_public(session, c, scope) for c in rows]


def get_campaign(session: Session, campaign_id: int, *, scope: Scope) -> CampaignPublic:
    return _campaign_public(session, _campaign(session, campaign_id, scope), scope)


def _campaign(session: Session, campaign_id: int, scope: Scope) -> Campaign:
    c = session.scalars(
        select(Campaign).where(Campaign.id == campaign_id, _campaign_visible(scope))
    ).one_or_none()
    if c is None:
        raise NotFound(
            f"campaign {campaign_id} not found", message_zh=f"清查任务 {campaign_id} 不存在"
        )
    return c


def create_campaign(session: Session, data: CampaignCreate, *, principal: Principal) -> int:
    """Launch a campaign: every agency of the region's subtree starts at 未填报."""
    principal.require(*CAMPAIGN_ROLES)
    if not regions.existing(session, {data.region_adcode}):
        raise InvalidInput(
            "unknown region", message_zh="行政区划不存在", details={"field": "region_adcode"}
        )
    if not principal.scope.allows_region(data.region_adcode):
        raise NotFound("region not found", message_zh="行政区划不存在")
    c = Campaign(
        name=data.name,
        region_adcode=data.region_adcode,
        deadline=data.deadline,
        created_by=principal.username,
    )
    session.add(c)
    session.flush()
    agencies = select(literal(c.id), Agency.id).where(
        regions.within(Agency.region_adcode, data.region_adcode)
    )
    session.execute(insert(CampaignAgency).from_select(["campaign_id", "agency_id"], agencies))
    n = session.execute(select(func.count()).where(CampaignAgency.campaign_id == c.id)).scalar_one()
    audit.record(
        session,
        actor=principal.username,
        action="campaign.create",
        object_type="campaign",
        object_id=c.id,
        after=data.model_dump(mode="json") | {"agencies": n, "version": 1},
    )
    return c.id


def campaign_agencies(
    session: Session, campaign_id: int, *, scope: Scope, status: str | None = None
) -> list[CampaignAgencyPublic]:
    _campaign(session, campaign_id, scope)
    stmt = (
        select(CampaignAgency, Agency.name, Agency.credit_code, Agency.region_adcode, Agency.level)
        .join(Agency, Agency.id == CampaignAgency.agency_id)
        .where(CampaignAgency.campaign_id == campaign_id, visibility.agencies(scope))
        .order_by(Agency.region_adcode, Agency.name)
    )
    if status:
        stmt = stmt.where(CampaignAgency.status == status)
    return [
        _ca_public(ca, name, code, region, level)
        for ca, name, code, region, level in session.execute(stmt)
    ]


def _ca_public(
    ca: CampaignAgency, name: str, code: str | None, region: int, level: str
) -> CampaignAgencyPublic:
    return CampaignAgencyPublic(
        campaign_id=ca.campaign_id,
        agency_id=ca.agency_id,
        agency_name=name,
        credit_code=code,
        region_adcode=region,
        level=level,
        status=ca.status,
        status_zh=STATUS_ZH[ca.status],
        reason=ca.reason,
        signed_by=ca.signed_by,
        submitted_at=ca.submitted_at,
        verified_by=ca.verified_by,
        verified_at=ca.verified_at,
        version=ca.version,
    )


def transition(
    session: Session,
    campaign_id: int,
    agency_id: int,
    data: Transition,
    *,
    expected: int,
    principal: Principal,
) -> CampaignAgencyPublic:
    """Move one agency's declaration along 未填报 → 填报中 → 已提交 → 已核实 / 已退回."""
    _campaign(session, campaign_id, principal.scope)
    row = session.execute(
        select(CampaignAgency, Agency.name, Agency.credit_code, Agency.region_adcode, Agency.level)
        .join(Agency, Agency.id == CampaignAgency.agency_id)
        .where(
            CampaignAgency.campaign_id == campaign_id,
            CampaignAgency.agency_id == agency_id,
            visibility.agencies(principal.scope),
        )
        .with_for_update(of=CampaignAgency)
    ).one_or_none()
    if row is None:
        raise NotFound(f"agency {agency_id} not in campaign", message_zh="该单位不在本次清查中")
    ca = row[0]
    roles = TRANSITIONS.get((ca.status, data.status))
    if roles is None:
        raise Conflict(
            f"cannot go from {ca.status} to {data.status}",
            message_zh=f"不能从“{STATUS_ZH[ca.status]}”变为“{STATUS_ZH[data.status]}”",
            details={"from": ca.status, "to": data.status},
        )
    principal.require(*roles)
    officer_only = principal.has_any("agency_officer") and not principal.has_any("admin", "planner")
    if (
        officer_only
        and agency_id not in principal.scope.agencies
        and not principal.scope.unrestricted
    ):
        raise Forbidden("officers act on their own agency only", message_zh="只能提交本单位的填报")
    if data.status == "returned" and not (data.reason and data.reason.strip()):
        raise InvalidInput(
            "a return needs a reason", message_zh="退回须填写原因", details={"field": "reason"}
        )
    check_version("declaration", agency_id, ca.version, expected)
    before = {"status": ca.status, "version": ca.version}
    now = dt.datetime.now(dt.UTC)
    ca.status = data.status
    ca.updated_at = now
    ca.version += 1
    if data.status == "submitted":
        ca.signed_by, ca.submitted_at, ca.reason = principal.username, now, None
    elif data.status == "verified":
        ca.verified_by, ca.verified_at = principal.username, now
    elif data.status == "returned":
        ca.reason = data.reason
        ca.verified_by = ca.verified_at = None
    session.flush()
    audit.record(
        session,
        actor=principal.username,
        action=f"campaign.{data.status}",
        object_type="agency",
        object_id=agency_id,
        before=before | {"campaign_id": campaign_id},
        after={
            "status": ca.status,
            "reason": ca.reason,
            "version": ca.version,
            "campaign_id": campaign_id,
        },
    )
    return _ca_public(ca, row[1], row[2], row[3], row[4])


# ---------------------------------------------------------------- completeness
def completeness(
    session: Session, campaign_id: int, *, scope: Scope, region: int | None = None
) -> list[CompletenessRow]:
    """Per agency: declaration status and what the register holds of it (the table behind
    the completeness view, the Excel list and the map layer)."""
    c = _campaign(session, campaign_id, scope)
    agencies = (
        select(
            Agency.id, Agency.name, Agency.credit_code, Agency.region_adcode, CampaignAgency.status
        )
        .join(CampaignAgency, CampaignAgency.agency_id == Agency.id)
        .where(CampaignAgency.campaign_id == c.id, visibility.agencies(scope))
    )
    if region is not None:
        agencies = agencies.where(regions.within(Agency.region_adcode, region))
    a = agencies.subquery("a")
    # one correlated count per figure: each reads as the sentence in the completeness view
    figures = {
        **_building_figures(a),
        **_floor_figures(a),
        **_room_figures(a),
        "occupants": _per_agency(select(func.count()), LedgerOccupant.agency_id, a),
    }
    stmt = select(
        a.c.id.label("agency_id"),
        a.c.name.label("agency_name"),
        a.c.credit_code,
        a.c.region_adcode,
        a.c.status,
        *(q.label(name) for name, q in figures.items()),
    ).order_by(a.c.region_adcode, a.c.name)
    out = []
    for r in session.execute(stmt).mappings():
        row = CompletenessRow(**r, status_zh=STATUS_ZH[r["status"]])
        row.owes = _owes(row)
        row.score = _score(row)
        out.append(row)
    return out


def _per_agency(count: Select[Any], agency_col: Any, agencies: Subquery) -> ScalarSelect[Any]:
    """``count`` of the rows of one agency, correlated to the outer agency list."""
    return count.where(agency_col == agencies.c.id).correlate(agencies).scalar_subquery()


def _building_figures(a: Subquery) -> dict[str, ScalarSelect[Any]]:
    """Buildings declared, and of them those with a place on the map (footprint or point)."""
    located = (
        select(func.count())
        .select_from(Building)
        .outerjoin(BuildingLedger, BuildingLedger.building_id == Building.id)
        .where(or_(Building.footprint.is_not(None), BuildingLedger.location.is_not(None)))
    )
    return {
        "buildings": _per_agency(select(func.count()), Building.agency_id, a),
        "buildings_located": _per_agency(located, Building.agency_id, a),
    }


def _floor_figures(a: Subquery) -> dict[str, ScalarSelect[Any]]:
    """Floors the ledger's rooms stand on, and of them those with a current plan."""
    floors = select(
        func.count(func.distinct(func.concat(LedgerRoom.building_id, "/", LedgerRoom.level)))
    )
    planned = (
        select(Floor.id)
        .where(
            Floor.building_id == LedgerRoom.building_id,
            Floor.level == LedgerRoom.level,
            Floor.valid_to.is_(None),
        )
        .exists()
    )
    return {
        "floors_declared": _per_agency(floors, LedgerRoom.agency_id, a),
        "floors_with_plans": _per_agency(floors.where(planned), LedgerRoom.agency_id, a),
    }


def _room_figures(a: Subquery) -> dict[str, ScalarSelect[Any]]:
    """Ledger rooms, those drawn on a current plan, and those whose drawn area agrees (账实)."""
    current_room = (
        select(Room.id)
        .join(Floor, and_(Floor.id == Room.floor_id, Floor.valid_to.is_(None)))
        .where(
            Floor.building_id == LedgerRoom.building_id,
            Floor.level == LedgerRoom.level,
            Room.number == LedgerRoom.number,
        )
    )
    s = ledger_settings()
    agree_room = current_room.where(
        func.abs(Room.usable_area_m2 - LedgerRoom.recorded_area_m2)
        <= func.greatest(
            LedgerRoom.recorded_area_m2 * s.area_tolerance_pct / 100, s.area_tolerance_m2
        )
    )
    count = select(func.count())
    return {
        "rooms_declared": _per_agency(count, LedgerRoom.agency_id, a),
        "rooms_with_geometry": _per_agency(
            count.where(current_room.exists()), LedgerRoom.agency_id, a
        ),
        "rooms_agreeing": _per_agency(count.where(agree_room.exists()), LedgerRoom.agency_id, a),
    }


def _owes(r: CompletenessRow) -> list[str]:
    owes = []
    if r.status in ("not_started", "in_progress", "returned"):
        owes.append("提交填报" if r.status != "returned" else "按退回意见修改后重新提交")
    if r.buildings == 0:
        owes.append("房屋台账")
    elif r.buildings_located < r.buildings:
        owes.append(f"{r.buildings - r.buildings_located} 处房屋坐标")
    if r.rooms_declared == 0:
        owes.append("房间台账")
    if r.floors_with_plans < r.floors_declared:
        owes.append(f"{r.floors_declared - r.floors_with_plans} 个楼层平面图")
    if r.rooms_with_geometry < r.rooms_declared:
        owes.append(f"{r.rooms_declared - r.rooms_with_geometry} 个房间图形")
    if r.rooms_agreeing < r.rooms_with_geometry:
        owes.append(f"{r.rooms_with_geometry - r.rooms_agreeing} 个房间账实不符待核")
    return owes


def _score(r: CompletenessRow) -> float:
    """0–1: declaration status and the shares of what the register holds, equally weighted."""
    status = {
        "not_started": 0.0,
        "in_progress": 0.25,
        "returned": 0.25,
        "submitted": 0.75,
        "verified": 1.0,
    }
    parts = [status[r.status]]
    parts.append(r.buildings_located / r.buildings if r.buildings else 0.0)
    parts.append(r.floors_with_plans / r.floors_declared if r.floors_declared else 0.0)
    parts.append(r.rooms_with_geometry / r.rooms_declared if r.rooms_declared else 0.0)
    parts.append(r.rooms_agreeing / r.rooms_with_geometry if r.rooms_with_geometry else 0.0)
    return round(sum(parts) / len(parts), 3)


def completeness_layer(
    session: Session, campaign_id: int, *, scope: Scope, region: int | None = None
) -> dict[str, Any]:
    """GeoJSON: one point per region (at its seat) with the mean completeness of its agencies."""
    rows = completeness(session, campaign_id, scope=scope, region=region)
    by_region: dict[int, list[CompletenessRow]] = {}
    for r in rows:
        by_region.setdefault(r.region_adcode, []).append(r)
    seats = {
        a: (name, lon, lat)
        for a, name, lon, lat in session.execute(
            select(
                Region.adcode, Region.name, func.ST_X(Region.seat), func.ST_Y(Region.seat)
            ).where(Region.adcode.in_(sorted(by_region)))
        )
    }
    features = []
    for adcode, items in sorted(by_region.items()):
        name, lon, lat = seats.get(adcode, (None, None, None))
        score = round(sum(i.score for i in items) / len(items), 3)
        features.append(
            {
                "type": "Feature",
                "id": adcode,
                "geometry": None if lon is None else {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "region_adcode": adcode,
                    "region_name": name,
                    "agencies": len(items),
                    "submitted": sum(i.status in ("submitted", "verified") for i in items),
                    "verified": sum(i.status == "verified" for i in items),
                    "score": score,
                    "colour": completeness_colour(score),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def completeness_colour(score: float) -> str:
    """Red (nothing) through amber to green (complete).

    >>> completeness_colour(0.0), completeness_colour(0.5), completeness_colour(1.0)
    ('#d7191c', '#fdae61', '#1a9641')
    """
    if score >= 0.9:
        return "#1a9641"
    if score >= 0.6:
        return "#a6d96a"
    if score >= 0.3:
        return "#fdae61"
    return "#d7191c"


__all__ += [
    "get_agency",
    "create_agency",
    "list_campaigns",
    "create_campaign",
    "campaign_agencies",
    "transition",
    "completeness",
]
