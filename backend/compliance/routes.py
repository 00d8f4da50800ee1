"""Compliance API: findings, roll-up summary, re-evaluation, standards versions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from backend.accounts.access import Principal, roles_for
from backend.api.deps import (
    DAY_MAX,
    DAY_MIN,
    DB_INT_MAX,
    BigIdPath,
    FindingStatus,
    IdFilter,
    IfMatchDep,
    PageDep,
    RegionFilter,
    RuleCode,
    ScopeDep,
    SessionDep,
    require_roles,
)
from backend.api.responses import VERSIONED_DOC, versioned
from backend.api.schemas import Finding, FindingList
from backend.compliance import service as compliance
from backend.compliance import standards

router = APIRouter(prefix="/api/v1/compliance", tags=["compliance 合规"])

Level = Literal["province", "city", "county", "agency", "building"]


@router.get("/findings", response_model=FindingList, summary="Findings 合规问题")
def list_findings(
    session: SessionDep,
    scope: ScopeDep,
    page: PageDep,
    rule: Annotated[RuleCode | None, Query(description="rule code; 'data_quality' = all 7")] = None,
    region: RegionFilter = None,
    agency: IdFilter = None,
    building: IdFilter = None,
    status: FindingStatus | None = None,
) -> dict[str, Any]:
    """Findings the caller may see, largest excess first, with measured/allowed/excess."""
    return compliance.list_findings(
        session,
        scope=scope,
        page=page,
        rule=rule,
        region=region,
        agency=agency,
        building=building,
        status=status,
    )


@router.get(
    "/findings/{finding_id}",
    responses={200: {"model": Finding, "description": "the finding"}},
    summary="One finding (with its ETag)",
)
def get_finding(session: SessionDep, scope: ScopeDep, finding_id: BigIdPath) -> JSONResponse:
    """The finding; ``ETag`` is its version, the If-Match of a status change."""
    f = compliance.get_finding(session, finding_id, scope=scope)
    return versioned(compliance.finding_seen(session, f, scope=scope))


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: FindingStatus
    note: str | None = Field(default=None, max_length=500)


@router.patch(
    "/findings/{finding_id}",
    summary="Set a finding's status (inspector)",
    responses={
        **VERSIONED_DOC,
        200: {"model": Finding, "description": "the finding with its new status"},
    },
)
def set_status(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require_roles(*roles_for("finding.status")))],
    finding_id: BigIdPath,
    expected: IfMatchDep,
    change: StatusChange,
) -> JSONResponse:
    """Open / rectifying / closed, with an optional note; needs the finding's ETag as
    ``If-Match`` (428 without, 412 when a re-evaluation or another inspector came first)."""
    f = compliance.set_status(
        session,
        finding_id,
        change.status,
        expected=expected,
        scope=principal.scope,
        actor=principal.username,
        note=change.note,
    )
    return versioned(compliance.finding_seen(session, f, scope=principal.scope))


@router.get("/summary", summary="Totals per rule and level 汇总")
def summary(
    session: SessionDep,
    scope: ScopeDep,
    region: RegionFilter = None,
    level: Annotated[
        Level | None, Query(description="group by this level (default: the next one down)")
    ] = None,
) -> dict[str, Any]:
    """Per-rule totals in a region subtree, and per-rule counts for each group of one level."""
    return compliance.summary(session, scope=scope, region=region, level=level)


class EvaluationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: dt.date | None = Field(default=None, ge=DAY_MIN, le=DAY_MAX)
    version: str | None = Field(default=None, max_length=60)
    floor: int | None = Field(default=None, ge=1, le=DB_INT_MAX)


@router.post("/evaluations", summary="Re-evaluate (full province or one floor)")
def evaluate(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require_roles(*roles_for("compliance.evaluate")))],
    request: EvaluationRequest,
) -> dict[str, Any]:
    if request.floor is not None:
        result = compliance.evaluate_floor(
            session,
            request.floor,
            as_of=request.as_of,
            version=request.version,
            actor=principal.username,
        )
    else:
        result = compliance.run_full(
            session, as_of=request.as_of, version=request.version, actor=principal.username
        )
    return {
        "evaluation_id": result.evaluation_id,
        "kind": result.kind,
        "as_of": result.as_of.isoformat(),
        "standard_version": result.standard_version,
        "counts": result.counts,
        "not_configured": result.not_configured,
        "opened": result.opened,
        "refreshed": result.refreshed,
        "closed": result.closed,
    }


@router.get("/standards", summary="Loaded standards versions")
def list_standards(session: SessionDep, scope: ScopeDep) -> list[dict[str, Any]]:
    return standards.list_versions(session)
