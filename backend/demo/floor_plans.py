"""Floor plans of the generated buildings: a slab with rooms either side of a corridor.

Every function that takes ``rng`` draws from the generator's one seeded stream; the order
of the draws is part of the demo data (same seed, same province).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# rooms of the floor plans, taken in rotation (basement, ground floor) or drawn (upper floors)
BASEMENT_ROOMS = [
    "equipment.power",
    "equipment.pump",
    "equipment.water_tank",
    "equipment.hvac",
    "ancillary.civil_air_defence",
    "ancillary.bicycle_garage",
    "ancillary.car_garage",
    "ancillary.ebike_garage",
    "equipment.boiler",
    "service.storage",
]
GROUND_ROOMS = [
    "circulation.lobby",
    "service.reception",
    "service.duty",
    "service.mail",
    "ancillary.guard",
    "service.clinic",
    "service.meeting",
    "ancillary.canteen",
    "service.property",
    "service.printing",
]
UPPER_SERVICE_ROOMS = [
    "service.meeting",
    "service.archives",
    "service.storage",
    "service.library",
    "service.network",
    "service.confidential",
    "equipment.telecom",
]

# a room rectangle in a building's local frame: x0, y0, x1, y1, space code
RoomBox = tuple[float, float, float, float, str]
# room codes and widths along one side of a corridor
SidePlan = list[tuple[str, float]]


@dataclass(frozen=True)
class Shape:
    """Plan of one generated building: a slab with rooms either side of a central corridor."""

    module: float  # office bay width
    depth: float  # room depth either side
    corridor: float
    side_rooms: int
    storeys: int
    basement: bool
    wall_out: float = 0.24
    wall_in: float = 0.12

    @property
    def length(self) -> float:
        return self.side_rooms * self.module + 2 * self.module  # plus stairs/toilets bays

    @property
    def width(self) -> float:
        return 2 * self.depth + self.corridor + 2 * self.wall_out + 2 * self.wall_in


def room_boxes(rng: np.random.Generator, shape: Shape, level: int) -> list[RoomBox]:
    """Room rectangles of a floor: the south strip y ∈ [0, depth], the corridor, the north."""
    s = shape
    north_y0 = s.depth + s.corridor + 2 * s.wall_in
    plan_s, plan_n = floor_plan(rng, level, s.storeys, s.module, s.length)
    rooms = side_rooms(0.0, s.depth, plan_s, s.wall_in)
    rooms += side_rooms(north_y0, 2 * s.depth + s.corridor + 2 * s.wall_in, plan_n, s.wall_in)
    # the corridor is one circulation room
    corridor_y = (s.depth + s.wall_in, s.depth + s.wall_in + s.corridor)
    rooms.append((0.0, corridor_y[0], s.length, corridor_y[1], "circulation.corridor"))
    return rooms


def side_rooms(y0: float, y1: float, plan: SidePlan, wall_in: float) -> list[RoomBox]:
    """Rectangles of the rooms of one side, half an inner wall off each neighbour."""
    rooms: list[RoomBox] = []
    x = 0.0
    for code, w in plan:
        rooms.append((x + wall_in / 2, y0, x + w - wall_in / 2, y1, code))
        x += w
    return rooms


def floor_plan(
    rng: np.random.Generator, level: int, storeys: int, module: float, length: float
) -> tuple[SidePlan, SidePlan]:
    """Room codes and widths along the south and north sides of one floor."""
    if level < 0:
        return basement_plan(module, length)
    if level == 1:
        return ground_plan(module, length)
    return upper_plan(rng, level, storeys, module, length)


def basement_plan(module: float, length: float) -> tuple[SidePlan, SidePlan]:
    """Plant rooms, garages and storage of two bays each, in a fixed rotation."""
    south: SidePlan = [("circulation.stairs", module)]
    north: SidePlan = [("service.storage", module)]
    k = 0
    while sum(w for _, w in south) + module * 2 <= length + 1e-9:
        south.append((BASEMENT_ROOMS[k % len(BASEMENT_ROOMS)], module * 2))
        k += 1
    while sum(w for _, w in north) + module * 2 <= length + 1e-9:
        north.append((BASEMENT_ROOMS[k % len(BASEMENT_ROOMS)], module * 2))
        k += 1
    return fill(south, length, "service.storage"), fill(north, length, "service.storage")


def ground_plan(module: float, length: float) -> tuple[SidePlan, SidePlan]:
    """Lobby, reception and services in a fixed rotation; meeting rooms and canteens wide."""
    south: SidePlan = [("circulation.stairs", module), ("circulation.lobby", module * 2)]
    north: SidePlan = [("service.toilet", module), ("circulation.lift", module * 0.8)]
    k = 1
    for side in (south, north):
        while sum(w for _, w in side) + module <= length + 1e-9:
            code = GROUND_ROOMS[k % len(GROUND_ROOMS)]
            wide = code in ("service.meeting", "ancillary.canteen")
            side.append((code, module * (2 if wide else 1)))
            k += 1
    return fill(south, length, "office.staff_office"), fill(north, length, "service.storage")


def upper_plan(
    rng: np.random.Generator, level: int, storeys: int, module: float, length: float
) -> tuple[SidePlan, SidePlan]:
    """Offices to the south; offices, services and the second stairs to the north."""
    top = level == storeys
    # leaders sit on the top floor, and on the floor below it in half of the buildings
    leaders = top or (level == storeys - 1 and rng.random() < 0.5)
    south = leader_offices(rng, module, length) if leaders else staff_offices(rng, module, length)
    north: SidePlan = [("service.toilet", module), ("service.water", module * 0.6)]
    if leaders:
        north.append(("service.meeting", module * 2))
    north_rooms(rng, north, module, length)
    north.append(("circulation.stairs", module))
    if top and rng.random() < 0.5:
        north[-2] = ("equipment.lift_machinery", north[-2][1])
    if rng.random() < 0.03:
        north[1] = ("technical.business", north[1][1])
    return fill(south, length, "office.staff_office"), fill(north, length, "service.storage")


def leader_offices(rng: np.random.Generator, module: float, length: float) -> SidePlan:
    """Stairs, then leader offices of 1.5–3 bays."""
    south: SidePlan = [("circulation.stairs", module)]
    while sum(w for _, w in south) + module * 1.5 <= length + 1e-9:
        south.append(
            ("office.leader_office", module * float(rng.choice([1.5, 2.0, 2.0, 2.5, 3.0])))
        )
    return south


def staff_offices(rng: np.random.Generator, module: float, length: float) -> SidePlan:
    """Stairs, then staff offices of 1–2 bays (mostly one)."""
    south: SidePlan = [("circulation.stairs", module)]
    while sum(w for _, w in south) + module <= length + 1e-9:
        south.append(("office.staff_office", module * float(rng.choice([1.0, 1.0, 1.5, 2.0]))))
    return south


def north_rooms(rng: np.random.Generator, north: SidePlan, module: float, length: float) -> None:
    """Fill the north side, one bay short of the end (the stairs), with offices and services."""
    while sum(w for _, w in north) + module <= length - module + 1e-9:
        if rng.random() < 0.55:
            north.append(("office.staff_office", module))
        else:
            code = str(rng.choice(UPPER_SERVICE_ROOMS))
            north.append((code, module * (2 if code == "service.meeting" else 1)))


def fill(side: SidePlan, length: float, code: str) -> SidePlan:
    """Make the side exactly ``length`` long: trim overflow, pad or widen the last room."""
    while side and sum(w for _, w in side) > length + 1e-9:
        side.pop()
    rest = length - sum(w for _, w in side)
    if rest >= 2.4:
        side.append((code, rest))
    elif rest > 1e-9 and side:
        last_code, last_w = side[-1]
        side[-1] = (last_code, last_w + rest)
    return side
