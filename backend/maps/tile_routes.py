"""Vector tiles: ``/tiles/{layer}/{z}/{x}/{y}.pbf`` (Mapbox Vector Tile, one SQL per tile)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from backend.api.authn import request_token
from backend.api.deps import DB_INT_MAX, IdFilter, ReadPrincipalDep, ReadSessionDep
from backend.maps import tile_cache, tiles

router = APIRouter(tags=["vector tiles 矢量瓦片"])

MVT = "application/vnd.mapbox-vector-tile"
Layer = Literal["buildings", "floors", "rooms", "compliance"]
Group = Literal["over_standard", "idle", "not_recovered", "data_quality", "lease"]
assert set(Layer.__args__) == set(tiles.LAYERS)  # type: ignore[attr-defined]


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.pbf",
    response_class=Response,
    responses={
        200: {"content": {MVT: {}}, "description": "Mapbox vector tile (may be empty)"},
        304: {"description": "unchanged since the ETag sent in If-None-Match"},
    },
    summary="Vector tile of a layer",
)
def get_tile(
    request: Request,
    session: ReadSessionDep,
    principal: ReadPrincipalDep,
    layer: Layer,
    z: Annotated[int, Path(ge=0, le=tiles.MAX_ZOOM)],
    x: Annotated[int, Path(ge=0, le=2**tiles.MAX_ZOOM - 1)],
    y: Annotated[int, Path(ge=0, le=2**tiles.MAX_ZOOM - 1)],
    floor: Annotated[
        int | None, Query(ge=1, le=DB_INT_MAX, description="rooms of this floor version")
    ] = None,
    building: IdFilter = None,
    level: Annotated[int | None, Query(ge=-20, le=200)] = None,
    group: Annotated[Group | None, Query(description="compliance layer: finding group")] = None,
) -> Response:
    """Features of ``layer`` in tile z/x/y (EPSG:3857 grid), filtered by the caller's scope.

    Layers: ``buildings`` (footprints, status), ``floors`` (current outlines), ``rooms``
    (current rooms, or those of ``floor``; number, category, usable area, level), and
    ``compliance`` (open findings drawn on their room or building; ``group`` selects
    over-standard / idle / not-recovered / data-quality). Cached; edits invalidate. Sent
    gzip-compressed to clients that accept it; ``If-None-Match`` with the ETag gives 304.
    Cached hits are answered before the app (``backend.maps.tile_cache``), without the database.
    """
    flt = tiles.TileFilter(floor=floor, building=building, level=level, group=group)
    tile = tiles.get_tile(session, layer, z, x, y, scope=principal.scope, flt=flt)
    raw_headers = list(request.scope["headers"])
    tile_cache.remember(request_token(raw_headers), principal)
    status, headers, body = tile_cache.response_parts(tile, raw_headers)
    return Response(
        content=body,
        status_code=status,
        headers={k.decode(): v.decode() for k, v in headers if k != b"content-length"},
    )
