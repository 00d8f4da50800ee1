"""Province-wide matching: every open request against all vacant space at once.

One round is an assignment problem on a cost matrix requests × buildings with vacant space
(scipy.optimize.linear_sum_assignment): a pair is feasible when the building alone meets
the request in full (调剂, never over standard); its cost puts back as much idle area as
possible and prefers nearer buildings. A building houses one request per round; the rooms
taken leave the pool of vacant space and the unmatched requests go into the next round,
so a building with room for several requests serves them in turn. The greedy baseline
(requests one by one, each its best remaining building) is kept for comparison.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend import timekeeping
from backend.accounts.access import Principal, roles_for
from backend.allocation import schemas
from backend.allocation import service as allocation
from backend.allocation.models import SpaceRequest
from backend.db.models import Agency, Building, Region
from backend.services import scope as scopes
from backend.services.errors import InvalidInput
from backend.services.scope import Scope

MAX_ROUNDS = 10
MAX_NEAR = 50  # buildings tried per request (the nearest in its region)
INFEASIBLE = 1e12
# cost of a pair: −(area put back) × AREA_WEIGHT + km — area first, distance breaks ties
AREA_WEIGHT = 1000.0


@dataclass(frozen=True)
class Fit:
    """What one building offers one request (None when it cannot meet it in full)."""

    area_m2: float
    distance_km: float | None
    candidate: schemas.Candidate


FitFn = Callable[[int, int, frozenset[int]], Fit | None]


def cost(fit: Fit | None) -> float:
    if fit is None:
        return INFEASIBLE
    return -fit.area_m2 * AREA_WEIGHT + (fit.distance_km or 0.0)


def assignment_round(
    requests: Sequence[int], buildings: Sequence[int], fit: Mapping[tuple[int, int], Fit | None]
) -> list[tuple[int, int]]:
    """The optimal pairs of one round (linear_sum_assignment on the cost matrix)."""
    if not requests or not buildings:
        return []
    matrix = np.full((len(requests), len(buildings)), INFEASIBLE)
    for i, r in enumerate(requests):
        for j, b in enumerate(buildings):
            matrix[i, j] = cost(fit.get((r, b)))
    rows, cols = linear_sum_assignment(matrix)
    return [
        (requests[i], buildings[j])
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True)
        if matrix[i, j] < INFEASIBLE
    ]


def greedy_round(
    requests: Sequence[int], buildings: Sequence[int], fit: Mapping[tuple[int, int], Fit | None]
) -> list[tuple[int, int]]:
    """The baseline: requests in order, each takes its cheapest remaining building."""
    free = list(buildings)
    out: list[tuple[int, int]] = []
    for r in requests:
        options = [(cost(fit.get((r, b))), b) for b in free]
        options = [o for o in options if o[0] < INFEASIBLE]
        if options:
            _c, b = min(options)
            free.remove(b)
            out.append((r, b))
    return out


RoundFn = Callable[
    [Sequence[int], Sequence[int], Mapping[tuple[int, int], Fit | None]], list[tuple[int, int]]
]


def solve(
    requests: Sequence[int],
    buildings: Sequence[int],
    fit_of: FitFn,
    *,
    shortlist: Mapping[int, Sequence[int]] | None = None,
    round_fn: RoundFn = assignment_round,
    rounds: int = MAX_ROUNDS,
    initial: Mapping[tuple[int, int], Fit | None] | None = None,
) -> tuple[list[tuple[int, int, Fit]], int]:
    """Rounds of ``round_fn`` until nothing more is matched; ``fit_of(request, building,
    taken_rooms)`` evaluates a pair against the rooms not yet taken. ``shortlist``: the
    buildings worth trying per request (default: all). ``initial``: the pairs already
    evaluated with nothing taken (``first_fits``). A pair is evaluated again only when its
    building lost rooms in the previous round; the cost matrix has a column only for
    buildings that fit some pending request."""
    taken: set[int] = set()
    pending = list(requests)
    matched: list[tuple[int, int, Fit]] = []
    cache: dict[tuple[int, int], Fit | None] = dict(initial or {})
    dirty: set[int] = set() if initial is not None else set(buildings)
    done = 0
    for _ in range(rounds):
        frozen = frozenset(taken)
        fits: dict[tuple[int, int], Fit | None] = {}
        for r in pending:
            for b in shortlist.get(r, ()) if shortlist is not None else buildings:
                if b in dirty or (r, b) not in cache:
                    cache[(r, b)] = fit_of(r, b, frozen)
                fits[(r, b)] = cache[(r, b)]
        columns = sorted({b for (_r, b), f in fits.items() if f is not None})
        pairs = round_fn(pending, columns, fits)
        if not pairs:
            break
        done += 1
        dirty = set()
        for r, b in pairs:
            f = fits[(r, b)]
            assert f is not None
            matched.append((r, b, f))
            taken |= {a.room_id for a in f.candidate.assignments}
            pending.remove(r)
            dirty.add(b)
    return matched, done


def _fit_function(
    requests: Mapping[int, SpaceRequest],
    slots: Mapping[int, list[Any]],
    by_building: Mapping[int, list[Any]],
    km: Mapping[tuple[int, int], float | None],
    room_m2: Mapping[int, float | None],
) -> FitFn:
    def fit(request_id: int, building_id: int, taken: frozenset[int]) -> Fit | None:
        request = requests[request_id]
        rooms = [r for r in by_building[building_id] if r.room_id not in taken]
        if request.preferred_region_adcode is not None:
            lo, hi = scopes.adcode_range(request.preferred_region_adcode)
            rooms = [r for r in rooms if lo <= r.region_adcode <= hi]
        if not rooms:
            return None
        c = allocation._building_candidate(
            request, slots[request_id], rooms, room_m2.get(request_id)
        )
        if c is None or c.people_housed < c.people_needed or c.rooms_matched < c.rooms_needed:
            return None
        distance = km.get((request_id, building_id))
        c.distance_km = None if distance is None else round(distance, 3)
        return Fit(c.area_m2, c.distance_km, c)

    return fit


def _distances(
    session: Session, requests: Mapping[int, SpaceRequest], buildings: Sequence[int]
) -> dict[tuple[int, int], float | None]:
    """Great-circle km from where each request wants to be (the named building, else its
    region's seat) to each building, in one vectorised step."""
    if not requests or not buildings:
        return {}
    point = func.ST_PointOnSurface(Building.footprint)
    at = {
        b: (x, y)
        for b, x, y in session.execute(
            select(Building.id, func.ST_X(point), func.ST_Y(point)).where(
                Building.id.in_(list(buildings))
            )
        )
    }
    near_ids = {r.near_building_id for r in requests.values() if r.near_building_id}
    near = {
        b: (x, y)
        for b, x, y in session.execute(
            select(Building.id, func.ST_X(point), func.ST_Y(point)).where(
                Building.id.in_(list(near_ids))
            )
        )
    }
    seats = {
        a: (x, y)
        for a, x, y in session.execute(
            select(Region.adcode, func.ST_X(Region.seat), func.ST_Y(Region.seat)).where(
                Region.adcode.in_({r.region_adcode for r in requests.values()})
            )
        )
    }
    lon_b = np.radians([at[b][0] for b in buildings])
    lat_b = np.radians([at[b][1] for b in buildings])
    out: dict[tuple[int, int], float | None] = {}
    for rid, r in requests.items():
        origin = near.get(r.near_building_id or 0) or seats.get(r.region_adcode)
        if origin is None or origin[0] is None:
            continue
        lon, lat = np.radians(origin[0]), np.radians(origin[1])
        h = (
            np.sin((lat_b - lat) / 2) ** 2
            + np.cos(lat) * np.cos(lat_b) * np.sin((lon_b - lon) / 2) ** 2
        )
        d = 2 * 6371.0088 * np.arcsin(np.sqrt(h))
        for b, v in zip(buildings, d.tolist(), strict=True):
            out[(rid, b)] = float(v)
    return out


def _shortlist(
    requests: Mapping[int, SpaceRequest],
    by_building: Mapping[int, list[Any]],
    km: Mapping[tuple[int, int], float | None],
) -> dict[int, list[int]]:
    """Per request, the MAX_NEAR nearest buildings with vacant space in its preferred region
    (else its city): the pairs worth evaluating."""
    region_of = {b: rooms[0].region_adcode for b, rooms in by_building.items()}
    out: dict[int, list[int]] = {}
    for rid, r in requests.items():
        area = r.preferred_region_adcode or (r.region_adcode - r.region_adcode % 100)
        lo, hi = scopes.adcode_range(area)
        inside = [b for b, region in region_of.items() if lo <= region <= hi]
        inside.sort(key=lambda b: km.get((rid, b)) or 0.0)
        out[rid] = inside[:MAX_NEAR]
    return out


def first_fits(
    requests: Sequence[int], shortlist: Mapping[int, Sequence[int]], fit_of: FitFn
) -> dict[tuple[int, int], Fit | None]:
    """Every shortlisted pair evaluated with nothing taken: the first round's cost matrix
    (shared by our rounds, the greedy baseline and a single assignment)."""
    nothing: frozenset[int] = frozenset()
    return {(r, b): fit_of(r, b, nothing) for r in requests for b in shortlist.get(r, ())}


@dataclass
class Problem:
    """All open requests in scope against all vacant space in scope, ready to solve."""

    requests: dict[int, SpaceRequest]
    considered: int  # requests read (some may lack a configured standard)
    not_configured: list[int]
    vacant: list[Any]
    buildings: list[int]
    fit: FitFn
    shortlist: dict[int, list[int]]
    fits: dict[tuple[int, int], Fit | None]


def _open_requests(
    session: Session, data: schemas.MatchingCreate, scope: Scope
) -> list[tuple[SpaceRequest, str]]:
    """Submitted requests in scope (and in ``data.region`` / among ``data.request_ids``)."""
    where = [allocation.request_visible(scope), SpaceRequest.status == "submitted"]
    if data.region is not None:
        where.append(SpaceRequest.region_adcode.between(*scopes.adcode_range(data.region)))
    if data.request_ids:
        where.append(SpaceRequest.id.in_(data.request_ids))
    rows = session.execute(
        select(SpaceRequest, Agency.level)
        .join(Agency, Agency.id == SpaceRequest.agency_id)
        .where(*where)
        .order_by(SpaceRequest.id)
    ).all()
    return [(r, level) for r, level in rows]


def _people(
    rows: Sequence[tuple[SpaceRequest, str]], allowances: dict[tuple[str, str], float]
) -> tuple[dict[int, SpaceRequest], dict[int, list[Any]], list[int]]:
    """The people of each request with their allowances; requests naming a rank no
    standard configures are set aside."""
    requests: dict[int, SpaceRequest] = {}
    slots: dict[int, list[Any]] = {}
    skipped: list[int] = []
    for request, level in rows:
        try:
            slots[request.id] = allocation._slots(request, level, allowances)
        except InvalidInput:
            skipped.append(request.id)
            continue
        requests[request.id] = request
    return requests, slots, skipped


def problem(
    session: Session, data: schemas.MatchingCreate, *, scope: Scope, day: dt.date
) -> Problem:
    """Read the requests and the vacant space (not the rooms the requests give back),
    measure distances, shortlist the nearest buildings and evaluate the first round."""
    rows = _open_requests(session, data, scope)
    _version, allowances = allocation._allowances(session, day)
    requests, slots, skipped = _people(rows, allowances)
    released = {rid for r in requests.values() for rid in (r.releases or [])}
    vacant = [
        v
        for v in allocation.vacant_office_rooms(
            session,
            scope=scope,
            day=day,
            region=data.region,
            near=None,
            subcategories=sorted({n["subcategory"] for r in requests.values() for n in r.rooms}),
        )
        if v.room_id not in released
    ]
    by_building: dict[int, list[Any]] = defaultdict(list)
    for v in vacant:
        by_building[v.building_id].append(v)
    buildings = sorted(by_building)
    km = _distances(session, requests, buildings)
    room_m2 = allocation.headroom(session, list(requests.values()), allowances)
    fit = _fit_function(requests, slots, by_building, km, room_m2)
    near = _shortlist(requests, by_building, km)
    return Problem(
        requests=requests,
        considered=len(rows),
        not_configured=skipped,
        vacant=vacant,
        buildings=buildings,
        fit=fit,
        shortlist=near,
        fits=first_fits(list(requests), near, fit),
    )


def _approve(
    session: Session, matched: Sequence[tuple[int, int, Fit]], principal: Principal
) -> dict[int, int]:
    """The matched candidates become approved transfer plans: request → plan."""
    return {
        r: allocation.approve_plan(
            session,
            schemas.PlanCreate(
                request_id=r,
                route="transfer",
                assignments=f.candidate.assignments,
                note="province-wide matching",
            ),
            principal=principal,
        )
        for r, _b, f in matched
    }


def _placed(matched: Sequence[tuple[int, int, Fit]]) -> float:
    return round(sum(f.area_m2 for _r, _b, f in matched), 2)


def _answer(
    p: Problem,
    matched: Sequence[tuple[int, int, Fit]],
    rounds: int,
    greedy: Sequence[tuple[int, int, Fit]],
    plans: Mapping[int, int],
) -> schemas.Matching:
    matched_ids = {r for r, _b, _f in matched}
    return schemas.Matching(
        method="scipy.optimize.linear_sum_assignment",
        requests=p.considered,
        buildings=len(p.buildings),
        vacant_rooms=len(p.vacant),
        vacant_area_m2=round(sum(v.area for v in p.vacant), 2),
        rounds=rounds,
        matched=[
            schemas.MatchedRequest(
                request_id=r,
                agency_id=p.requests[r].agency_id,
                building_id=b,
                building_name=f.candidate.building_name,
                area_m2=f.area_m2,
                distance_km=f.distance_km,
                people_housed=f.candidate.people_housed,
                rooms_matched=f.candidate.rooms_matched,
                assignments=f.candidate.assignments,
                plan_id=plans.get(r),
            )
            for r, b, f in matched
        ],
        unmatched=[r for r in p.requests if r not in matched_ids],
        not_configured=p.not_configured,
        idle_area_placed_m2=_placed(matched),
        greedy_idle_area_placed_m2=_placed(greedy),
        greedy_matched=len(greedy),
    )


def match(
    session: Session,
    data: schemas.MatchingCreate,
    *,
    principal: Principal,
    day: dt.date | None = None,
) -> schemas.Matching:
    """All open requests in scope (and region) against all vacant space in scope, as an
    assignment; with ``approve`` the matched candidates become approved plans."""
    principal.require(*roles_for("allocation.match"))
    p = problem(session, data, scope=principal.scope, day=day or timekeeping.today())
    ids = list(p.requests)
    matched, rounds = solve(ids, p.buildings, p.fit, shortlist=p.shortlist, initial=p.fits)
    greedy, _g = solve(
        ids, p.buildings, p.fit, shortlist=p.shortlist, round_fn=greedy_round, initial=p.fits
    )
    plans = _approve(session, matched, principal) if data.approve else {}
    return _answer(p, matched, rounds, greedy, plans)
