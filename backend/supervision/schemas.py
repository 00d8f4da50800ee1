"""Request bodies of the supervision API (Base/Create/Update per entity; unknown fields refused)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.domain import SpaceCategory

FORBID = ConfigDict(extra="forbid", str_strip_whitespace=True)

InspectionKind = Literal["special", "annual", "spot", "follow_up"]
InspectionStatus = Literal["planned", "in_progress", "completed"]
Category = SpaceCategory
CheckOutcome = Literal["no_issue", "confirmed", "manual_finding"]
ManualRule = Literal[
    "manual.area_mismatch",
    "manual.use_changed",
    "manual.occupant_mismatch",
    "manual.lease",
    "manual.over_standard",
    "manual.other",
]
RectificationStatus = Literal["pending", "in_progress", "awaiting_verification", "closed"]
EvidencePhase = Literal["check", "before", "after", "verification"]
Measure = Literal["talk", "criticism", "admonishment", "organisational", "disciplinary", "other"]
Username = str
Id = int


# ---------------------------------------------------------------- inspections
class SamplingRule(BaseModel):
    """A share of the scope's buildings drawn at random, reproducibly from ``seed``.

    ``weighting = open_findings`` gives each building weight 1 + its open findings
    (weighted sampling without replacement, Efraimidis–Spirakis keys u^(1/w)).
    """

    model_config = FORBID
    share: float = Field(gt=0, le=1, description="share of the scope's buildings, 0–1")
    seed: int = Field(ge=0, le=2**63 - 1)
    weighting: Literal["uniform", "open_findings"] = "open_findings"


class InspectionBase(BaseModel):
    model_config = FORBID
    title: str = Field(min_length=1, max_length=200)
    team: list[Username] = Field(default_factory=list, max_length=50)
    starts_on: dt.date
    ends_on: dt.date

    @model_validator(mode="after")
    def _dates(self) -> InspectionBase:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class InspectionCreate(InspectionBase):
    kind: InspectionKind
    region_adcode: int = Field(ge=100000, le=999999, description="organising region")
    scope_regions: list[int] = Field(default_factory=list, max_length=200)
    scope_agencies: list[Id] = Field(default_factory=list, max_length=1000)
    scope_buildings: list[Id] = Field(default_factory=list, max_length=5000)
    sampling: SamplingRule | None = None

    @model_validator(mode="after")
    def _scope(self) -> InspectionCreate:
        if not (self.scope_regions or self.scope_agencies or self.scope_buildings):
            raise ValueError("give at least one of scope_regions, scope_agencies, scope_buildings")
        return self


class InspectionUpdate(BaseModel):
    """Title, team, dates and status; the scope and sample are fixed once drawn."""

    model_config = FORBID
    title: str | None = Field(default=None, min_length=1, max_length=200)
    team: list[Username] | None = Field(default=None, max_length=50)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    status: InspectionStatus | None = None


# ---------------------------------------------------------------- checks
class ManualFinding(BaseModel):
    """A finding raised by the inspector, with the same fields as a rule finding."""

    model_config = FORBID
    rule_code: ManualRule
    measured: Decimal | None = Field(default=None, ge=0, le=10**9, decimal_places=2)
    allowed: Decimal | None = Field(default=None, ge=0, le=10**9, decimal_places=2)
    unit: Literal["m2", "days", "offices", "ratio"] | None = None
    note: str | None = Field(default=None, max_length=1000)


class CheckCreate(BaseModel):
    """What the inspector found on site, against the register (账实)."""

    model_config = FORBID
    building_id: Id = Field(ge=1, le=2**31 - 1)
    floor_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)
    room_id: Id | None = Field(default=None, ge=1, le=2**62)
    checked_on: dt.date | None = None
    measured_area_m2: Decimal | None = Field(default=None, gt=0, le=10**7, decimal_places=2)
    actual_use: Category | None = None
    occupant_found: str | None = Field(default=None, max_length=200)
    lease_found: bool = False
    lease_note: str | None = Field(default=None, max_length=500)
    notes: str | None = Field(default=None, max_length=2000)
    confirm_finding_id: Id | None = Field(default=None, ge=1, le=2**62)
    manual_finding: ManualFinding | None = None

    @model_validator(mode="after")
    def _one_outcome(self) -> CheckCreate:
        if self.confirm_finding_id is not None and self.manual_finding is not None:
            raise ValueError("a check confirms a finding or raises one, not both")
        return self


# ---------------------------------------------------------------- rectifications
class RectificationCreate(BaseModel):
    """Put a finding on the ledger: who rectifies it, by when."""

    model_config = FORBID
    responsible_agency_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)
    responsible_person: str = Field(min_length=1, max_length=80)
    responsible_post: str | None = Field(default=None, max_length=120)
    deadline: dt.date
    problem: str | None = Field(default=None, min_length=1, max_length=1000)
    measures: str | None = Field(default=None, max_length=2000)
    inspection_id: Id | None = Field(default=None, ge=1)
    check_id: Id | None = Field(default=None, ge=1)


class RectificationUpdate(BaseModel):
    """Edits and one status transition (If-Match required)."""

    model_config = FORBID
    status: RectificationStatus | None = None
    responsible_agency_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)
    responsible_person: str | None = Field(default=None, min_length=1, max_length=80)
    responsible_post: str | None = Field(default=None, max_length=120)
    deadline: dt.date | None = None
    problem: str | None = Field(default=None, min_length=1, max_length=1000)
    measures: str | None = Field(default=None, max_length=2000)
    after_state: str | None = Field(default=None, max_length=1000)
    not_rectified_reason: str | None = Field(default=None, max_length=1000)
    verification_note: str | None = Field(default=None, max_length=1000)


# ---------------------------------------------------------------- accountability
class AccountabilityCreate(BaseModel):
    model_config = FORBID
    person_name: str = Field(min_length=1, max_length=80)
    person_post: str | None = Field(default=None, max_length=120)
    agency_id: Id = Field(ge=1, le=2**31 - 1)
    finding_ids: list[Id] = Field(min_length=1, max_length=100)
    measure: Measure
    measure_detail: str | None = Field(default=None, max_length=1000)
    decided_on: dt.date
    issuing_body: str = Field(min_length=1, max_length=200)
