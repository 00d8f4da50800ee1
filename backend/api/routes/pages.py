"""Map pages (HTML) served by the app; their data comes from the API."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from backend.api.deps import ScopeDep, SessionDep
from backend.api.routes.inventory import RegionFilter
from backend.db.models import Region
from backend.services import inventory
from backend.settings import map_settings
from map_ui.pages import Basemap, holdings_map, render

router = APIRouter(tags=["map pages 地图"])

LangQuery = Annotated[Literal["zh", "en"], Query(description="page language (zh-CN default)")]


def _basemap() -> Basemap:
    s = map_settings()
    return Basemap(url=s.basemap_url, attribution=s.basemap_attribution)


@router.get("/map", response_class=HTMLResponse, summary="Province holdings map 办公用房一张图")
def holdings_page(session: SessionDep, lang: LangQuery = "zh") -> HTMLResponse:
    """The province: region boundaries, buildings clustered, footprints when zoomed in."""
    row = session.execute(
        select(Region.adcode, func.ST_X(Region.seat), func.ST_Y(Region.seat))
        .where(Region.level == "province")
        .order_by(Region.adcode)
        .limit(1)
    ).first()
    center = (float(row[1]), float(row[2])) if row else (120.15, 30.28)
    m = holdings_map(
        api_base="/api/v1",
        center=center,
        basemap=_basemap(),
        lang=lang,
        province_adcode=int(row[0]) if row else None,
    )
    return HTMLResponse(render(m))


@router.get(
    "/api/v1/map/building-points",
    response_class=Response,
    tags=["map data"],
    summary="Building markers for clustering",
)
def building_points(session: SessionDep, scope: ScopeDep, region: RegionFilter = None) -> Response:
    """``{"points": [[id, lon, lat, status, name], …]}``: one compact row per building."""
    return Response(
        inventory.building_points(session, scope=scope, region=region),
        media_type="application/json",
    )
