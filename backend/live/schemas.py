"""What-if schemas: a scenario to run (another version, a draft, another idle threshold)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.domain import AgencyLevel

FORBID = ConfigDict(extra="forbid", str_strip_whitespace=True)
SettingKey = Literal["idle_threshold_days", "usable_area_coefficient_min"]
Level = Literal["province", "city", "county", "agency"]
LEVEL_NAMES: dict[str, tuple[str, str]] = {  # what a comparison groups by
    "province": ("省", "Province"),
    "city": ("市", "City"),
    "county": ("县（区）", "County"),
    "agency": ("单位", "Agency"),
}


class AllowanceDraft(BaseModel):
    """One allowance row of a draft: m² per person for a rank (None: not configured)."""

    model_config = FORBID
    agency_level: AgencyLevel
    rank_code: str = Field(min_length=1, max_length=40)
    max_usable_m2: Decimal | None = Field(default=None, ge=0, le=1000, decimal_places=2)


class StandardsDraft(BaseModel):
    """Changes to the base version's tables; rows not named keep the base version's figure."""

    model_config = FORBID
    allowances: list[AllowanceDraft] = Field(default_factory=list, max_length=200)
    settings: dict[SettingKey, Decimal | None] = Field(default_factory=dict)


class ScenarioCreate(BaseModel):
    """A what-if run: ``version`` (default: the one in effect at ``as_of``), optionally a
    ``draft`` over it and/or another ``idle_threshold_days``."""

    model_config = FORBID
    name: str = Field(min_length=1, max_length=120)
    version: str | None = Field(default=None, max_length=60)
    draft: StandardsDraft | None = None
    idle_threshold_days: int | None = Field(default=None, ge=1, le=3650)
    as_of: dt.date | None = None


class ScenarioPublic(BaseModel):
    id: int
    name: str
    as_of: dt.date
    base_version: str
    draft: dict[str, object] | None
    idle_threshold_days: int | None
    not_configured: dict[str, object] | None
    counts: dict[str, object] | None
    created_by: str
    created_at: dt.datetime


class GroupComparison(BaseModel):
    """One region or agency: the scenario against the live state."""

    key: int | None
    name: str | None
    live_findings: int
    scenario_findings: int
    gained: int
    lost: int
    over_standard_m2_live: float
    over_standard_m2_scenario: float
    idle_m2_live: float
    idle_m2_scenario: float


class Comparison(BaseModel):
    scenario: ScenarioPublic
    level: Level
    total: GroupComparison
    by_rule: dict[str, dict[str, int]]
    groups: list[GroupComparison]
