"""Aggregates for the map pages: region totals, building clusters, vacancy bins, the
leaders' panel and a floor's room table (``/api/v1/map/...``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from backend.api.deps import BBoxDep, IdPath, RegionFilter, ScopeDep, SessionDep
from backend.domain import AgencyLevel
from backend.maps import map_data

router = APIRouter(prefix="/api/v1/map", tags=["map data 地图数据"])

Zoom = Annotated[int, Query(ge=0, le=24, description="map zoom the aggregate is for")]


@router.get("/region-stats", summary="Totals per city or county (choropleth)")
def region_stats(
    session: SessionDep, scope: ScopeDep, level: Literal["city", "county"] = "county"
) -> dict[str, Any]:
    """Per region: buildings, usable / office / vacant office area, vacancy rate and
    over-standard area (open findings; ``null`` until compliance results exist)."""
    return {"level": level, "regions": map_data.region_stats(session, scope=scope, level=level)}


@router.get("/building-clusters", summary="Buildings clustered per screen cell")
def building_clusters(
    session: SessionDep, scope: ScopeDep, bbox: BBoxDep, z: Zoom
) -> dict[str, Any]:
    """``clusters``: ``[lon, lat, count, id, status, name]``; id/status/name when count is 1."""
    rows = map_data.building_clusters(session, scope=scope, zoom=z, bbox=bbox)
    return {"zoom": z, "clusters": rows, "buildings": sum(r[2] for r in rows)}


@router.get("/vacancy-bins", summary="Vacancy heatmap bins weighted by idle area")
def vacancy_bins(
    session: SessionDep,
    scope: ScopeDep,
    bbox: BBoxDep,
    z: Zoom,
    region: RegionFilter = None,
    agency_level: AgencyLevel | None = None,
    min_idle_days: Annotated[int, Query(ge=0, le=36500)] = 0,
) -> dict[str, Any]:
    """``bins``: ``[lat, lon, idle_m2, rooms]`` of vacant office rooms per grid cell."""
    flt = map_data.MapFilter(region=region, agency_level=agency_level)
    bins = map_data.vacancy_bins(
        session, scope=scope, zoom=z, bbox=bbox, flt=flt, min_idle_days=min_idle_days
    )
    return {"zoom": z, "bins": bins, "max_m2": max((b[2] for b in bins), default=0.0)}


@router.get("/summary", summary="Leaders' panel: totals, vacancy, over-standard, findings")
def summary(
    session: SessionDep,
    scope: ScopeDep,
    region: RegionFilter = None,
    agency_level: AgencyLevel | None = None,
) -> dict[str, Any]:
    flt = map_data.MapFilter(region=region, agency_level=agency_level)
    return map_data.summary(session, scope=scope, flt=flt)


@router.get("/floors/{floor_id}/rooms", summary="A floor's rooms with occupants and totals")
def floor_rooms(session: SessionDep, scope: ScopeDep, floor_id: IdPath) -> dict[str, Any]:
    """Rooms (number, category, usable area, occupants' ranks and allowance, vacancy,
    open findings) and the floor's totals."""
    return map_data.floor_rooms(session, floor_id, scope=scope)
