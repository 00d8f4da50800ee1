"""Request and answer shapes of reallocation."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FORBID = ConfigDict(extra="forbid", str_strip_whitespace=True)
Route = Literal["transfer", "swap", "rent", "build"]


class OfficeNeed(BaseModel):
    """Offices for ``count`` people of one rank (one office each, within the allowance)."""

    model_config = FORBID
    rank_code: str = Field(min_length=1, max_length=40)
    count: int = Field(ge=1, le=500)
    post_title: str | None = Field(default=None, max_length=120)


class RoomNeed(BaseModel):
    """Other rooms by subcategory (meeting, archives …) with the area wanted per room."""

    model_config = FORBID
    subcategory: str = Field(min_length=1, max_length=40)
    count: int = Field(ge=1, le=100)
    area_m2: float = Field(gt=0, le=10_000)


class SpaceRequestCreate(BaseModel):
    model_config = FORBID
    agency_id: int = Field(ge=1, le=2**31 - 1)
    offices: list[OfficeNeed] = Field(default_factory=list, max_length=50)
    rooms: list[RoomNeed] = Field(default_factory=list, max_length=50)
    releases: list[int] = Field(
        default_factory=list,
        max_length=200,
        description="rooms of the agency it gives back once housed (to the pool when idle)",
    )
    preferred_region_adcode: int | None = Field(default=None, ge=100000, le=999999)
    near_building_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    needed_by: dt.date | None = None
    reason: str | None = Field(default=None, max_length=2000)


class SpaceRequestPublic(BaseModel):
    id: int
    agency_id: int
    agency_name: str
    status: str
    offices: list[OfficeNeed]
    rooms: list[RoomNeed]
    releases: list[int]
    preferred_region_adcode: int | None
    near_building_id: int | None
    needed_by: dt.date | None
    reason: str | None
    created_by: str
    version: int


class EntitlementRow(BaseModel):
    """One rank of an agency: staffing against the standard's allowance."""

    rank_code: str
    rank_zh: str | None
    quota: int
    headcount: int
    allowance_m2: float | None = Field(description="m² per person; None: not configured")
    entitled_m2: float | None = Field(description="quota × allowance")


class Entitlement(BaseModel):
    """应配面积 vs 现有面积: what the standard allows the agency and what it holds."""

    agency_id: int
    agency_name: str
    level: str
    as_of: dt.date
    standard_version: str | None
    ranks: list[EntitlementRow]
    entitled_office_m2: float | None
    approved_office_m2: float | None = Field(description="核定面积, where approved")
    held_office_m2: float
    held_office_rooms: int
    shortfall_m2: float | None = Field(description="entitled − held (positive: short of space)")
    not_configured: list[str] = Field(description="ranks whose allowance no standard sets")


class Assignment(BaseModel):
    """A room for a person of a rank (an office) or for a room need (by subcategory)."""

    model_config = FORBID
    room_id: int = Field(ge=1, le=2**62)
    rank_code: str | None = Field(default=None, min_length=1, max_length=40)
    post_title: str | None = Field(default=None, max_length=120)
    subcategory: str | None = Field(default=None, min_length=1, max_length=40)

    @model_validator(mode="after")
    def _one_kind(self) -> Assignment:
        if (self.rank_code is None) == (self.subcategory is None):
            raise ValueError("an assignment names either rank_code (office) or subcategory")
        return self


class Rehousing(BaseModel):
    """置换: a person of the other agency moves into a room the requester gives back."""

    occupancy_id: int
    agency_id: int
    rank_code: str
    from_room_id: int
    to_room_id: int


class Candidate(BaseModel):
    """One way to meet a request, with the reasons for its rank."""

    rank: int
    route: Route
    route_zh: str
    building_id: int | None
    building_name: str | None
    floors: list[int] = Field(description="floor levels the rooms are on")
    contiguity: Literal["one_floor", "adjacent_floors", "several_floors", "none"]
    distance_km: float | None
    area_m2: float = Field(description="usable m² of the proposed rooms (or to rent / build)")
    entitled_m2: float | None = Field(description="the allowances of the people housed")
    people_housed: int
    people_needed: int
    rooms_matched: int = Field(default=0, description="other rooms found (by category)")
    rooms_needed: int = 0
    moves: int = Field(description="agencies whose space changes hands (0: pool or own idle)")
    assignments: list[Assignment]
    rehousing: list[Rehousing] = Field(
        default_factory=list, description="swap: the other agency's people and their new rooms"
    )
    reasons: list[str] = Field(description="why it ranks here (Chinese)")
    reasons_en: list[str]


class Candidates(BaseModel):
    request_id: int
    people_needed: int
    rooms_needed: int = 0
    entitled_m2: float | None
    candidates: list[Candidate]


class PlanCreate(BaseModel):
    model_config = FORBID
    request_id: int = Field(ge=1, le=2**62)
    route: Route
    assignments: list[Assignment] = Field(default_factory=list, max_length=1000)
    area_m2: float | None = Field(default=None, ge=0, le=10_000_000, description="rent/build")
    note: str | None = Field(default=None, max_length=2000)


class PlanPublic(BaseModel):
    id: int
    request_id: int
    agency_id: int
    route: Route
    status: str
    assignments: list[Assignment]
    releases: list[int]
    rehousing: list[Rehousing] = Field(
        description="置换: the other agency's people who move, as far as the caller may see them"
    )
    people_rehoused_hidden: int = Field(
        default=0, description="people of the other agency who move, not shown to this caller"
    )
    area_m2: float
    note: str | None
    approved_by: str
    executed_by: str | None
    executed_at: dt.datetime | None
    version: int


class Execution(BaseModel):
    plan: PlanPublic
    occupancies_created: int
    rooms_reallocated: int
    rooms_released_to_pool: int = 0
    people_rehoused: int = 0
    idle_findings_closed: int


class PoolRelease(BaseModel):
    """A planner releases an idle room to the public asset pool (公物仓)."""

    model_config = FORBID
    room_id: int = Field(ge=1, le=2**62)
    note: str | None = Field(default=None, max_length=2000)


class PoolEntryPublic(BaseModel):
    id: int
    room_id: int
    building_id: int
    building_name: str
    subcategory: str | None
    usable_area_m2: float
    region_adcode: int
    released_from_agency_id: int | None
    released_on: dt.date
    taken_on: dt.date | None
    plan_id: int | None
    note: str | None


class MatchingCreate(BaseModel):
    """Province-wide matching: all open requests (optionally of a region or a list)."""

    model_config = FORBID
    region: int | None = Field(default=None, ge=100000, le=999999)
    request_ids: list[int] = Field(default_factory=list, max_length=5000)
    approve: bool = Field(default=False, description="turn the matches into approved plans")


class MatchedRequest(BaseModel):
    request_id: int
    agency_id: int
    building_id: int
    building_name: str | None
    area_m2: float
    distance_km: float | None
    people_housed: int
    rooms_matched: int
    assignments: list[Assignment]
    plan_id: int | None


class Matching(BaseModel):
    method: str
    requests: int
    buildings: int = Field(description="buildings with vacant space in scope")
    vacant_rooms: int
    vacant_area_m2: float
    rounds: int = Field(description="assignment rounds (a building serves one request each)")
    matched: list[MatchedRequest]
    unmatched: list[int]
    not_configured: list[int] = Field(description="requests with a rank no standard sets")
    idle_area_placed_m2: float = Field(description="idle area put back to use")
    greedy_idle_area_placed_m2: float = Field(
        description="the same figure for requests matched one by one (the baseline)"
    )
    greedy_matched: int
