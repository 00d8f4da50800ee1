"""Coordinate reference systems of the OGC API (Part 2): CRS84, CGCS2000 and its GK zones.

Geometries are stored in EPSG:4490 with lon/lat order. CRS84 is served as stored
(CGCS2000 is treated as WGS84-equivalent for display, as everywhere in OfficeMap). Every
EPSG CRS offered here lists northing/latitude first (checked against the EPSG database by
pyproj when the table is built), so answers in them swap the axes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pyproj import CRS as ProjCRS

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_PREFIX = "http://www.opengis.net/def/crs/EPSG/0/"
STORAGE_SRID = 4490
GK_SRIDS = range(4491, 4555)  # CGCS2000 Gauss–Krüger 6° (4491–4512) and 3° (4513–4554) zones


@dataclass(frozen=True)
class Crs:
    """One offered CRS: its URI, the PostGIS SRID and whether axes are swapped vs lon/lat."""

    uri: str
    srid: int
    swap_axes: bool

    @property
    def projected(self) -> bool:
        return self.srid != STORAGE_SRID

    @property
    def header(self) -> str:
        """The ``Content-Crs`` header value."""
        return f"<{self.uri}>"


@lru_cache(maxsize=1)
def supported() -> dict[str, Crs]:
    """URI → Crs for CRS84, EPSG:4490 and the CGCS2000 GK zones 4491–4554."""
    table = {CRS84: Crs(CRS84, STORAGE_SRID, swap_axes=False)}
    for srid in (STORAGE_SRID, *GK_SRIDS):
        first = ProjCRS.from_epsg(srid).axis_info[0].direction
        table[f"{EPSG_PREFIX}{srid}"] = Crs(
            f"{EPSG_PREFIX}{srid}", srid, swap_axes=first in ("north", "south")
        )
    return table


def uris() -> list[str]:
    return list(supported())


def parse(value: str) -> Crs | None:
    """The CRS named by a URI (also ``[EPSG:4549]``/``EPSG:4549`` CURIEs), or None.

    >>> parse("http://www.opengis.net/def/crs/OGC/1.3/CRS84").srid
    4490
    >>> parse("[EPSG:4549]").swap_axes, parse("EPSG:4549").srid
    (True, 4549)
    >>> parse("EPSG:3857") is None
    True
    """
    v = value.strip().removeprefix("[").removesuffix("]")
    if v.upper() in ("OGC:CRS84", "CRS84"):
        v = CRS84
    elif v.upper().startswith("EPSG:"):
        v = EPSG_PREFIX + v[5:]
    elif v.startswith("https://www.opengis.net/"):
        v = "http://" + v.removeprefix("https://")
    return supported().get(v)
