"""The plan pipeline runs without a database: its lookups and site are plain values."""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Geod

from gis import pipeline
from gis.io import PlanData

CRS = 4549  # CGCS2000 3° GK CM 120°E
X0, Y0 = 500_000.0, 3_300_000.0  # near 120°E, 29.8°N
THRESHOLDS = pipeline.Thresholds(
    min_room_m2=1.0,
    max_room_m2=2_000.0,
    absurd_room_m2=100_000.0,
    overlap_tolerance_m2=0.01,
    outside_tolerance_m2=0.05,
    georef_max_rms_m=0.05,
    geodesic_tolerance=0.001,
    far_from_building_m=200.0,
    usable_coefficient_min=None,
    usable_coefficient_max=None,
)


def _geodesic(lonlat: np.ndarray) -> np.ndarray:
    geod = Geod(ellps="GRS80")
    return np.array([abs(geod.geometry_area_perimeter(g)[0]) for g in lonlat])


LOOKUPS = pipeline.Lookups(
    category=lambda value, imdf: ("office", None) if value == "office" else (None, None),
    known_agencies=lambda ids: ids & {7},
    geodesic_areas=_geodesic,
)
SITE = pipeline.Site(
    region=shapely.box(119.0, 29.0, 121.0, 31.0), region_code=330100, default_agency=3
)


def _plan(rooms: list[shapely.Polygon], outline: shapely.Polygon | None = None) -> PlanData:
    n = len(rooms)
    return PlanData(
        format="geojson",
        driver="GeoJSON",
        features=n,
        rooms=np.array(rooms, dtype=object),
        index=list(range(n)),
        numbers=[f"R{i}" for i in range(n)],
        categories=["office", "lab"][:n],
        agencies=["7", "99"][:n],
        names=[None] * n,
        attributes=[{} for _ in range(n)],
        outline=outline,
    )


def _run(plan: PlanData) -> pipeline.PlanCheck:
    inp = pipeline.PlanInput(level=1, crs=CRS, storey_height_m=3.0)
    return pipeline.run(lambda: plan, inp, SITE, THRESHOLDS, LOOKUPS)


def test_a_clean_plan_gives_rows_floor_and_warnings_only() -> None:
    a = shapely.box(X0, Y0, X0 + 5, Y0 + 4)
    b = shapely.box(X0 + 5, Y0, X0 + 10, Y0 + 4)
    check = _run(_plan([a, b], outline=shapely.box(X0 - 1, Y0 - 1, X0 + 11, Y0 + 5)))
    report = check.report()
    assert report["errors"] == []
    assert {w["code"] for w in report["warnings"]} == {"unknown_agency", "unknown_category"}
    assert [r["agency_id"] for r in report["rooms"]] == [7, 3]
    assert [r["usable_area_m2"] for r in report["rooms"]] == [20.0, 20.0]
    assert report["floor"]["building_area_m2"] == 72.0 and report["floor"]["rooms"] == 2
    assert check.frame is not None and check.frame.crs == "EPSG:4549"


def test_overlapping_rooms_stop_at_the_overlap_step_with_its_location_crs() -> None:
    a = shapely.box(X0, Y0, X0 + 5, Y0 + 4)
    b = shapely.box(X0 + 4, Y0, X0 + 9, Y0 + 4)
    report = _run(_plan([a, b])).report()
    overlap = [e for e in report["errors"] if e["code"] == "overlap"]
    assert overlap and overlap[0]["details"]["location_crs"] == "EPSG:4549"


def test_invalid_geometry_stops_before_projection() -> None:
    bowtie = shapely.Polygon([(X0, Y0), (X0 + 4, Y0 + 4), (X0 + 4, Y0), (X0, Y0 + 4)])
    check = _run(_plan([bowtie]))
    assert check.frame is None and check.rows == []
    assert {e["code"] for e in check.report()["errors"]} == {"self_intersection", "zero_area"}
