"""Province-wide matching as an assignment, against the greedy baseline (no database)."""

from __future__ import annotations

from backend.allocation import schemas
from backend.allocation.matching import Fit, assignment_round, greedy_round, solve


def _fit(area: float, km: float, rooms: list[int]) -> Fit:
    candidate = schemas.Candidate(
        rank=1,
        route="transfer",
        route_zh="调剂",
        building_id=None,
        building_name=None,
        floors=[],
        contiguity="one_floor",
        distance_km=km,
        area_m2=area,
        entitled_m2=area,
        people_housed=1,
        people_needed=1,
        moves=0,
        assignments=[schemas.Assignment(room_id=r, rank_code="x") for r in rooms],
        reasons=[],
        reasons_en=[],
    )
    return Fit(area, km, candidate)


def test_the_assignment_places_more_idle_area_than_greedy() -> None:
    """Request 1 fits buildings A and B and likes A best (more area); request 2 fits only A.
    Greedy gives A to request 1 and leaves request 2 unhoused; the assignment gives B to
    request 1 and A to request 2 — both housed, more idle area back in use."""
    table = {
        (1, 100): _fit(30.0, 1.0, [1]),
        (1, 200): _fit(25.0, 5.0, [2]),
        (2, 100): _fit(28.0, 2.0, [1]),
    }

    def fit(r: int, b: int, taken: frozenset[int]) -> Fit | None:
        f = table.get((r, b))
        if f is None or taken & {a.room_id for a in f.candidate.assignments}:
            return None
        return f

    best, _ = solve([1, 2], [100, 200], fit)
    greedy, _ = solve([1, 2], [100, 200], fit, round_fn=greedy_round)
    assert sorted((r, b) for r, b, _f in best) == [(1, 200), (2, 100)]
    assert [(r, b) for r, b, _f in greedy] == [(1, 100)]
    assert sum(f.area_m2 for *_x, f in best) == 53.0 > sum(f.area_m2 for *_x, f in greedy) == 30.0


def test_infeasible_pairs_are_never_matched_and_rounds_reuse_a_building() -> None:
    assert assignment_round([1], [100], {(1, 100): None}) == []
    # one building with two rooms serves two requests in two rounds
    table = {(1, 100): [1], (2, 100): [2]}

    def fit(r: int, b: int, taken: frozenset[int]) -> Fit | None:
        rooms = [x for x in table[(r, b)] if x not in taken]
        return _fit(20.0, 0.0, rooms) if rooms else None

    matched, rounds = solve([1, 2], [100], fit)
    assert sorted(r for r, _b, _f in matched) == [1, 2] and rounds == 2
