"""Schemas of the stock-take API: agencies, campaigns, declarations, completeness."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.inventory.writes import StaffingRow

AgencyLevel = Literal["central", "province", "city", "county", "township"]
Status = Literal["not_started", "in_progress", "submitted", "verified", "returned"]
FORBID = ConfigDict(extra="forbid", str_strip_whitespace=True)
CREDIT = r"^[0-9A-HJ-NPQRTUWXY]{18}$"


class AgencyBase(BaseModel):
    model_config = FORBID
    name: str = Field(min_length=1, max_length=200)
    level: AgencyLevel
    region_adcode: int = Field(ge=100000, le=999999999)
    parent_id: int | None = Field(default=None, ge=1)
    approved_office_area_m2: Decimal | None = Field(
        default=None, ge=0, le=10_000_000, decimal_places=2, description="核定面积"
    )


class AgencyCreate(AgencyBase):
    credit_code: str = Field(pattern=CREDIT, description="统一社会信用代码 (GB 32100-2015)")
    staffing: list[StaffingRow] = Field(default_factory=list, max_length=100)


class AgencyPublic(BaseModel):
    id: int
    name: str
    credit_code: str | None
    level: AgencyLevel
    region_adcode: int
    parent_id: int | None
    approved_office_area_m2: Decimal | None
    staffing: list[StaffingRow]
    version: int


class CampaignCreate(BaseModel):
    model_config = FORBID
    name: str = Field(min_length=1, max_length=200)
    region_adcode: int = Field(ge=100000, le=999999999)
    deadline: dt.date


class CampaignPublic(BaseModel):
    id: int
    name: str
    region_adcode: int
    region_name: str | None
    deadline: dt.date
    created_by: str
    created_at: dt.datetime
    status_counts: dict[str, int]
    version: int


class CampaignAgencyPublic(BaseModel):
    campaign_id: int
    agency_id: int
    agency_name: str
    credit_code: str | None
    region_adcode: int
    level: str
    status: Status
    status_zh: str
    reason: str | None
    signed_by: str | None
    submitted_at: dt.datetime | None
    verified_by: str | None
    verified_at: dt.datetime | None
    version: int


class Transition(BaseModel):
    model_config = FORBID
    status: Status = Field(description="the new status; 'returned' needs a reason")
    reason: str | None = Field(default=None, max_length=2000, description="退回原因")


class CompletenessRow(BaseModel):
    agency_id: int
    agency_name: str
    credit_code: str | None
    region_adcode: int
    status: Status
    status_zh: str
    buildings: int
    buildings_located: int
    floors_declared: int
    floors_with_plans: int
    rooms_declared: int
    rooms_with_geometry: int
    rooms_agreeing: int
    occupants: int
    owes: list[str] = Field(default_factory=list, description="what the agency still owes")
    score: float = Field(default=0.0, description="0–1, colours the map layer")
