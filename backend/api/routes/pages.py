"""Map pages (HTML) served by the app; their data comes from the API and vector tiles."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from backend import timekeeping
from backend.api.deps import DB_INT_MAX, IdPath, RegionFilter, ScopeDep, SessionDep, get_principal
from backend.api.html import page_response
from backend.compliance import findings, standards
from backend.inventory import service as inventory
from backend.maps import map_data
from backend.settings import map_settings
from map_ui import pages
from map_ui.pages import Basemap, FloorRef

# every page names its signed-in caller: a signed-out or revoked session is sent to /login
router = APIRouter(tags=["map pages 地图"], dependencies=[Depends(get_principal)])

LangQuery = Annotated[Literal["zh", "en"], Query(description="page language (zh-CN default)")]


def _basemap() -> Basemap:
    s = map_settings()
    return Basemap(url=s.basemap_url, attribution=s.basemap_attribution)


@router.get("/map/leaflet.js", include_in_schema=False)
def leaflet_map_script() -> Response:
    """The Leaflet map of every page, built by folium from the basemap setting alone."""
    return Response(
        pages.map_script(_basemap()),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/map", response_class=HTMLResponse, summary="Province holdings map 办公用房一张图")
def holdings_page(session: SessionDep, lang: LangQuery = "zh") -> HTMLResponse:
    """The province: regions and choropleths, buildings clustered, footprints when zoomed in."""
    adcode, bounds = inventory.province_view(session)
    return page_response(
        pages.holdings_page(
            api_base="/api/v1",
            basemap=_basemap(),
            lang=lang,
            province_adcode=adcode,
            bounds=bounds,
            rule_groups=findings.RULE_GROUPS,
        )
    )


@router.get(
    "/map/buildings/{building_id}",
    response_class=HTMLResponse,
    summary="Floor plans of a building 楼层平面",
)
def building_page(
    session: SessionDep,
    scope: ScopeDep,
    building_id: IdPath,
    floor: Annotated[int | None, Query(ge=1, le=DB_INT_MAX, description="floor id to open")] = None,
    lang: LangQuery = "zh",
) -> HTMLResponse:
    """Floor selector, rooms coloured by category / compliance / vacancy, room table."""
    b = map_data.building_outline(session, building_id, scope=scope)
    floors = [FloorRef(id=f, level=lv, name=n) for f, lv, n in b.floors]
    ids = {f.id for f in floors}
    return page_response(
        pages.building_page(
            api_base="/api/v1",
            building_id=b.id,
            building_name=b.name,
            bounds=b.bounds,
            floors=floors,
            floor_id=floor if floor in ids else b.first_floor,
            basemap=_basemap(),
            lang=lang,
            rule_groups=findings.RULE_GROUPS,
        )
    )


@router.get("/map/vacancy", response_class=HTMLResponse, summary="Vacancy heatmap 闲置热力图")
def vacancy_page(session: SessionDep, lang: LangQuery = "zh") -> HTMLResponse:
    """Idle-area heatmap with region / agency-level filters and the leaders' panel."""
    adcode, bounds = inventory.province_view(session)
    return page_response(
        pages.vacancy_page(
            api_base="/api/v1",
            basemap=_basemap(),
            lang=lang,
            province_adcode=adcode,
            bounds=bounds,
            idle_days=standards.idle_threshold_days(session, timekeeping.today()),
        )
    )


@router.get(
    "/api/v1/map/building-points",
    response_class=Response,
    tags=["map data"],
    summary="Building markers (all at once; the pages use building-clusters)",
)
def building_points(session: SessionDep, scope: ScopeDep, region: RegionFilter = None) -> Response:
    """``{"points": [[id, lon, lat, status, name], …]}``: one compact row per building."""
    return Response(
        inventory.building_points(session, scope=scope, region=region),
        media_type="application/json",
    )
