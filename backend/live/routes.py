"""What-if API: run a named scenario, compare it with the live findings, export to Excel."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, Response

from backend.accounts.access import Principal, roles_for
from backend.api.deps import IfMatchDep, PrincipalDep, ScopeDep, SessionDep, require_roles
from backend.api.responses import VERSIONED_DOC, XLSX_DOC, download, versioned
from backend.live import leases, service
from backend.live.schemas import Comparison, Level, ScenarioCreate, ScenarioPublic

router = APIRouter(prefix="/api/v1")
WHATIF: list[str | Enum] = ["what-if 情景推演"]

Planner = Annotated[Principal, Depends(require_roles(*roles_for("whatif.run")))]
ScenarioId = Annotated[int, Path(ge=1, le=2**62)]


@router.post(
    "/whatif/scenarios",
    status_code=201,
    tags=WHATIF,
    response_model=ScenarioPublic,
    summary="Run a what-if scenario (another standard, a draft, another idle threshold)",
    responses={404: {"description": "standards version not loaded"}},
)
def create_scenario(
    session: SessionDep, principal: Planner, body: ScenarioCreate
) -> ScenarioPublic:
    """Evaluate every rule under the scenario within the caller's scope and keep the
    result under its name; the live findings and their status are not touched."""
    scenario_id = service.create_scenario(session, body, principal=principal)
    return service.compare(session, scenario_id, scope=principal.scope).scenario


@router.get(
    "/whatif/scenarios",
    tags=WHATIF,
    response_model=list[ScenarioPublic],
    summary="What-if scenarios",
)
def list_scenarios(
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ScenarioPublic]:
    """Scenarios whose scope lies within the caller's (their counts were computed within
    it), newest first; the comparison is read per scope."""
    return service.list_scenarios(session, scope=principal.scope, limit=limit, offset=offset)


@router.get(
    "/whatif/scenarios/{scenario_id}",
    tags=WHATIF,
    response_model=Comparison,
    summary="A scenario against the live findings, per region or agency",
)
def compare(
    session: SessionDep, scope: ScopeDep, scenario_id: ScenarioId, level: Level = "city"
) -> Comparison:
    """Findings gained and lost, over-standard and idle area, live vs scenario."""
    return service.compare(session, scenario_id, scope=scope, level=level)


@router.get(
    "/whatif/standards/{version}",
    tags=WHATIF,
    summary="A loaded standards version's allowances and settings (a draft starts from it)",
)
def version_tables(
    session: SessionDep, principal: PrincipalDep, version: Annotated[str, Path(max_length=60)]
) -> dict[str, Any]:
    """Allowance rows (agency level, rank, m² per person) and settings of ``version``."""
    return service.version_tables(session, version)


@router.get(
    "/whatif/scenarios/{scenario_id}/export.xlsx",
    tags=WHATIF,
    response_class=Response,
    responses=XLSX_DOC,
    summary="A scenario's comparison as an Excel workbook",
)
def export(
    session: SessionDep, scope: ScopeDep, scenario_id: ScenarioId, level: Level = "city"
) -> Response:
    """The comparison (scenario settings, per group, per rule); user text stays text."""
    body = service.export_xlsx(session, scenario_id, scope=scope, level=level)
    return download(body, f"情景对比-{scenario_id}.xlsx", f"whatif-{scenario_id}.xlsx")


@router.get(
    "/history/{kind}/{object_id}",
    tags=["writes 编辑"],
    summary="An object's change history (who, when, before, after)",
    responses={404: {"description": "not found or outside the caller's scope"}},
)
def object_history(
    session: SessionDep,
    scope: ScopeDep,
    kind: Literal["agency", "building", "floor", "room", "occupancy"],
    object_id: Annotated[int, Path(ge=1, le=2**62)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """The audited changes of one object in the caller's scope, newest first; a room's
    include those of its occupancies. The editing pages show it under each form."""
    return {"items": service.object_history(session, kind, object_id, scope=scope, limit=limit)}


# ---------------------------------------------------------------- leases 出租出借
LedgerKeeper = Annotated[Principal, Depends(require_roles(*roles_for("lease.write")))]
LEASES: list[str | Enum] = ["leases 出租出借"]
_W = VERSIONED_DOC


def _lease(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return versioned(body, status=status, location=f"/api/v1/leases/{body['id']}")


@router.get("/leases", tags=LEASES, summary="Leases and loans in scope")
def list_leases(
    session: SessionDep,
    principal: PrincipalDep,
    room: Annotated[int | None, Query(ge=1)] = None,
    building: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    """Leases of visible rooms and of buildings the caller sees whole (at most 500)."""
    items = [
        leases.lease_json(x)
        for x in leases.list_leases(session, principal=principal, room=room, building=building)
    ]
    return {"items": items, "numberReturned": len(items)}


@router.get("/leases/{lease_id}", tags=LEASES, responses=_W, summary="One lease")
def get_lease(session: SessionDep, principal: PrincipalDep, lease_id: ScenarioId) -> JSONResponse:
    return _lease(leases.lease_json(leases.get_lease(session, lease_id, principal=principal)))


@router.post(
    "/leases", status_code=201, tags=LEASES, responses=_W, summary="Record a lease or loan"
)
def create_lease(
    session: SessionDep, principal: LedgerKeeper, body: leases.LeaseCreate
) -> JSONResponse:
    """A room or a whole building rented out or lent; the finding follows at once."""
    lease_id = leases.create_lease(session, body, principal=principal)
    x = leases.get_lease(session, lease_id, principal=principal)
    return _lease(leases.lease_json(x), 201)


@router.patch("/leases/{lease_id}", tags=LEASES, responses=_W, summary="Change or end a lease")
def update_lease(
    session: SessionDep,
    principal: LedgerKeeper,
    lease_id: ScenarioId,
    expected: IfMatchDep,
    body: leases.LeaseUpdate,
) -> JSONResponse:
    """Approval, counterparty, end date (If-Match); compliance follows."""
    leases.update_lease(session, lease_id, body, expected=expected, principal=principal)
    session.expire_all()
    return _lease(leases.lease_json(leases.get_lease(session, lease_id, principal=principal)))
