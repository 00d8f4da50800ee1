"""Scope: which part of the register a caller may see. Every scope predicate lives here.

A scope is a set of region subtrees (by adcode) and/or a set of agencies; admins are
unrestricted. This module owns the one predicate per object type, and every path that
returns an object or a figure derived from objects — lists, by-id reads (also the asyncpg
path), writes, history (``?as_of=``), vector tiles, map aggregates, floor and building
roll-ups, exports, the audit trail and compliance findings — filters with it:

=================  ==========================================================================
object             visible when
=================  ==========================================================================
region             in a scoped subtree, an ancestor of one (navigation), or a scoped
                   agency's region
agency             in a scoped region subtree, or a scoped agency
staffing           its agency is visible
building           in a scoped region, managed by a scoped agency, or housing a room of one
                   (edits and re-surveys of a building and its floors need it seen whole:
                   a scoped region or managing agency — ``buildings_managed``)
floor              its building is seen whole (scoped region or managing agency), or it
                   holds a room of a scoped agency (a building seen through one room
                   shows that room's floors only); room counts and areas on it count
                   only visible rooms
room               allocated to a scoped agency, or in a building of a scoped region
                   (``rooms.region_adcode``)
occupancy          of a scoped agency, or in a visible room
lease              of a scoped agency, on a visible room, or on a building in a scoped
                   region / managed by a scoped agency
building record    maintenance, disposal, title: the building seen whole (its region or
                   managing agency, kept on the record)
space request,     of a scoped agency or of an agency in a scoped region
allocation plan
finding            its object is visible: room → the room; room pair → both rooms;
                   floor → its building in a scoped region or managed by a scoped agency
                   (a floor finding sums every room of the floor, so housing one room is
                   not enough); building (an inspector's manual finding) → the same;
                   agency → the agency; occupancy / lease → that record;
                   person → the office it names (``room_id``) or the main agency.
                   What it names is shown as far as the caller may see it (``Seen``):
                   a hidden room / floor / building is not named nor drawn on, a
                   person's hidden offices are listed as ``{"hidden": true}``
inspection         its organising region is in scope, or it names a scoped agency
check, evidence,   the region or agency they carry (the building's region and the room's
ledger item, 问责  or building's agency; ledger items also the responsible agency)
audit event        its object is visible: register objects, findings, leases, requests,
                   plans, building records, supervision records (inspection, check,
                   evidence, ledger item, 问责) and campaigns; events about other kinds
                   (ledger imports, what-if scenarios, sign-ins) only for admins
history image      the same predicates applied to the row image of that day
campaign           organised in a scoped region, or listing a visible agency
what-if scenario   its creator's scope lies within the caller's (``Scope.covers``)
=================  ==========================================================================

Roll-ups grouped by agency or building name only visible ones (``shown_agency``,
``shown_building``); findings of the others are counted without a name.

Figures (counts, areas, excess m²) are computed only over visible rows, so a list, the
map and the aggregates always agree. An object outside the scope answers exactly like a
missing one (404 ``not_found``), before any validation that depends on it.
Row-level security in PostgreSQL is the second wall; these predicates are the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    and_,
    case,
    cast,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.orm import QueryableAttribute, Session, aliased

from backend.allocation.models import AllocationPlan, SpaceRequest
from backend.db.compliance import ComplianceFinding, Lease
from backend.db.models import (
    Agency,
    AgencyStaffing,
    AuditEvent,
    Building,
    Floor,
    Occupancy,
    Region,
    Room,
)
from backend.lifecycle.models import Disposal, MaintenanceRequest, Title
from backend.stocktake.models import Campaign, CampaignAgency
from backend.supervision.models import (
    AccountabilityRecord,
    Evidence,
    Inspection,
    InspectionCheck,
    Rectification,
)

Column = ColumnElement[Any] | QueryableAttribute[Any]


def adcode_range(adcode: int) -> tuple[int, int]:
    """The adcodes of a region and all regions below it (6-digit codes nest by prefix).

    >>> adcode_range(330000), adcode_range(330100), adcode_range(330106)
    ((330000, 339999), (330100, 330199), (330106, 330106))
    """
    if adcode % 10000 == 0:
        return adcode, adcode + 9999
    if adcode % 100 == 0:
        return adcode, adcode + 99
    return adcode, adcode


def adcode_ranges(adcode: int) -> list[tuple[int, int]]:
    """Every code range of a region's subtree: its 6-digit adcodes and, below a county
    (6-digit) region, the 9-digit township codes (统计用区划代码 prefixes) they head.

    A township's code is its county's adcode × 1000 + 001…999, so the 6-digit range
    [lo, hi] heads the 9-digit range [lo·1000, hi·1000 + 999]; the two never overlap.

    >>> adcode_ranges(330000)
    [(330000, 339999), (330000000, 339999999)]
    >>> adcode_ranges(330106), adcode_ranges(330106001)
    ([(330106, 330106), (330106000, 330106999)], [(330106001, 330106001)])
    """
    if adcode > 999_999:
        return [(adcode, adcode)]
    lo, hi = adcode_range(adcode)
    return [(lo, hi), (lo * 1000, hi * 1000 + 999)]


@dataclass(frozen=True)
class Scope:
    """Region subtrees and agencies a caller may see; ``unrestricted`` sees everything."""

    unrestricted: bool = False
    regions: frozenset[int] = field(default_factory=frozenset)
    agencies: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def everything(cls) -> Scope:
        return cls(unrestricted=True)

    @property
    def key(self) -> str:
        """A short stable text for cache keys.

        >>> Scope.everything().key, Scope(regions=frozenset({330100}), agencies=frozenset({7})).key
        ('*', 'r[330100]a[7]')
        """
        if self.unrestricted:
            return "*"
        return f"r{sorted(self.regions)}a{sorted(self.agencies)}"

    def region_predicate(self, column: Column) -> ColumnElement[bool]:
        """Rows whose region adcode lies in one of the scope's subtrees."""
        if self.unrestricted:
            return true()
        if not self.regions:
            return false()
        return or_(
            *(column.between(lo, hi) for a in sorted(self.regions) for lo, hi in adcode_ranges(a))
        )

    def agency_predicate(self, column: Column) -> ColumnElement[bool]:
        """Rows of one of the scope's agencies."""
        if self.unrestricted:
            return true()
        if not self.agencies:
            return false()
        return column.in_(sorted(self.agencies))

    def predicate(
        self,
        region_column: Column | None,
        agency_column: Column | None,
    ) -> ColumnElement[bool]:
        """Visible if within a scoped region subtree or belonging to a scoped agency."""
        if self.unrestricted:
            return true()
        parts: list[ColumnElement[bool]] = []
        if region_column is not None and self.regions:
            parts.append(self.region_predicate(region_column))
        if agency_column is not None and self.agencies:
            parts.append(self.agency_predicate(agency_column))
        return or_(*parts) if parts else false()

    def covers(self, other: Scope) -> bool:
        """Whether everything ``other`` may see is within this scope (a figure computed
        within ``other`` — a what-if scenario's counts — may be shown to this caller).
        An agency of ``other`` counts as covered only when it is one of this scope's.

        >>> Scope(regions=frozenset({330000})).covers(Scope(regions=frozenset({330106})))
        True
        >>> Scope(regions=frozenset({330100})).covers(Scope.everything())
        False
        >>> Scope(agencies=frozenset({7})).covers(Scope(agencies=frozenset({7, 8})))
        False
        """
        if self.unrestricted:
            return True
        if other.unrestricted:
            return False
        return all(self.allows_region(r) for r in other.regions) and other.agencies <= self.agencies

    def allows_region(self, adcode: int) -> bool:
        return self.unrestricted or any(
            lo <= adcode <= hi for a in self.regions for lo, hi in adcode_ranges(a)
        )


