"""The plan upload's report, as the OpenAPI document shows it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

OPEN = ConfigDict(extra="allow")


class PlanIssue(BaseModel):
    """One finding of a plan validation, with the feature index and location when known."""

    model_config = OPEN
    code: str
    message: str
    severity: Literal["error", "warning"]
    feature: int | None = None
    location: list[float] | None = None


class PlanReport(BaseModel):
    """The validation report of a plan upload (also the body of a rejected one)."""

    model_config = OPEN
    status: Literal["dry_run", "imported", "replayed", "rejected"]
    rooms: list[dict[str, Any]]
    floor: dict[str, Any]
    errors: list[PlanIssue]
    warnings: list[PlanIssue]
    source: dict[str, Any] | None = None
