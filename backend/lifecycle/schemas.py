"""Request and answer shapes of the asset lifecycle."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FORBID = ConfigDict(extra="forbid", str_strip_whitespace=True)
PUBLIC = ConfigDict(from_attributes=True)
Money = Decimal
Text200 = Field(min_length=1, max_length=200)


def _order(start: dt.date | None, end: dt.date | None, field: str) -> None:
    if start is not None and end is not None and end < start:
        raise ValueError(f"{field} is before the start")


# ---------------------------------------------------------------- leases 出租出借
class LeaseApprove(BaseModel):
    model_config = FORBID
    approval_ref: str = Field(min_length=1, max_length=120, description="批准文号")
    approval_document: str | None = Field(default=None, max_length=2000)


class LeaseEnd(BaseModel):
    model_config = FORBID
    end_date: dt.date | None = Field(default=None, description="default: today")


class LeasePublic(BaseModel):
    model_config = PUBLIC
    id: int
    room_id: int | None
    building_id: int | None
    agency_id: int | None
    kind: str
    counterparty: str | None
    rent_yuan_per_year: Decimal | None
    area_m2: Decimal | None
    start_date: dt.date
    end_date: dt.date | None
    approved: bool
    approval_ref: str | None
    approval_document: str | None
    approved_by: str | None
    approved_on: dt.date | None
    ended_on: dt.date | None
    note: str | None
    created_by: str | None
    version: int


# ---------------------------------------------------------------- maintenance 统一维修
class MaintenanceCreate(BaseModel):
    model_config = FORBID
    building_id: int = Field(ge=1, le=2**31 - 1)
    floor_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    room_id: int | None = Field(default=None, ge=1, le=2**62)
    year: int | None = Field(default=None, ge=2000, le=2100, description="default: this year")
    work: str = Field(min_length=1, max_length=4000)
    cost_estimate_yuan: Decimal | None = Field(default=None, ge=0, le=10**12, decimal_places=2)
    note: str | None = Field(default=None, max_length=2000)


class MaintenanceApprove(BaseModel):
    model_config = FORBID
    approval_ref: str = Field(min_length=1, max_length=120)
    contractor: str = Field(min_length=1, max_length=200)
    cost_estimate_yuan: Decimal = Field(ge=0, le=10**12, decimal_places=2)
    planned_start: dt.date
    planned_end: dt.date

    @model_validator(mode="after")
    def _check(self) -> MaintenanceApprove:
        _order(self.planned_start, self.planned_end, "planned_end")
        return self


class MaintenanceReject(BaseModel):
    model_config = FORBID
    note: str = Field(min_length=1, max_length=2000)


class MaintenanceComplete(BaseModel):
    model_config = FORBID
    cost_actual_yuan: Decimal = Field(ge=0, le=10**12, decimal_places=2)
    completed_on: dt.date | None = Field(default=None, description="default: today")
    evidence: str = Field(
        min_length=1, max_length=4000, description="acceptance record, photos, invoice refs"
    )


class MaintenancePublic(BaseModel):
    model_config = PUBLIC
    id: int
    building_id: int
    floor_id: int | None
    room_id: int | None
    region_adcode: int
    agency_id: int | None
    year: int
    work: str
    status: str
    cost_estimate_yuan: Decimal | None
    contractor: str | None
    approval_ref: str | None
    approved_by: str | None
    approved_on: dt.date | None
    planned_start: dt.date | None
    planned_end: dt.date | None
    cost_actual_yuan: Decimal | None
    completed_on: dt.date | None
    evidence: str | None
    note: str | None
    created_by: str
    version: int


class MaintenancePlanRow(BaseModel):
    building_id: int
    building_name: str
    requests: int
    approved: int
    completed: int
    cost_estimate_yuan: Decimal
    cost_actual_yuan: Decimal


class MaintenancePlan(BaseModel):
    """年度维修计划: the year's maintenance per building of a region."""

    region: int | None
    year: int
    buildings: list[MaintenancePlanRow]
    cost_estimate_yuan: Decimal
    cost_actual_yuan: Decimal


# ---------------------------------------------------------------- disposal 统一处置
class DisposalCreate(BaseModel):
    model_config = FORBID
    building_id: int = Field(ge=1, le=2**31 - 1)
    kind: Literal["transfer", "sale", "demolition", "change_of_use"]
    counterpart: str | None = Field(default=None, max_length=200)
    price_yuan: Decimal | None = Field(default=None, ge=0, le=10**14, decimal_places=2)
    new_use: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _check(self) -> DisposalCreate:
        if self.kind == "change_of_use" and not self.new_use:
            raise ValueError("a change of use states the new use")
        if self.kind in ("transfer", "sale") and not self.counterpart:
            raise ValueError("a transfer or sale names the counterpart")
        return self


class DisposalApprove(BaseModel):
    model_config = FORBID
    approval_ref: str = Field(min_length=1, max_length=120)
    approved_on: dt.date | None = None


class DisposalComplete(BaseModel):
    model_config = FORBID
    completed_on: dt.date | None = None


class DisposalPublic(BaseModel):
    model_config = PUBLIC
    id: int
    building_id: int
    region_adcode: int
    agency_id: int | None
    kind: str
    status: str
    counterpart: str | None
    price_yuan: Decimal | None
    new_use: str | None
    approval_ref: str | None
    approved_by: str | None
    approved_on: dt.date | None
    completed_on: dt.date | None
    building_status_before: str | None
    note: str | None
    created_by: str
    version: int


# ---------------------------------------------------------------- title 统一权属
class TitleCreate(BaseModel):
    model_config = FORBID
    building_id: int = Field(ge=1, le=2**31 - 1)
    certificate_no: str = Field(min_length=1, max_length=64, description="不动产权证号")
    certified_area_m2: Decimal = Field(gt=0, le=10**7, decimal_places=2, description="证载面积")
    holder: str = Field(min_length=1, max_length=200, description="权属人")
    issued_on: dt.date | None = None
    document_ref: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


class TitleTransfer(BaseModel):
    """Transfer of title (e.g. to the managing office): a new certificate replaces the old."""

    model_config = FORBID
    certificate_no: str = Field(min_length=1, max_length=64)
    holder: str = Field(min_length=1, max_length=200)
    certified_area_m2: Decimal | None = Field(default=None, gt=0, le=10**7, decimal_places=2)
    issued_on: dt.date | None = None
    document_ref: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


class TitlePublic(BaseModel):
    model_config = PUBLIC
    id: int
    building_id: int
    region_adcode: int
    agency_id: int | None
    certificate_no: str
    certified_area_m2: Decimal
    holder: str
    issued_on: dt.date | None
    document_ref: str | None
    status: str
    superseded_by: int | None
    note: str | None
    created_by: str
    version: int