# ---------------------------------------------------------------- per object type
def regions(scope: Scope, adcode: Column = Region.adcode) -> ColumnElement[bool]:
    """Regions: the scoped subtrees, their ancestors (for navigation), scoped agencies' regions."""
    if scope.unrestricted:
        return true()
    parts: list[ColumnElement[bool]] = [scope.region_predicate(adcode)]
    for a in sorted(scope.regions):
        county = a // 1000 if a > 999_999 else a  # a township's line runs through its county
        parts.append(adcode.in_(sorted({county, county - county % 10000, county - county % 100})))
    if scope.agencies:
        parts.append(
            adcode.in_(select(Agency.region_adcode).where(Agency.id.in_(sorted(scope.agencies))))
        )
    return or_(*parts)


def agencies(
    scope: Scope, *, region: Column = Agency.region_adcode, id: Column = Agency.id
) -> ColumnElement[bool]:
    """Agencies in a scoped region subtree, and the scoped agencies."""
    return scope.predicate(region, id)


def in_regions(scope: Scope, region: Column) -> ColumnElement[bool]:
    """Objects that belong to a region as a whole (a stock-take campaign): in a scoped subtree."""
    return scope.region_predicate(region)


def agency_ids(scope: Scope) -> Any:
    """``SELECT id FROM agencies`` the caller may see (for ``IN``)."""
    return select(Agency.id).where(agencies(scope))


