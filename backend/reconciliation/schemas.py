"""Answer shapes of the reconciliation."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class Mismatch(BaseModel):
    """One difference between the register and another book, with both figures."""

    check: Literal["ledger", "physical", "title"] = Field(
        description="ledger 账账, physical 账实, title 账证"
    )
    kind: str
    agency_id: int | None
    agency_name: str | None
    building_id: int | None
    building_name: str | None
    object_type: str
    object_id: int
    register_figure: str = Field(
        description="what the master register (账账, 账证) or the survey (账实) says"
    )
    other_figure: str = Field(
        description="what the sub-ledger, the stock-take's record or the certificate says"
    )
    register_m2: float | None = None
    other_m2: float | None = None
    difference_m2: float | None = None
    description_zh: str
    description_en: str


class AgencySummary(BaseModel):
    agency_id: int | None
    agency_name: str | None
    ledger: int
    physical: int = Field(description="账实 mismatches (stock-take figures vs the survey)")
    title: int
    register_allocated_m2: float = Field(description="rooms allocated to it in the register")
    ledger_in_use_m2: float = Field(description="rooms its people use (its occupancy records)")


class Check(BaseModel):
    done: bool
    note_zh: str
    note_en: str


class Reconciliation(BaseModel):
    region: int | None
    as_of: dt.date
    tolerance: str
    checks: dict[str, Check]
    buildings_without_title: int
    agencies: list[AgencySummary]
    mismatches: list[Mismatch]
