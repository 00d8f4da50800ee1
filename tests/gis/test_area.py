"""Areas: planar in the survey CRS, 0.01 m² half-up, GB/T 50353 storey rule, never Web Mercator."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
import shapely
from pyproj import Geod

from gis.area import (
    ProjectedCRSRequired,
    lonlat_planar_areas,
    planar_areas,
    reprojected_areas,
    round_area,
    storey_building_area,
)
from gis.crs import gk3_zone_crs, transformer


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (18.005, "18.01"),  # half-up at the cent: keeps failing an 18 m² allowance
        (18.004, "18.00"),
        (18.0049999, "18.00"),
        (2.675, "2.68"),  # binary 2.67499… must still round as the decimal 2.675
        (0.005, "0.01"),
        (0.0, "0.00"),
        (123456.785, "123456.79"),
    ],
)
def test_round_area_is_decimal_half_up(value: float, expected: str) -> None:
    assert round_area(value) == Decimal(expected)


@pytest.mark.parametrize("crs", ["EPSG:3857", "EPSG:4326", "EPSG:4490", "EPSG:900913"])
def test_area_refuses_geographic_and_web_mercator(crs: str) -> None:
    with pytest.raises(ProjectedCRSRequired):
        planar_areas(np.array([shapely.box(0, 0, 1, 1)]), crs)


@pytest.mark.parametrize(
    ("lon", "epsg"),
    [
        (118.1, "EPSG:4548"),
        (119.6, "EPSG:4549"),
        (120.16, "EPSG:4549"),
        (121.6, "EPSG:4550"),
        (122.3, "EPSG:4550"),
    ],
)
def test_gk_zone_is_the_nearest_3_degree_central_meridian(lon: float, epsg: str) -> None:
    assert gk3_zone_crs(lon) == epsg


def test_lonlat_area_matches_independent_projection_and_geodesic() -> None:
    # a 30 m x 20 m room drawn in GK metres, 1.4° east of the central meridian
    tr = transformer("EPSG:4549", "EPSG:4490")
    x0, y0 = 500_000 + 1.4 * 96_000, 3_350_000
    ring = np.array([(x0, y0), (x0 + 30, y0), (x0 + 30, y0 + 20), (x0, y0 + 20), (x0, y0)])
    lon, lat = tr.transform(ring[:, 0], ring[:, 1])
    room = shapely.Polygon(np.column_stack((lon, lat)))
    areas, used = lonlat_planar_areas(np.array([room]), "EPSG:4549")
    assert used == "EPSG:4549"
    assert abs(areas[0] - 600.0) < 1e-6  # planar, the survey CRS: exactly what was drawn
    geodesic = abs(Geod(ellps="GRS80").geometry_area_perimeter(room)[0])
    assert abs(areas[0] / geodesic - 1) < 1e-3  # ST_Area(geography) cross-check within 0.1 %
    # and the difference is the Gauss–Krüger scale: k ≈ 1 + x²/2R² → area × k²
    r = 6_371_000.0
    k = 1 + ((x0 + 15 - 500_000) ** 2) / (2 * r * r)
    assert abs(areas[0] / geodesic / k**2 - 1) < 2e-5


def test_web_mercator_would_be_wrong_by_tens_of_percent() -> None:
    room = shapely.box(120.0, 30.0, 120.0003, 30.0002)
    gk, _ = lonlat_planar_areas(np.array([room]))
    tr = transformer("EPSG:4490", "EPSG:3857")
    merc = shapely.area(
        shapely.transform(room, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    )
    assert merc / gk[0] > 1.3  # the reason areas are never computed there


@pytest.mark.parametrize(
    ("height", "counted", "rule_word"),
    [
        (3.0, "100.00", "full"),
        (2.20, "100.00", "full"),
        (Decimal("2.19"), "50.00", "half"),
        (2.1, "50.00", "half"),
        (None, "100.00", "unknown"),
    ],
)
def test_storey_height_rule(height: float | Decimal | None, counted: str, rule_word: str) -> None:
    area, rule = storey_building_area(100.0, height)
    assert area == Decimal(counted)
    assert rule_word in rule
    assert "GB/T 50353-2013" in rule


def test_reprojected_areas_equal_geos_on_reprojected_geometries() -> None:
    # rotated rooms, a room with a hole, a multipolygon, an empty polygon and a missing one
    rng = np.random.default_rng(7)
    n = 500
    lon, lat = rng.uniform(119.0, 121.4, n), rng.uniform(28.0, 31.0, n)
    angle = rng.uniform(0, np.pi, n)
    w, h = rng.uniform(2e-5, 3e-4, n), rng.uniform(2e-5, 3e-4, n)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) / 2
    xs = (
        lon[:, None]
        + (corners[:, 0] * w[:, None]) * np.cos(angle[:, None])
        - (corners[:, 1] * h[:, None]) * np.sin(angle[:, None])
    )
    ys = (
        lat[:, None]
        + (corners[:, 0] * w[:, None]) * np.sin(angle[:, None])
        + (corners[:, 1] * h[:, None]) * np.cos(angle[:, None])
    )
    rooms = list(shapely.polygons(np.stack([xs, ys], axis=-1)))
    outer = shapely.box(120.0, 30.0, 120.001, 30.001)
    rooms.append(
        shapely.Polygon(
            outer.exterior, [shapely.box(120.0002, 30.0002, 120.0004, 30.0004).exterior]
        )
    )
    rooms.append(shapely.multipolygons([outer, shapely.box(120.002, 30.0, 120.003, 30.001)]))
    rooms.append(shapely.Polygon())
    rooms.append(None)
    geoms = np.array(rooms, dtype=object)
    tr = transformer("EPSG:4490", "EPSG:4549")
    expected = shapely.area(
        shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    )
    got = reprojected_areas(geoms, "EPSG:4490", "EPSG:4549")
    assert np.isnan(got[-1]) and np.isnan(expected[-1])
    assert got[-2] == 0.0
    rel = np.abs(got[:-2] / expected[:-2] - 1)
    assert rel.max() <= 1e-9
    assert got[n] < got[n + 1] / 1.9  # the hole is subtracted; both parts counted