def staffing(scope: Scope) -> ColumnElement[bool]:
    """Staffing rows of visible agencies."""
    if scope.unrestricted:
        return true()
    return AgencyStaffing.agency_id.in_(agency_ids(scope))


def buildings_managed(
    scope: Scope, *, region: Column = Building.region_adcode, agency: Column = Building.agency_id
) -> ColumnElement[bool]:
    """Buildings seen whole: in a scoped region or managed by a scoped agency."""
    return scope.predicate(region, agency)


def buildings(
    scope: Scope,
    *,
    id: Column = Building.id,
    region: Column = Building.region_adcode,
    agency: Column = Building.agency_id,
) -> ColumnElement[bool]:
    """Buildings in a scoped region, managed by a scoped agency, or housing a room of one."""
    if scope.unrestricted:
        return true()
    parts = [buildings_managed(scope, region=region, agency=agency)]
    if scope.agencies:
        housing = select(Room.building_id).where(Room.agency_id.in_(sorted(scope.agencies)))
        parts.append(id.in_(housing))
    return or_(*parts)


def live_buildings(status: Column = Building.status) -> ColumnElement[bool]:
    """Buildings of the live register: a disposed building (处置) leaves the lists, maps,
    tiles, search, compliance and vacancy, and stays in history and in its disposal record."""
    return status != "disposed"


def in_live_buildings(building_id: Column) -> ColumnElement[bool]:
    """Floors and rooms (by their building) of the live register (see ``live_buildings``)."""
    return building_id.not_in(select(Building.id).where(Building.status == "disposed"))


def shown_agency(scope: Scope, agency: Column) -> ColumnElement[Any]:
    """``agency`` (an id column) where the caller may see that agency, else NULL: what a
    roll-up grouped by agency may name (a visible room's finding can belong to an agency
    the caller does not see)."""
    if scope.unrestricted:
        return agency  # type: ignore[return-value]
    return case((agency.in_(agency_ids(scope)), agency))


def shown_building(scope: Scope, building: Column) -> ColumnElement[Any]:
    """``building`` where the caller may see that building, else NULL (see ``shown_agency``)."""
    if scope.unrestricted:
        return building  # type: ignore[return-value]
    return case((building.in_(building_ids(scope)), building))


def may_place_building(scope: Scope, region_adcode: int, agency_id: int | None) -> bool:
    """A new building may be placed in a scoped region, or for a scoped agency.

    >>> may_place_building(Scope(regions=frozenset({330100})), 330106, None)
    True
    >>> may_place_building(Scope(agencies=frozenset({7})), 330106, 8)
    False
    """
    return scope.allows_region(region_adcode) or (
        agency_id is not None and (scope.unrestricted or agency_id in scope.agencies)
    )


def building_ids(scope: Scope) -> Any:
    """``SELECT id FROM buildings`` the caller may see (for ``IN``)."""
    return select(Building.id).where(buildings(scope))


def floors(
    scope: Scope, building_id: Column = Floor.building_id, id: Column = Floor.id
) -> ColumnElement[bool]:
    """Floors (every version) of buildings seen whole, and floors holding a room of a scoped
    agency: a building seen only because it houses such a room shows those floors (what
    draws the room in its place), not its other floors."""
    if scope.unrestricted:
        return true()
    parts = [building_id.in_(select(Building.id).where(buildings_managed(scope)))]
    if scope.agencies:
        holding = select(Room.floor_id).where(Room.agency_id.in_(sorted(scope.agencies)))
        parts.append(id.in_(holding))
    return or_(*parts)


def floors_managed(scope: Scope, building_id: Column = Floor.building_id) -> ColumnElement[bool]:
    """Floors of buildings seen whole: what a caller may edit or re-survey (a building seen
    through one of the caller's rooms is another agency's to change)."""
    if scope.unrestricted:
        return true()
    return building_id.in_(select(Building.id).where(buildings_managed(scope)))


