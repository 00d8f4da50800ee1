"""/api/v1/leases, /maintenance, /disposals, /titles: the asset lifecycle (出租出借、统一维修、
统一处置、统一权属). Writes need If-Match (the ETag of the record) and leave one audit event;
``…/{id}/history`` lists those events."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from backend import timekeeping
from backend.api.deps import IfMatchDep, PageDep, PrincipalDep, ScopeDep, SessionDep
from backend.api.responses import WRITE_DOC, paged, versioned
from backend.lifecycle import schemas, service

router = APIRouter(prefix="/api/v1", tags=["asset lifecycle 资产全生命周期"])

Id = Annotated[int, Path(ge=1, le=2**62)]
_E = WRITE_DOC


# ---------------------------------------------------------------- leases
# Recording, listing and changing leases: backend/live (POST/GET/PATCH /api/v1/leases, with
# compliance following each change); the managing office's approval, end and history here.
@router.post(
    "/leases/{lease_id}/approve",
    response_model=schemas.LeasePublic,
    responses=_E,
    summary="Approve a lease 批准出租出借",
)
def approve_lease(
    session: SessionDep,
    principal: PrincipalDep,
    lease_id: Id,
    expected: IfMatchDep,
    body: schemas.LeaseApprove,
) -> JSONResponse:
    """The managing office approves (批准文号, document); its finding closes."""
    return versioned(
        service.approve_lease(session, lease_id, body, expected=expected, principal=principal)
    )


@router.post(
    "/leases/{lease_id}/end",
    response_model=schemas.LeasePublic,
    responses=_E,
    summary="End a lease 终止出租出借",
)
def end_lease(
    session: SessionDep,
    principal: PrincipalDep,
    lease_id: Id,
    expected: IfMatchDep,
    body: schemas.LeaseEnd,
) -> JSONResponse:
    return versioned(
        service.end_lease(session, lease_id, body, expected=expected, principal=principal)
    )


@router.get("/leases/{lease_id}/history", responses=_E, summary="A lease's history")
def lease_history(session: SessionDep, scope: ScopeDep, lease_id: Id) -> list[dict[str, Any]]:
    service.get_lease(session, lease_id, scope=scope)
    return service.history(session, "lease", lease_id, scope=scope)


# ---------------------------------------------------------------- maintenance
@router.post("/maintenance", status_code=201, responses=_E, summary="Request maintenance 维修申请")
def request_maintenance(
    session: SessionDep, principal: PrincipalDep, body: schemas.MaintenanceCreate
) -> JSONResponse:
    """Work on a building, one of its floors or rooms; the managing office approves it
    (contractor, cost, dates) and records its completion with evidence."""
    key = service.request_maintenance(session, body, principal=principal)
    return versioned(service.get_maintenance(session, key, scope=principal.scope), status=201)


@router.get("/maintenance", summary="Maintenance requests in scope 维修列表")
def list_maintenance(
    session: SessionDep,
    scope: ScopeDep,
    page: PageDep,
    building_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    region: Annotated[int | None, Query(ge=100000, le=999999)] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    status: Literal["requested", "approved", "rejected", "completed"] | None = None,
) -> dict[str, Any]:
    """A building's maintenance history: ``?building_id=``."""
    return paged(
        *service.list_maintenance(
            session,
            scope=scope,
            building_id=building_id,
            region=region,
            year=year,
            status=status,
            limit=page.limit,
            offset=page.offset,
        )
    )


