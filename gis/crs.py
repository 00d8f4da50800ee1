"""CRS choice and reprojection.

Areas are computed planar in a projected CRS, never in Web Mercator. For lon/lat data the
projected CRS is the CGCS2000 3° Gauss–Krüger zone (EPSG:4534–4554, no zone prefix in the
easting) whose central meridian is nearest to the building.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer

__all__ = [
    "CGCS2000",
    "WEB_MERCATOR_CODES",
    "gk3_zone_crs",
    "gk3_central_meridian",
    "to_lonlat",
    "from_lonlat",
    "transformer",
    "reproject",
    "epsg",
]

CGCS2000 = "EPSG:4490"
WEB_MERCATOR_CODES = frozenset({3857, 3785, 900913, 102100, 102113})


def gk3_central_meridian(lon: float) -> int:
    """Central meridian of the 3° Gauss–Krüger zone containing ``lon``.

    >>> gk3_central_meridian(120.16), gk3_central_meridian(121.6)
    (120, 123)
    """
    return int(round(lon / 3.0) * 3)


@lru_cache(maxsize=128)
def gk3_zone_crs(lon: float) -> str:
    """CRS (as ``EPSG:…`` or a PROJ string) of the 3° GK zone for a longitude.

    Inside China's zones (CM 75°–135°E) this is the CGCS2000 3° GK CM zone
    (EPSG:4534–4554); elsewhere an equivalent transverse Mercator on GRS 1980.

    >>> gk3_zone_crs(120.16)
    'EPSG:4549'
    >>> gk3_zone_crs(30.38)
    '+proj=tmerc +lat_0=0 +lon_0=30 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs'
    """
    cm = gk3_central_meridian(lon)
    if 75 <= cm <= 135:
        return f"EPSG:{4534 + (cm - 75) // 3}"
    return (
        f"+proj=tmerc +lat_0=0 +lon_0={cm} +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs"
    )


@lru_cache(maxsize=64)
def transformer(src: str, dst: str) -> Transformer:
    """Cached pyproj transformer with x=easting/longitude, y=northing/latitude order."""
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


def from_lonlat(lon: np.ndarray, lat: np.ndarray, dst: str) -> tuple[np.ndarray, np.ndarray]:
    """Project lon/lat (CGCS2000) arrays to ``dst``."""
    x, y = transformer(CGCS2000, dst).transform(lon, lat)
    return np.asarray(x), np.asarray(y)


def to_lonlat(x: np.ndarray, y: np.ndarray, src: str) -> tuple[np.ndarray, np.ndarray]:
    """Unproject arrays in ``src`` to lon/lat (CGCS2000)."""
    lon, lat = transformer(src, CGCS2000).transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def reproject(geoms: NDArray[np.object_], src: str, dst: str) -> NDArray[np.object_]:
    """Geometries given in ``src`` as new geometries in ``dst``."""
    tr = transformer(src, dst)
    return np.asarray(
        shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))),
        dtype=object,
    )


def epsg(code: int) -> str:
    """``EPSG:<code>``.

    >>> epsg(4549)
    'EPSG:4549'
    """
    return f"EPSG:{code}"