def rooms(
    scope: Scope, *, region: Column = Room.region_adcode, agency: Column = Room.agency_id
) -> ColumnElement[bool]:
    """Rooms allocated to a scoped agency, or in a building of a scoped region.

    The building's region is kept on the room (``rooms.region_adcode``), so this is a range
    filter on the rows an index returns, not a look-up of the region's buildings.
    """
    if scope.unrestricted:
        return true()
    parts: list[ColumnElement[bool]] = []
    if scope.agencies:
        parts.append(scope.agency_predicate(agency))
    if scope.regions:
        parts.append(scope.region_predicate(region))
    return or_(*parts) if parts else false()


def room_ids(scope: Scope) -> Any:
    """``SELECT id FROM rooms`` the caller may see (for ``IN``)."""
    return select(Room.id).where(rooms(scope))


def occupancies(
    scope: Scope, *, agency: Column = Occupancy.agency_id, room_id: Column = Occupancy.room_id
) -> ColumnElement[bool]:
    """Occupancies of a scoped agency, or in a visible room."""
    if scope.unrestricted:
        return true()
    return or_(scope.agency_predicate(agency), room_id.in_(room_ids(scope)))


def leases(scope: Scope) -> ColumnElement[bool]:
    """Leases of a scoped agency, of a visible room, or of a building seen whole."""
    if scope.unrestricted:
        return true()
    managed = select(Building.id).where(buildings_managed(scope))
    return or_(
        scope.agency_predicate(Lease.agency_id),
        _visible_room(scope, Lease.room_id),
        Lease.building_id.in_(managed),
    )


def building_records(scope: Scope, model: Any) -> ColumnElement[bool]:
    """Maintenance, disposal and title records: visible with their building seen whole
    (the building's region and managing agency are kept on the record)."""
    return buildings_managed(scope, region=model.region_adcode, agency=model.agency_id)


def space_requests(scope: Scope) -> ColumnElement[bool]:
    """Space requests of a scoped agency or of an agency in a scoped region."""
    return scope.predicate(SpaceRequest.region_adcode, SpaceRequest.agency_id)


def pool_entries(scope: Scope, model: Any) -> ColumnElement[bool]:
    """Public asset pool entries: in a scoped region, or released by a scoped agency."""
    return scope.predicate(model.region_adcode, model.released_from_agency_id)


def allocation_plans(scope: Scope) -> ColumnElement[bool]:
    return scope.predicate(AllocationPlan.region_adcode, AllocationPlan.agency_id)


def _visible_room(scope: Scope, room_id: Any) -> ColumnElement[bool]:
    """The room ``room_id`` (an expression of the outer row) is visible: a look-up by key
    per row, cheaper than collecting every visible room when few rows are tested."""
    r = aliased(Room)
    return (
        select(r.id)
        .where(r.id == room_id, rooms(scope, region=r.region_adcode, agency=r.agency_id))
        .exists()
    )


def findings(scope: Scope, f: Any = None) -> ColumnElement[bool]:
    """Findings whose object the caller may see (``f``: the findings table or an alias with
    its columns; default ``compliance_findings``). See the module's table."""
    if scope.unrestricted:
        return true()
    c = (f if f is not None else ComplianceFinding.__table__).c

    def key_of(kind: str, text_key: Any) -> Any:
        # the object id as a number, only for rows of that kind (never cast another's key)
        return case((c.object_type == kind, cast(text_key, BigInteger)))

    lease_ids = select(Lease.id).where(Lease.id == key_of("lease", c.object_id), leases(scope))
    return or_(
        and_(c.object_type == "room", _visible_room(scope, c.room_id)),
        and_(
            c.object_type == "room_pair",
            _visible_room(scope, c.room_id),
            _visible_room(scope, key_of("room_pair", func.split_part(c.object_id, ":", 2))),
        ),
        and_(
            c.object_type == "floor",
            c.building_id.in_(select(Building.id).where(buildings_managed(scope))),
        ),
        # a whole building (inspectors' manual findings, backend.supervision)
        and_(
            c.object_type == "building",
            c.building_id.in_(select(Building.id).where(buildings_managed(scope))),
        ),
        and_(c.object_type == "agency", c.agency_id.in_(agency_ids(scope))),
        # an occupancy's agency and room never change (no API edits them) and the finding
        # carries both: the occupancy predicate on them, without a look-up per finding
        and_(
            c.object_type.in_(("occupancy", "person")),
            or_(scope.agency_predicate(c.agency_id), _visible_room(scope, c.room_id)),
        ),
        and_(c.object_type == "lease", lease_ids.exists()),
    )