@router.get(
    "/maintenance/plan",
    response_model=schemas.MaintenancePlan,
    summary="Yearly maintenance plan per region 年度维修计划",
)
def maintenance_plan(
    session: SessionDep,
    scope: ScopeDep,
    region: Annotated[int | None, Query(ge=100000, le=999999)] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> schemas.MaintenancePlan:
    return service.maintenance_plan(
        session, scope=scope, region=region, year=year or timekeeping.today().year
    )


@router.get(
    "/maintenance/{key}",
    response_model=schemas.MaintenancePublic,
    responses=_E,
    summary="One maintenance request",
)
def get_maintenance(session: SessionDep, scope: ScopeDep, key: Id) -> JSONResponse:
    return versioned(service.get_maintenance(session, key, scope=scope))


@router.post(
    "/maintenance/{key}/approve",
    response_model=schemas.MaintenancePublic,
    responses=_E,
    summary="Approve maintenance 批准维修",
)
def approve_maintenance(
    session: SessionDep,
    principal: PrincipalDep,
    key: Id,
    expected: IfMatchDep,
    body: schemas.MaintenanceApprove,
) -> JSONResponse:
    return versioned(
        service.approve_maintenance(session, key, body, expected=expected, principal=principal)
    )


@router.post(
    "/maintenance/{key}/reject",
    response_model=schemas.MaintenancePublic,
    responses=_E,
    summary="Reject maintenance 驳回维修",
)
def reject_maintenance(
    session: SessionDep,
    principal: PrincipalDep,
    key: Id,
    expected: IfMatchDep,
    body: schemas.MaintenanceReject,
) -> JSONResponse:
    return versioned(
        service.reject_maintenance(session, key, body, expected=expected, principal=principal)
    )


@router.post(
    "/maintenance/{key}/complete",
    response_model=schemas.MaintenancePublic,
    responses=_E,
    summary="Record completion 维修完工",
)
def complete_maintenance(
    session: SessionDep,
    principal: PrincipalDep,
    key: Id,
    expected: IfMatchDep,
    body: schemas.MaintenanceComplete,
) -> JSONResponse:
    return versioned(
        service.complete_maintenance(session, key, body, expected=expected, principal=principal)
    )


@router.get("/maintenance/{key}/history", responses=_E, summary="A maintenance record's history")
def maintenance_history(session: SessionDep, scope: ScopeDep, key: Id) -> list[dict[str, Any]]:
    service.get_maintenance(session, key, scope=scope)
    return service.history(session, "maintenance", key, scope=scope)


# ---------------------------------------------------------------- disposals
@router.post("/disposals", status_code=201, responses=_E, summary="Propose a disposal 处置申请")
def propose_disposal(
    session: SessionDep, principal: PrincipalDep, body: schemas.DisposalCreate
) -> JSONResponse:
    """Transfer, sale, demolition or change of use of a building (the managing office)."""
    key = service.propose_disposal(session, body, principal=principal)
    return versioned(service.get_disposal(session, key, scope=principal.scope), status=201)


@router.get("/disposals", summary="Disposals in scope 处置列表")
def list_disposals(
    session: SessionDep,
    scope: ScopeDep,
    page: PageDep,
    building_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    status: Literal["proposed", "approved", "completed", "cancelled"] | None = None,
) -> dict[str, Any]:
    return paged(
        *service.list_disposals(
            session,
            scope=scope,
            building_id=building_id,
            status=status,
            limit=page.limit,
            offset=page.offset,
        )
    )


@router.get(
    "/disposals/{key}", response_model=schemas.DisposalPublic, responses=_E, summary="One disposal"
)
def get_disposal(session: SessionDep, scope: ScopeDep, key: Id) -> JSONResponse:
    return versioned(service.get_disposal(session, key, scope=scope))


@router.post(
    "/disposals/{key}/approve",
    response_model=schemas.DisposalPublic,
    responses=_E,
    summary="Approve a disposal 批准处置",
)
def approve_disposal(
    session: SessionDep,
    principal: PrincipalDep,
    key: Id,
    expected: IfMatchDep,
    body: schemas.DisposalApprove,
) -> JSONResponse:
    return versioned(
        service.approve_disposal(session, key, body, expected=expected, principal=principal)
    )


@router.post(
    "/disposals/{key}/complete",
    response_model=schemas.DisposalPublic,
    responses=_E,
    summary="Complete a disposal 完成处置",
)
def complete_disposal(
    session: SessionDep,
    principal: PrincipalDep,
    key: Id,
    expected: IfMatchDep,
    body: schemas.DisposalComplete,
) -> JSONResponse:
    """The building's status becomes 'disposed': it leaves the live register (no new
    allocation, lease or maintenance) but its rows and history stay."""
    return versioned(
        service.complete_disposal(session, key, body, expected=expected, principal=principal)
    )


@router.get("/disposals/{key}/history", responses=_E, summary="A disposal's history")
def disposal_history(session: SessionDep, scope: ScopeDep, key: Id) -> list[dict[str, Any]]:
    service.get_disposal(session, key, scope=scope)
    return service.history(session, "disposal", key, scope=scope)


# ---------------------------------------------------------------- titles
@router.post("/titles", status_code=201, responses=_E, summary="Register a title 产权登记")
def register_title(
    session: SessionDep, principal: PrincipalDep, body: schemas.TitleCreate
) -> JSONResponse:
    """不动产权证号, 证载面积, 权属人 of a building (one current title per building)."""
    key = service.register_title(session, body, principal=principal)
    return versioned(service.get_title(session, key, scope=principal.scope), status=201)


@router.get("/titles", summary="Titles in scope 产权列表")
def list_titles(
    session: SessionDep,
    scope: ScopeDep,
    page: PageDep,
    building_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    current: bool | None = None,
) -> dict[str, Any]:
    return paged(
        *service.list_titles(
            session,
            scope=scope,
            building_id=building_id,
            current=current,
            limit=page.limit,
            offset=page.offset,
        )
    )


@router.get("/titles/{key}", response_model=schemas.TitlePublic, responses=_E, summary="One title")
def get_title(session: SessionDep, scope: ScopeDep, key: Id) -> JSONResponse:
    return versioned(service.get_title(session, key, scope=scope))


@router.post(
    "/titles/{key}/transfer",
    status_code=201,
    response_model=schemas.TitlePublic,
    responses=_E,
    summary="Transfer a title 产权转移（划转至机关事务管理部门）",
)
def transfer_title(
    session: SessionDep,
    principal: PrincipalDep,
    key: Id,
    expected: IfMatchDep,
    body: schemas.TitleTransfer,
) -> JSONResponse:
    """A new certificate (e.g. in the managing office's name) supersedes the current one;
    the building's registered owner follows."""
    return versioned(
        service.transfer_title(session, key, body, expected=expected, principal=principal),
        status=201,
    )


@router.get("/titles/{key}/history", responses=_E, summary="A title's history")
def title_history(session: SessionDep, scope: ScopeDep, key: Id) -> list[dict[str, Any]]:
    service.get_title(session, key, scope=scope)
    return service.history(session, "title", key, scope=scope)
