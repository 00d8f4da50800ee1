"""Rows of the demo province on their way into the register: buffers and COPY."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Connection

from gis.ewkb import hex_ewkb

SRID = 4490


@dataclass
class Agency:
    id: int
    name: str
    level: str
    region_adcode: int
    parent_id: int | None
    seat: tuple[float, float]
    leads_region: str | None = None  # region level whose leaders sit here
    credit_code: str = ""


@dataclass
class Buffers:
    """Rows waiting for COPY, one list of tuples per table."""

    buildings: list[tuple[Any, ...]] = field(default_factory=list)
    floors: list[tuple[Any, ...]] = field(default_factory=list)
    rooms: list[tuple[Any, ...]] = field(default_factory=list)
    occupancies: list[tuple[Any, ...]] = field(default_factory=list)


# columns of the COPY into each table the generator fills, in the order of the buffered tuples
COPY_COLUMNS: dict[str, list[str]] = {
    "buildings": [
        "id",
        "name",
        "address",
        "region_adcode",
        "agency_id",
        "footprint",
        "ownership",
        "registered_owner",
        "land_certificate_no",
        "building_certificate_no",
        "year_built",
        "storeys_above",
        "storeys_below",
        "status",
        "footprint_area_m2",
        "area_method",
        "source",
    ],
    "floors": [
        "id",
        "building_id",
        "level",
        "name",
        "storey_height_m",
        "outline",
        "outline_area_raw",
        "building_area_m2",
        "area_rule",
        "area_method",
        "version",
        "valid_from",
    ],
    "rooms": [
        "id",
        "floor_id",
        "building_id",
        "number",
        "category",
        "subcategory",
        "geom",
        "usable_area_raw",
        "usable_area_m2",
        "area_method",
        "agency_id",
        "region_adcode",
    ],
    "occupancies": [
        "id",
        "room_id",
        "agency_id",
        "person_name",
        "person_id",
        "post_title",
        "rank_code",
        "is_concurrent_post",
        "concurrent_approved",
        "start_date",
        "end_date",
        "left_post_on",
        "left_post_reason",
    ],
}


def copy_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """COPY rows into ``table`` (identifiers are constants of this package)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    cols = ", ".join(columns)
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def to_hex(geoms: np.ndarray) -> list[str]:
    """Hex EWKB in CGCS2000 (the register's SRID)."""
    return hex_ewkb(geoms, SRID)
