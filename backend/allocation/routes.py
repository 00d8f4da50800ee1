"""/api/v1/space-requests and /api/v1/allocation-plans: requests, entitlement, candidates
in the rule order (调剂→置换→租用→建设), approval and execution of a plan."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from backend.accounts.access import Principal, roles_for
from backend.allocation import matching, schemas, service
from backend.api.deps import (
    IfMatchDep,
    PageDep,
    PrincipalDep,
    ScopeDep,
    SessionDep,
    etag,
    require_roles,
)
from backend.api.responses import paged, versioned

router = APIRouter(prefix="/api/v1", tags=["reallocation 调剂"])

Id = Annotated[int, Path(ge=1, le=2**62)]
AgencyId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Candidates = Annotated[Principal, Depends(require_roles(*roles_for("allocation.candidates")))]
Approver = Annotated[Principal, Depends(require_roles(*roles_for("allocation.approve")))]
Executor = Annotated[Principal, Depends(require_roles(*roles_for("allocation.execute")))]
PoolKeeper = Annotated[Principal, Depends(require_roles(*roles_for("asset_pool.release")))]
Matcher = Annotated[Principal, Depends(require_roles(*roles_for("allocation.match")))]
_E: dict[int | str, dict[str, Any]] = {
    404: {"description": "not found or outside the caller's scope"},
    409: {"description": "the request or plan is not in a state that allows this"},
    412: {"description": "If-Match is stale"},
    422: {"description": "invalid input (the field is named in details)"},
}


def _with_etag(model: Any, version: int) -> JSONResponse:
    """A result whose version is not its own top-level field (the executed plan's)."""
    return JSONResponse(model.model_dump(mode="json"), headers={"ETag": etag(version)})


@router.post(
    "/space-requests",
    status_code=201,
    response_model=schemas.SpaceRequestPublic,
    responses=_E,
    summary="Request space 用房申请",
)
def create_request(
    session: SessionDep, principal: PrincipalDep, body: schemas.SpaceRequestCreate
) -> JSONResponse:
    """An agency officer for their own agency, or the managing office for any agency in scope:
    offices by rank (one office each, within the standard) and other rooms by category."""
    request_id = service.create_request(session, body, principal=principal)
    public = service.get_request(session, request_id, scope=principal.scope)
    return versioned(public, status=201)


@router.get("/space-requests", summary="Space requests in scope 用房申请列表")
def list_requests(
    session: SessionDep,
    scope: ScopeDep,
    page: PageDep,
    status: Annotated[
        Literal["submitted", "planned", "executed", "cancelled"] | None, Query()
    ] = None,
) -> dict[str, Any]:
    total, items = service.list_requests(
        session, scope=scope, status=status, limit=page.limit, offset=page.offset
    )
    return paged(total, items)


@router.get(
    "/space-requests/{request_id}",
    response_model=schemas.SpaceRequestPublic,
    responses=_E,
    summary="One space request",
)
def get_request(session: SessionDep, scope: ScopeDep, request_id: Id) -> JSONResponse:
    public = service.get_request(session, request_id, scope=scope)
    return versioned(public)


@router.get(
    "/space-requests/{request_id}/candidates",
    response_model=schemas.Candidates,
    responses=_E,
    summary="Candidate space in the rule order 候选用房",
)
def request_candidates(
    session: SessionDep, principal: Candidates, request_id: Id
) -> schemas.Candidates:
    """调剂 first (public asset pool, the agency's own idle offices, other agencies' idle
    offices), then 置换; 租用 and 建设 only when nothing fits. Each candidate shows its fit
    and the reasons for its rank; no office is proposed above its person's allowance.
    The managing office only: candidates show other agencies' rooms."""
    return service.candidates(session, request_id, scope=principal.scope)


@router.get(
    "/agencies/{agency_id}/entitlement",
    response_model=schemas.Entitlement,
    responses=_E,
    summary="Entitlement vs holdings 应配与现有面积",
)
def agency_entitlement(
    session: SessionDep, scope: ScopeDep, agency_id: AgencyId
) -> schemas.Entitlement:
    """Office area the standard allows for the agency's staffing quota, the approved area
    (核定面积) where there is one, and what the agency holds now."""
    return service.entitlement(session, agency_id, scope=scope)


@router.post(
    "/allocation-plans",
    status_code=201,
    response_model=schemas.PlanPublic,
    responses=_E,
    summary="Approve a plan for a request 批准配置方案",
)
def approve_plan(
    session: SessionDep, principal: Approver, body: schemas.PlanCreate
) -> JSONResponse:
    plan_id = service.approve_plan(session, body, principal=principal)
    public = service.get_plan(session, plan_id, scope=principal.scope)
    return versioned(public, status=201)


@router.get(
    "/allocation-plans/{plan_id}",
    response_model=schemas.PlanPublic,
    responses=_E,
    summary="One plan",
)
def get_plan(session: SessionDep, scope: ScopeDep, plan_id: Id) -> JSONResponse:
    public = service.get_plan(session, plan_id, scope=scope)
    return versioned(public)


@router.post(
    "/allocation-plans/{plan_id}/execute",
    response_model=schemas.Execution,
    responses=_E,
    summary="Execute an approved plan 执行配置方案",
)
def execute_plan(
    session: SessionDep, principal: Executor, plan_id: Id, expected: IfMatchDep
) -> JSONResponse:
    """Rooms allocated to the agency, an occupancy per person from today, pool entries
    taken, idle findings re-evaluated (those cured close) — one audited change."""
    result = service.execute_plan(session, plan_id, expected=expected, principal=principal)
    return _with_etag(result, result.plan.version)


@router.post(
    "/asset-pool",
    status_code=201,
    responses=_E,
    summary="Release an idle room to the public asset pool 交回公物仓",
)
def release_to_pool(
    session: SessionDep, principal: PoolKeeper, body: schemas.PoolRelease
) -> dict[str, Any]:
    """The managing office takes an idle room back: allocated to nobody, offered first to
    every request (调剂). A room in use today is refused (422); one already pooled is 409."""
    entry_id = service.release_to_pool(session, body, principal=principal)
    return {"id": entry_id, "room_id": body.room_id}


@router.get("/asset-pool", summary="The public asset pool 公物仓")
def list_pool(
    session: SessionDep,
    scope: ScopeDep,
    page: PageDep,
    include_taken: Annotated[bool, Query(description="also rooms already reallocated")] = False,
) -> dict[str, Any]:
    """Rooms released to the pool in the caller's scope, newest first."""
    total, items = service.list_pool(
        session, scope=scope, open_only=not include_taken, limit=page.limit, offset=page.offset
    )
    return paged(total, items)


@router.post(
    "/allocation-matchings",
    response_model=schemas.Matching,
    responses=_E,
    summary="Province-wide matching 全省统筹匹配",
)
def allocation_matching(
    session: SessionDep, principal: Matcher, body: schemas.MatchingCreate
) -> schemas.Matching:
    """All open requests in scope against all vacant space in scope at once: an assignment
    (scipy's linear_sum_assignment on requests × buildings, in rounds), not greedy one by
    one. Reports the idle area put back to use, next to the greedy baseline's figure. With
    ``approve`` the matches become approved plans (one audit event each)."""
    return matching.match(session, body, principal=principal)
