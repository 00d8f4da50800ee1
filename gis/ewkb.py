"""Geometries as hex EWKB (with their SRID), the text form PostGIS casts to ``geometry``."""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray


def hex_ewkb(geoms: NDArray[np.object_], srid: int) -> list[str]:
    """Hex EWKB of each geometry, with ``srid``.

    >>> hex_ewkb(np.array([shapely.Point(1, 2)]), 4490)[0][:18]
    '01010000208A110000'
    """
    return list(shapely.to_wkb(shapely.set_srid(geoms, srid), hex=True, include_srid=True))


def multipolygon_hex_ewkb(geoms: NDArray[np.object_], srid: int) -> list[str]:
    """Hex EWKB of each (multi)polygon as a MultiPolygon (the rooms and floors columns)."""
    multi = np.array(
        [g if g.geom_type == "MultiPolygon" else shapely.multipolygons([g]) for g in geoms],
        dtype=object,
    )
    return hex_ewkb(multi, srid)
