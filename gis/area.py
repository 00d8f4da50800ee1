"""Areas from geometry: planar in a projected CRS, reported to 0.01 m² half-up.

Usable area (使用面积) of rooms and building area (建筑面积) of floors under
GB/T 50353-2013: a storey with structural height ≥ 2.20 m counts in full, below half.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from gis.crs import WEB_MERCATOR_CODES, gk3_zone_crs

__all__ = [
    "FULL_HEIGHT_M",
    "ProjectedCRSRequired",
    "round_area",
    "planar_areas",
    "lonlat_planar_areas",
    "reprojected_areas",
    "storey_building_area",
    "area_method",
]

FULL_HEIGHT_M = Decimal("2.20")
CENT = Decimal("0.01")
PARALLEL_MIN = 200_000  # geometries; below this one thread is as fast


class ProjectedCRSRequired(ValueError):
    """Area asked for in a CRS that is geographic or Web Mercator."""


def round_area(value: float | Decimal) -> Decimal:
    """Round an area to 0.01 m², half-up (decimal, not binary, half-up).

    >>> round_area(18.005), round_area(18.004), round_area(0.125)
    (Decimal('18.01'), Decimal('18.00'), Decimal('0.13'))
    """
    # repr() gives the shortest decimal that round-trips the float: 18.005 stays 18.005
    return Decimal(repr(float(value)) if not isinstance(value, Decimal) else value).quantize(
        CENT, rounding=ROUND_HALF_UP
    )


def area_method(crs: str) -> str:
    """The method string stored with every area figure.

    >>> area_method("EPSG:4549")
    'planar:EPSG:4549'
    """
    return f"planar:{crs}"


def _check_projected(crs: str) -> None:
    from pyproj import CRS

    parsed = CRS.from_user_input(crs)
    if parsed.is_geographic or (parsed.to_epsg() or 0) in WEB_MERCATOR_CODES:
        raise ProjectedCRSRequired(f"areas need a projected survey CRS, not {crs}")
    if "Pseudo-Mercator" in parsed.name or "Popular Visualisation" in parsed.name:
        raise ProjectedCRSRequired(f"areas are never computed in Web Mercator ({crs})")


def planar_areas(geoms: NDArray[np.object_], crs: str) -> NDArray[np.float64]:
    """Planar areas (m²) of geometries already in a projected metric ``crs``.

    >>> planar_areas(np.array([shapely.box(0, 0, 4, 4.5)]), "EPSG:4549")
    array([18.])
    """
    _check_projected(crs)
    return np.asarray(shapely.area(geoms), dtype=np.float64)


def lonlat_planar_areas(
    geoms: NDArray[np.object_], crs: str | None = None
) -> tuple[NDArray[np.float64], str]:
    """Areas (m²) of lon/lat (CGCS2000) geometries, planar in a 3° GK zone.

    Without ``crs`` the zone is the one of the first geometry's centroid (a plan is one
    building: one zone). Returns the areas and the CRS used.

    >>> sq = shapely.box(120.0, 30.0, 120.001, 30.001)
    >>> areas, used = lonlat_planar_areas(np.array([sq]))
    >>> used, round(float(areas[0]), 1)
    ('EPSG:4549', 10695.7)
    """
    if len(geoms) == 0:
        return np.zeros(0), crs or ""
    if crs is None:
        c = shapely.centroid(geoms[0])
        crs = gk3_zone_crs(float(shapely.get_x(c)))
    return reprojected_areas(geoms, "EPSG:4490", crs), crs


def reprojected_areas(
    geoms: NDArray[np.object_], src: str, dst: str, *, parallel: bool = True
) -> NDArray[np.float64]:
    """Planar areas (m²) in the projected ``dst`` of geometries given in ``src``.

    Single-ring polygons (rooms, also as the parts of multipolygons) take the fast path: their vertices are reprojected in one
    pyproj call on flat arrays (closing vertices skipped: they repeat the first) and the
    area is the shoelace sum relative to each ring's first vertex, as GEOS computes it.
    Anything else (polygons with holes, empty) is reprojected with ``shapely.transform``
    and measured by GEOS; missing geometries give NaN.

    >>> sq = shapely.box(120.0, 30.0, 120.001, 30.001)
    >>> holed = shapely.Polygon(sq.exterior, [shapely.box(120.0002, 30.0002, 120.0004, 30.0004).exterior])
    >>> a = reprojected_areas(np.array([sq, holed, None]), "EPSG:4490", "EPSG:4549")
    >>> [round(float(x), 1) for x in a]
    [10695.7, 10267.9, nan]
    """
    _check_projected(dst)
    if parallel and len(geoms) >= PARALLEL_MIN:
        # shapely, pyproj and numpy release the GIL: halves of a large array run in parallel
        half = len(geoms) // 2
        with ThreadPoolExecutor(2) as pool:
            parts = list(
                pool.map(
                    lambda g: reprojected_areas(g, src, dst, parallel=False),
                    (geoms[:half], geoms[half:]),
                )
            )
        return np.concatenate(parts)
    tr = Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)
    areas = np.full(len(geoms), np.nan)
    kind = shapely.get_type_id(geoms)
    filled = ~shapely.is_empty(geoms)
    simple = (kind == 3) & (shapely.get_num_interior_rings(geoms) == 0) & filled
    if simple.any():
        areas[simple] = _single_ring_areas(geoms[simple], tr)
    multi = (kind == 6) & filled
    if multi.any():  # the sum of the parts' areas (each part a polygon)
        parts, owner = shapely.get_parts(geoms[multi], return_index=True)
        part_areas = reprojected_areas(np.asarray(parts, dtype=object), src, dst, parallel=False)
        areas[multi] = np.bincount(owner, weights=part_areas, minlength=int(multi.sum()))
    other = ~simple & ~multi & ~shapely.is_missing(geoms)
    if other.any():
        projected = shapely.transform(
            geoms[other], lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))
        )
        areas[other] = shapely.area(projected)
    return areas


def _single_ring_areas(polygons: NDArray[np.object_], tr: Any) -> NDArray[np.float64]:
    """Areas of hole-free polygons after reprojecting their vertices once (flat arrays)."""
    coords = shapely.get_coordinates(polygons)
    counts = shapely.get_num_coordinates(polygons)
    ends = np.cumsum(counts)
    keep = np.ones(len(coords), dtype=bool)
    keep[ends - 1] = False  # the closing vertex repeats the first one
    x, y = tr.transform(coords[keep, 0], coords[keep, 1])
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    sizes = counts - 1
    ring = np.repeat(np.arange(len(polygons)), sizes)
    starts = np.cumsum(sizes) - sizes
    nxt = np.arange(1, len(x) + 1)
    nxt[np.cumsum(sizes) - 1] = starts  # each ring wraps to its first vertex
    dx, dy = x - x[starts][ring], y - y[starts][ring]
    cross = dx * dy[nxt] - dx[nxt] * dy
    return np.abs(np.bincount(ring, weights=cross, minlength=len(polygons))) / 2.0


def storey_building_area(
    outline_area: float, storey_height_m: Decimal | float | None
) -> tuple[Decimal, str]:
    """Building area counted for one storey under GB/T 50353-2013 §3.0.1.

    Full area at a structural storey height ≥ 2.20 m, half below. Unknown height counts in
    full and says so.

    >>> storey_building_area(100.0, 3.0)
    (Decimal('100.00'), 'GB/T 50353-2013 3.0.1: height 3.00 m >= 2.20 m, full')
    >>> storey_building_area(100.0, Decimal('2.19'))
    (Decimal('50.00'), 'GB/T 50353-2013 3.0.1: height 2.19 m < 2.20 m, half')
    """
    if storey_height_m is None:
        return round_area(outline_area), "GB/T 50353-2013 3.0.1: height unknown, counted full"
    h = Decimal(str(storey_height_m)).quantize(CENT, rounding=ROUND_HALF_UP)
    if h >= FULL_HEIGHT_M:
        return round_area(outline_area), f"GB/T 50353-2013 3.0.1: height {h} m >= 2.20 m, full"
    return (
        round_area(outline_area / 2.0),
        f"GB/T 50353-2013 3.0.1: height {h} m < 2.20 m, half",
    )