def finding_placed(scope: Scope, f: Any = None) -> ColumnElement[bool]:
    """A visible finding may be drawn where the caller may see its room and building (a
    person's finding seen through the main agency may sit on an office the caller does
    not see; an occupancy's finding seen through its agency, on another agency's room)."""
    if scope.unrestricted:
        return true()
    c = (f if f is not None else ComplianceFinding.__table__).c
    return and_(
        or_(c.room_id.is_(None), _visible_room(scope, c.room_id)),
        or_(c.building_id.is_(None), c.building_id.in_(building_ids(scope))),
    )


@dataclass(frozen=True)
class Seen:
    """Which of the rooms, floors and buildings a page of findings names the caller may
    see (``None``: all of them — an unrestricted caller)."""

    rooms: frozenset[int] | None = None
    floors: frozenset[int] | None = None
    buildings: frozenset[int] | None = None

    @staticmethod
    def _ok(known: frozenset[int] | None, key: Any) -> bool:
        return key is None or known is None or int(key) in known

    def redact(self, d: dict[str, Any]) -> dict[str, Any]:
        """The public form of a finding (``compliance.finding_dict``) as the caller may see
        it: a room, floor or building the caller may not see is not named, and a person's
        list of offices shows hidden offices as ``{"hidden": true}`` (the count stays)."""
        out = dict(d)
        for name, known in (
            ("room_id", self.rooms),
            ("floor_id", self.floors),
            ("building_id", self.buildings),
        ):
            if not self._ok(known, out.get(name)):
                out[name] = None
        details = out.get("details")
        if isinstance(details, dict) and self.rooms is not None:
            details = dict(details)
            if not self._ok(self.rooms, details.get("main_room_id")):
                details["main_room_id"] = None
            if isinstance(details.get("offices"), list):
                details["offices"] = [
                    o if self._ok(self.rooms, o.get("room_id")) else {"hidden": True}
                    for o in details["offices"]
                ]
            out["details"] = details
        return out


def _finding_rooms(d: dict[str, Any]) -> set[int]:
    raw = d.get("details")
    details: dict[str, Any] = raw if isinstance(raw, dict) else {}
    keys = [d.get("room_id"), details.get("main_room_id")]
    keys += [o.get("room_id") for o in details.get("offices") or [] if isinstance(o, dict)]
    return {int(k) for k in keys if k is not None}


def seen_for(session: Session, scope: Scope, findings: list[dict[str, Any]]) -> Seen:
    """What of the objects ``findings`` (public forms) name the caller may see, in three
    look-ups by key."""
    if scope.unrestricted:
        return Seen()
    room_keys: set[int] = set().union(*(_finding_rooms(d) for d in findings))
    floor_keys = {int(d["floor_id"]) for d in findings if d.get("floor_id") is not None}
    building_keys = {int(d["building_id"]) for d in findings if d.get("building_id") is not None}

    def visible(where: ColumnElement[bool], keys: set[int], key: Any) -> frozenset[int]:
        if not keys:
            return frozenset()
        stmt = select(key).where(key.in_(sorted(keys)), where)
        return frozenset(int(x) for x in session.scalars(stmt))

    return Seen(
        rooms=visible(rooms(scope), room_keys, Room.id),
        floors=visible(floors(scope), floor_keys, Floor.id),
        buildings=visible(buildings(scope), building_keys, Building.id),
    )


