"""Writes with optimistic locking (ETag / If-Match), and the occupancy register.

Updates need ``If-Match`` (428 without, 412 when stale); unknown and read-only fields are
refused (422). Responses carry the object's new ``ETag``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from backend.accounts.access import Principal, roles_for
from backend.api.deps import (
    DB_BIGINT_MAX,
    AsOfDep,
    IdFilter,
    IfMatchDep,
    PageDep,
    PrincipalDep,
    SessionDep,
    etag,
    require_roles,
)
from backend.api.responses import versioned
from backend.api.schemas import Feature, OccupancyList, geojson_response
from backend.api.schemas import Occupancy as OccupancyOut
from backend.db.models import Occupancy
from backend.inventory import service as inventory
from backend.inventory import writes
from backend.inventory.routes import GEOJSON, Id

router = APIRouter(prefix="/api/v1", tags=["writes 编辑"])

EDITORS = roles_for("building.update")
LEDGER_KEEPERS = roles_for("occupancy.write")
Creator = Annotated[Principal, Depends(require_roles(*roles_for("building.create")))]
Editor = Annotated[Principal, Depends(require_roles(*EDITORS))]
LedgerKeeper = Annotated[Principal, Depends(require_roles(*LEDGER_KEEPERS))]
StaffingWriter = Annotated[Principal, Depends(require_roles(*roles_for("staffing.headcount")))]
ManagingOffice = Annotated[Principal, Depends(require_roles(*roles_for("agency.approved_area")))]
_W: dict[int | str, dict[str, Any]] = {
    200: geojson_response(Feature, "the updated object as a GeoJSON Feature"),
    404: {"description": "not found or outside the caller's scope"},
    412: {"description": "If-Match is stale: the object changed since it was read"},
    428: {"description": "If-Match missing"},
}


def _feature(body: str, version: int, status: int = 200, location: str | None = None) -> Response:
    headers = {"ETag": etag(version)}
    if location:
        headers["Location"] = location
    return Response(body, status_code=status, media_type=GEOJSON, headers=headers)


@router.post(
    "/buildings",
    status_code=201,
    responses={**_W, 201: geojson_response(Feature, "the new building")},
    summary="Create a building",
)
def create_building(
    session: SessionDep, principal: Creator, body: writes.BuildingCreate
) -> Response:
    building_id = writes.create_building(session, body, principal=principal)
    feature = inventory.get_building(session, building_id, scope=principal.scope)
    return _feature(feature, 1, 201, f"/api/v1/buildings/{building_id}")


@router.patch("/buildings/{building_id}", responses=_W, summary="Update a building's attributes")
def update_building(
    session: SessionDep,
    principal: Editor,
    building_id: Id,
    expected: IfMatchDep,
    body: writes.BuildingUpdate,
) -> Response:
    version = writes.update_building(
        session, building_id, body, expected=expected, principal=principal
    )
    return _feature(inventory.get_building(session, building_id, scope=principal.scope), version)


@router.patch("/floors/{floor_id}", responses=_W, summary="Update a floor's attributes")
def update_floor(
    session: SessionDep,
    principal: Editor,
    floor_id: Id,
    expected: IfMatchDep,
    body: writes.FloorUpdate,
) -> Response:
    version = writes.update_floor(session, floor_id, body, expected=expected, principal=principal)
    return _feature(inventory.get_floor(session, floor_id, scope=principal.scope), version)


@router.patch("/rooms/{room_id}", responses=_W, summary="Update a room: number, category, agency")
def update_room(
    session: SessionDep,
    principal: Editor,
    room_id: Id,
    expected: IfMatchDep,
    body: writes.RoomUpdate,
) -> Response:
    version = writes.update_room(session, room_id, body, expected=expected, principal=principal)
    return _feature(inventory.get_room(session, room_id, scope=principal.scope), version)


@router.patch(
    "/agencies/{agency_id}",
    responses=_W,
    summary="Set an agency's approved office area (managing office)",
)
def update_agency(
    session: SessionDep,
    principal: ManagingOffice,
    agency_id: Id,
    expected: IfMatchDep,
    body: writes.AgencyUpdate,
) -> Response:
    """核定面积 and the agency's details: reference figures the agency is judged by
    (over-approved rule); set by the managing office (admin, planner), never by the agency
    itself. Compliance follows: the approved-area finding is re-judged at once."""
    version = writes.update_agency(session, agency_id, body, expected=expected, principal=principal)
    return _feature(inventory.get_agency(session, agency_id, scope=principal.scope), version)


@router.put(
    "/agencies/{agency_id}/staffing",
    responses={**_W, 403: {"description": "quotas changed by someone not of the managing office"}},
    summary="Replace an agency's staffing",
)
def replace_staffing(
    session: SessionDep,
    principal: StaffingWriter,
    agency_id: Id,
    expected: IfMatchDep,
    body: writes.StaffingUpdate,
) -> Response:
    """The staffing table per rank. Quotas (编制) are set by the managing office (admin,
    planner); an agency officer may report headcounts with the quotas unchanged (403
    otherwise, also for the officer's own agency)."""
    version = writes.replace_staffing(
        session, agency_id, body, expected=expected, principal=principal
    )
    return _feature(inventory.get_agency(session, agency_id, scope=principal.scope), version)


# ---------------------------------------------------------------- occupancy
def _occupancy_json(o: Occupancy) -> dict[str, Any]:
    return {
        "id": o.id,
        "room_id": o.room_id,
        "agency_id": o.agency_id,
        "person_name": o.person_name,
        "person_id": o.person_id,
        "post_title": o.post_title,
        "rank_code": o.rank_code,
        "is_concurrent_post": o.is_concurrent_post,
        "concurrent_approved": o.concurrent_approved,
        "start_date": o.start_date.isoformat(),
        "end_date": o.end_date.isoformat() if o.end_date else None,
        "left_post_on": o.left_post_on.isoformat() if o.left_post_on else None,
        "left_post_reason": o.left_post_reason,
        "version": o.version,
    }


def _occupancy(session: SessionDep, principal: Principal, occupancy_id: int) -> Occupancy:
    return writes.get_occupancy(session, occupancy_id, principal=principal)


@router.get(
    "/occupancies",
    response_model=OccupancyList,
    summary="Occupancy 使用情况: who uses which room",
)
def list_occupancies(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    as_of: AsOfDep,
    room: Annotated[int | None, Query(ge=1, le=DB_BIGINT_MAX)] = None,
    agency: IdFilter = None,
) -> dict[str, Any]:
    """Occupancies in scope; ``as_of``: those running on that day."""
    rows = writes.list_occupancies(
        session, principal=principal, page=page, as_of=as_of, room=room, agency=agency
    )
    items = [_occupancy_json(o) for o in rows]
    return {
        "items": items,
        "numberReturned": len(items),
        "limit": page.limit,
        "offset": page.offset,
    }


@router.get(
    "/occupancies/{occupancy_id}",
    responses={200: {"model": OccupancyOut, "description": "the record"}},
    summary="One occupancy record",
)
def get_occupancy(session: SessionDep, principal: PrincipalDep, occupancy_id: Id) -> JSONResponse:
    o = _occupancy(session, principal, occupancy_id)
    return versioned(_occupancy_json(o))


@router.post(
    "/occupancies",
    status_code=201,
    responses={**_W, 200: {}, 201: {"model": OccupancyOut, "description": "the new record"}},
    summary="Record who uses a room",
)
def create_occupancy(
    session: SessionDep, principal: LedgerKeeper, body: writes.OccupancyCreate
) -> JSONResponse:
    occupancy_id = writes.create_occupancy(session, body, principal=principal)
    o = _occupancy(session, principal, occupancy_id)
    return versioned(_occupancy_json(o), status=201, location=f"/api/v1/occupancies/{occupancy_id}")


@router.patch(
    "/occupancies/{occupancy_id}",
    responses={**_W, 200: {"model": OccupancyOut, "description": "the updated record"}},
    summary="Update an occupancy",
)
def update_occupancy(
    session: SessionDep,
    principal: LedgerKeeper,
    occupancy_id: Id,
    expected: IfMatchDep,
    body: writes.OccupancyUpdate,
) -> JSONResponse:
    writes.update_occupancy(session, occupancy_id, body, expected=expected, principal=principal)
    session.expire_all()
    o = _occupancy(session, principal, occupancy_id)
    return versioned(_occupancy_json(o))


@router.post(
    "/occupancies/{occupancy_id}/move",
    status_code=201,
    responses=_W,
    summary="Move a person to another room (ends this occupancy, starts one there)",
)
def move_occupancy(
    session: SessionDep,
    principal: LedgerKeeper,
    occupancy_id: Id,
    expected: IfMatchDep,
    body: writes.OccupancyMove,
) -> JSONResponse:
    """One action: the occupancy ends on ``date`` and the same person, post and rank start
    in ``room_id`` that day. Answers the new occupancy."""
    new_id = writes.move_occupancy(
        session, occupancy_id, body, expected=expected, principal=principal
    )
    session.expire_all()
    o = _occupancy(session, principal, new_id)
    return versioned(_occupancy_json(o), status=201, location=f"/api/v1/occupancies/{new_id}")
