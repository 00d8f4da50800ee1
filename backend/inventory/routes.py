"""Read API of the register: /api/v1/regions, agencies, buildings, floors, rooms."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from backend.accounts import users
from backend.accounts.auth import TokenClaims
from backend.api.deps import (
    DB_INT_MAX,
    AsOfDep,
    AsOfQuery,
    BBoxDep,
    BigIdPath,
    IdFilter,
    IdPath,
    PageDep,
    ReaderDep,
    RegionFilter,
    ScopeDep,
    SessionDep,
    TokenUserDep,
    etag,
)
from backend.api.schemas import Feature, FeatureCollection, geojson_response
from backend.db.async_pool import Reader
from backend.domain import AgencyLevel, BuildingStatus, RegionLevel
from backend.inventory import history
from backend.inventory import history as history_service
from backend.inventory import service as inventory

router = APIRouter(prefix="/api/v1", tags=["inventory 台账"])

GEOJSON = "application/geo+json"
_FC: dict[int | str, dict[str, Any]] = {
    200: geojson_response(FeatureCollection, "GeoJSON FeatureCollection")
}
_F: dict[int | str, dict[str, Any]] = {
    200: geojson_response(Feature, "GeoJSON Feature"),
    404: {"description": "not found or outside the caller's scope"},
}


def geojson(body: str) -> Response:
    return Response(content=body, media_type=GEOJSON)


def versioned(body: str) -> Response:
    """One feature with its ``ETag`` (the object's version, for If-Match on updates)."""
    version = json.loads(body)["properties"].get("version")
    headers = {"ETag": etag(int(version))} if version is not None else None
    return Response(content=body, media_type=GEOJSON, headers=headers)


def _versioned(feature: inventory.VersionedFeature) -> Response:
    """A feature read on the lean path, with its version as the ``ETag``."""
    return Response(
        content=feature.body, media_type=GEOJSON, headers={"ETag": etag(feature.version)}
    )


async def _as_of(
    reader: Reader, user: TokenClaims, read: Callable[..., str], key: int, day: dt.date
) -> str:
    """A historical by-id read (ORM, blocking) in a worker thread, under the caller's RLS scope."""
    principal = await users.read_principal(reader, user)

    def run() -> str:
        with reader.session() as session:
            users.apply_database_scope(session, principal.scope)
            return read(session, key, scope=principal.scope, day=day)

    return await run_in_threadpool(run)


Adcode = Annotated[int, Path(ge=100000, le=999999, description="6-digit adcode 行政区划代码")]
Id = IdPath


@router.get("/regions", responses=_FC, response_class=Response, summary="Regions 行政区划")
def list_regions(
    session: SessionDep,
    scope: ScopeDep,
    page: PageDep,
    bbox: BBoxDep,
    level: RegionLevel | None = None,
    parent: RegionFilter = None,
    simplify: Annotated[
        float, Query(ge=0, le=0.1, description="boundary simplification (degrees)")
    ] = 0.001,
) -> Response:
    """Regions with boundaries (simplified by default), filtered by level, parent and bbox."""
    return geojson(
        inventory.list_regions(
            session,
            scope=scope,
            level=level,
            parent=parent,
            bbox=bbox,
            simplify=simplify or None,
            page=page,
        )
    )


@router.get("/regions/{adcode}", responses=_F, response_class=Response, summary="One region")
def get_region(session: SessionDep, scope: ScopeDep, adcode: Adcode) -> Response:
    """One region with its full boundary."""
    return geojson(inventory.get_region(session, adcode, scope=scope))


@router.get("/agencies", responses=_FC, response_class=Response, summary="Agencies 单位")
def list_agencies(
    session: SessionDep,
    scope: ScopeDep,
    page: PageDep,
    region: RegionFilter = None,
    level: AgencyLevel | None = None,
    q: Annotated[str | None, Query(max_length=100, description="name contains")] = None,
) -> Response:
    """Agencies (geometry: their region's seat) with staffing quota and headcount per rank."""
    return geojson(
        inventory.list_agencies(session, scope=scope, region=region, level=level, q=q, page=page)
    )


@router.get("/agencies/{agency_id}", responses=_F, response_class=Response, summary="One agency")
def get_agency(session: SessionDep, scope: ScopeDep, agency_id: Id) -> Response:
    return versioned(inventory.get_agency(session, agency_id, scope=scope))


@router.get("/buildings", responses=_FC, response_class=Response, summary="Buildings 办公楼")
def list_buildings(
    session: SessionDep,
    scope: ScopeDep,
    page: PageDep,
    bbox: BBoxDep,
    region: RegionFilter = None,
    agency: Annotated[
        int | None, Query(ge=1, le=DB_INT_MAX, description="managing agency id")
    ] = None,
    status: BuildingStatus | None = None,
    q: Annotated[str | None, Query(max_length=100, description="name contains")] = None,
    as_of: AsOfDep = None,
) -> Response:
    """Buildings with footprint, ownership and title, and current floor totals."""
    if as_of is not None:
        return geojson(
            history.list_buildings(
                session, scope=scope, day=as_of, bbox=bbox, region=region, agency=agency, page=page
            )
        )
    return geojson(
        inventory.list_buildings(
            session,
            scope=scope,
            bbox=bbox,
            region=region,
            agency=agency,
            status=status,
            q=q,
            page=page,
        )
    )


@router.get(
    "/buildings/{building_id}", responses=_F, response_class=Response, summary="One building"
)
async def get_building(
    reader: ReaderDep, user: TokenUserDep, building_id: Id, as_of: AsOfQuery = None
) -> Response:
    if as_of is not None:
        return geojson(await _as_of(reader, user, history.get_building, building_id, as_of))
    return _versioned(await inventory.read_building(reader, building_id, user=user))


@router.get(
    "/buildings/{building_id}/floors",
    responses=_FC,
    response_class=Response,
    summary="Floors of a building",
)
def list_building_floors(
    session: SessionDep,
    scope: ScopeDep,
    page: PageDep,
    building_id: Id,
    history: Annotated[bool, Query(description="include superseded floor versions")] = False,
) -> Response:
    inventory.require_building(session, building_id, scope=scope)
    return geojson(
        inventory.list_floors(
            session,
            scope=scope,
            building=building_id,
            include_history=history,
            page=page,
        )
    )


@router.get("/floors", responses=_FC, response_class=Response, summary="Floors 楼层")
def list_floors(
    session: SessionDep,
    scope: ScopeDep,
    page: PageDep,
    bbox: BBoxDep,
    building: IdFilter = None,
    level: Annotated[int | None, Query(ge=-20, le=200)] = None,
    history: Annotated[bool, Query(description="include superseded floor versions")] = False,
    as_of: AsOfDep = None,
) -> Response:
    """Current floor versions (outline, building area under GB/T 50353, area method)."""
    if as_of is not None:
        return geojson(
            history_service.list_floors(
                session, scope=scope, day=as_of, building=building, bbox=bbox, page=page
            )
        )
    return geojson(
        inventory.list_floors(
            session,
            scope=scope,
            building=building,
            bbox=bbox,
            level=level,
            include_history=history,
            page=page,
        )
    )


@router.get(
    "/floors/{floor_id}", responses=_F, response_class=Response, summary="One floor version"
)
def get_floor(
    session: SessionDep, scope: ScopeDep, floor_id: Id, as_of: AsOfDep = None
) -> Response:
    if as_of is not None:
        return geojson(history.get_floor(session, floor_id, scope=scope, day=as_of))
    return versioned(inventory.get_floor(session, floor_id, scope=scope))


@router.get("/rooms", responses=_FC, response_class=Response, summary="Rooms 房间")
def list_rooms(
    session: SessionDep,
    scope: ScopeDep,
    page: PageDep,
    bbox: BBoxDep,
    floor: Annotated[int | None, Query(ge=1, le=DB_INT_MAX, description="floor version id")] = None,
    building: IdFilter = None,
    agency: Annotated[
        int | None, Query(ge=1, le=DB_INT_MAX, description="allocated agency id")
    ] = None,
    category: Annotated[
        str | None,
        Query(
            max_length=40,
            pattern=r"^[a-z_.]+$",
            description="category (office) or code (office.staff_office)",
        ),
    ] = None,
    as_of: AsOfDep = None,
) -> Response:
    """Rooms of current floors with usable area (0.01 m² half-up) and the area method."""
    if as_of is not None:
        return geojson(
            history.list_rooms(
                session,
                scope=scope,
                day=as_of,
                bbox=bbox,
                floor=floor,
                building=building,
                agency=agency,
                page=page,
            )
        )
    return geojson(
        inventory.list_rooms(
            session,
            scope=scope,
            bbox=bbox,
            floor=floor,
            building=building,
            agency=agency,
            category=category,
            page=page,
        )
    )


@router.get("/rooms/{room_id}", responses=_F, response_class=Response, summary="One room")
async def get_room(
    reader: ReaderDep, user: TokenUserDep, room_id: BigIdPath, as_of: AsOfQuery = None
) -> Response:
    if as_of is not None:
        return geojson(await _as_of(reader, user, history.get_room, room_id, as_of))
    return _versioned(await inventory.read_room(reader, room_id, user=user))