def findings_as_seen(
    session: Session, scope: Scope, findings: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``Seen.redact`` over a page of findings (public forms)."""
    if scope.unrestricted:
        return findings
    seen = seen_for(session, scope, findings)
    return [seen.redact(d) for d in findings]


# ---------------------------------------------------------------- supervision
def supervised(
    scope: Scope, *, region: Column, agencies: tuple[Column, ...]
) -> ColumnElement[bool]:
    """Supervision rows (checks, evidence, ledger items, 问责; ``backend.supervision``) by the
    region and agencies they carry: in a scoped region subtree, or naming a scoped agency."""
    if scope.unrestricted:
        return true()
    parts: list[ColumnElement[bool]] = []
    if scope.regions:
        parts.append(scope.region_predicate(region))
    if scope.agencies:
        parts += [scope.agency_predicate(a) for a in agencies]
    return or_(*parts) if parts else false()


def inspections(scope: Scope, *, region: Column, agencies: Column) -> ColumnElement[bool]:
    """Inspections: the organising region in a scoped subtree, or a scoped agency among the
    inspection's agencies (``agencies``: an int[] column)."""
    if scope.unrestricted:
        return true()
    parts: list[ColumnElement[bool]] = []
    if scope.regions:
        parts.append(scope.region_predicate(region))
    if scope.agencies:
        parts.append(agencies.overlap(sorted(scope.agencies)))
    return or_(*parts) if parts else false()


def inspection_rows(scope: Scope) -> ColumnElement[bool]:
    """Inspections (the table): see ``inspections``."""
    return inspections(scope, region=Inspection.region_adcode, agencies=Inspection.scope_agencies)


def checks(scope: Scope) -> ColumnElement[bool]:
    """On-site checks: the building's region, or the room's or building's agency."""
    return supervised(
        scope, region=InspectionCheck.region_adcode, agencies=(InspectionCheck.agency_id,)
    )


def evidence(scope: Scope) -> ColumnElement[bool]:
    return supervised(scope, region=Evidence.region_adcode, agencies=(Evidence.agency_id,))


def rectifications(scope: Scope) -> ColumnElement[bool]:
    """Ledger items: the finding's region or agency, or the agency that must rectify."""
    return supervised(
        scope,
        region=Rectification.region_adcode,
        agencies=(Rectification.agency_id, Rectification.responsible_agency_id),
    )


def accountability(scope: Scope) -> ColumnElement[bool]:
    return supervised(
        scope, region=AccountabilityRecord.region_adcode, agencies=(AccountabilityRecord.agency_id,)
    )


def campaigns(scope: Scope) -> ColumnElement[bool]:
    """Stock-take campaigns: organised in a scoped region subtree, or listing a visible
    agency (``backend.stocktake``)."""
    if scope.unrestricted:
        return true()
    own = select(CampaignAgency.campaign_id).join(Agency, Agency.id == CampaignAgency.agency_id)
    return or_(
        in_regions(scope, Campaign.region_adcode), Campaign.id.in_(own.where(agencies(scope)))
    )


def audit_events(scope: Scope) -> ColumnElement[bool]:
    """Events about objects within ``scope`` (unrestricted: every event)."""
    if scope.unrestricted:
        return true()

    def ids(stmt: Any) -> Any:
        return select(cast(stmt.subquery().c[0], String))

    kinds: dict[str, Any] = {
        "building": ids(building_ids(scope)),
        "floor": ids(select(Floor.id).where(floors(scope))),
        "room": ids(room_ids(scope)),
        "agency": ids(agency_ids(scope)),
        "occupancy": ids(select(Occupancy.id).where(occupancies(scope))),
        "lease": ids(select(Lease.id).where(leases(scope))),
        "compliance_finding": ids(select(ComplianceFinding.id).where(findings(scope))),
        "space_request": ids(select(SpaceRequest.id).where(space_requests(scope))),
        "allocation_plan": ids(select(AllocationPlan.id).where(allocation_plans(scope))),
        "maintenance": ids(
            select(MaintenanceRequest.id).where(building_records(scope, MaintenanceRequest))
        ),
        "disposal": ids(select(Disposal.id).where(building_records(scope, Disposal))),
        "title": ids(select(Title.id).where(building_records(scope, Title))),
        # supervision and stock-take records (backend.supervision, backend.stocktake)
        "inspection": ids(select(Inspection.id).where(inspection_rows(scope))),
        "inspection_check": ids(select(InspectionCheck.id).where(checks(scope))),
        "evidence": ids(select(Evidence.id).where(evidence(scope))),
        "rectification": ids(select(Rectification.id).where(rectifications(scope))),
        "accountability": ids(select(AccountabilityRecord.id).where(accountability(scope))),
        "campaign": ids(select(Campaign.id).where(campaigns(scope))),
    }
    return or_(
        *(
            and_(AuditEvent.object_type == kind, AuditEvent.object_id.in_(stmt))
            for kind, stmt in kinds.items()
        )
    )


__all__ = [
    "Scope",
    "adcode_range",
    "adcode_ranges",
    "agencies",
    "agency_ids",
    "allocation_plans",
    "in_regions",
    "audit_events",
    "building_ids",
    "building_records",
    "buildings",
    "buildings_managed",
    "accountability",
    "campaigns",
    "checks",
    "evidence",
    "inspection_rows",
    "inspections",
    "rectifications",
    "supervised",
    "finding_placed",
    "findings",
    "findings_as_seen",
    "Seen",
    "seen_for",
    "floors",
    "floors_managed",
    "leases",
    "may_place_building",
    "shown_agency",
    "shown_building",
    "occupancies",
    "pool_entries",
    "regions",
    "room_ids",
    "rooms",
    "space_requests",
    "staffing",
]
