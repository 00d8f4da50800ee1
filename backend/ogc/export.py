"""The register as a GeoPackage: buildings, floors, rooms, agencies and findings.

Rows come from the OGC collections' sources (so the scope and the as-of state are those of
every other read), streamed in batches and appended by pyogrio (GDAL's GPKG driver) in
CGCS2000 (EPSG:4490). Field names are English; each carries its Chinese name in the
GeoPackage schema extension (``gpkg_data_columns``: ``name`` = 中文名, ``title`` = English),
which GDAL reads as the field's alternative name and QGIS shows as the alias. Rooms also
carry the Chinese name of their space category.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from pyogrio.raw import write as write_layer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend import reference
from backend.ogc.collections import COLLECTIONS, Prop
from backend.services.scope import Scope

LAYERS = ("agencies", "buildings", "floors", "rooms", "findings")
BATCH = 20_000
GEOMETRY_TYPES = {
    "geometry-polygon": "MultiPolygon",
    "geometry-point": "Point",
    "geometry-geometry": "Unknown",
    "geometry-multipolygon": "MultiPolygon",
}
EXTRA = {"rooms": (Prop("category_zh", "用房类别名称", "space category (Chinese)"),)}


def _column(values: list[Any]) -> np.ndarray[Any, Any]:
    """A typed array for pyogrio: numbers as float64/int64, the rest as text (or None)."""
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, bool):
        return np.array(values, dtype=object)
    if isinstance(sample, int) and all(v is not None for v in values):
        return np.array(values, dtype=np.int64)
    if isinstance(sample, int | float | Decimal):
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    if isinstance(sample, dt.datetime | dt.date):
        return np.array([None if v is None else v.isoformat() for v in values], dtype=object)
    return np.array([None if v is None else str(v) for v in values], dtype=object)


def _batches(session: Session, layer: str, scope: Scope, day: dt.date | None) -> Iterator[Any]:
    coll = COLLECTIONS[layer]
    src = coll.build(scope, day if coll.temporal else None).subquery("src")
    names = ["id", *(p.name for p in coll.props)]
    category_zh = reference.category_names_zh()
    stmt = (
        select(func.ST_AsBinary(src.c.geom).label("wkb"), *(src.c[n] for n in names))
        .order_by(src.c.id)
        .execution_options(yield_per=BATCH)
    )
    for part in session.execute(stmt).partitions():
        rows = [tuple(r) for r in part]
        cols = {n: [r[i + 1] for r in rows] for i, n in enumerate(names)}
        if layer == "rooms":
            cols["category_zh"] = [category_zh.get(c) if c else None for c in cols["category"]]
        yield [None if r[0] is None else bytes(r[0]) for r in rows], cols


def write_register(
    session: Session, path: Path, *, scope: Scope, day: dt.date | None = None
) -> dict[str, int]:
    """Write the register into a new GeoPackage at ``path``; layer → features written."""
    counts: dict[str, int] = {}
    for layer in LAYERS:
        coll = COLLECTIONS[layer]
        counts[layer] = 0
        for wkb, cols in _batches(session, layer, scope, day):
            write_layer(
                str(path),
                geometry=np.array(wkb, dtype=object),
                field_data=[_column(v) for v in cols.values()],
                fields=list(cols),
                layer=layer,
                driver="GPKG",
                crs="EPSG:4490",
                geometry_type=GEOMETRY_TYPES[coll.geometry],
                append=counts[layer] > 0,
                promote_to_multi=coll.geometry.endswith("polygon"),
            )
            counts[layer] += len(wkb)
        if counts[layer] == 0:  # an empty layer still describes its fields
            names = ["id", *(p.name for p in coll.props), *(p.name for p in EXTRA.get(layer, ()))]
            write_layer(
                str(path), geometry=np.array([], dtype=object),
                field_data=[np.array([], dtype=object) for _ in names], fields=names,
                layer=layer, driver="GPKG", crs="EPSG:4490",
                geometry_type=GEOMETRY_TYPES[coll.geometry],
            )  # fmt: skip
    _describe_columns(path)
    return counts


DATA_COLUMNS_DDL = """
CREATE TABLE IF NOT EXISTS gpkg_data_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, title TEXT,
  description TEXT, mime_type TEXT, constraint_name TEXT,
  CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),
  CONSTRAINT gdc_tn UNIQUE (table_name, name))
"""


def _describe_columns(path: Path) -> None:
    """Chinese names and English titles of every field (GeoPackage schema extension)."""
    with sqlite3.connect(path) as db:
        db.execute(DATA_COLUMNS_DDL)
        db.execute(
            "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT,"
            " extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL,"
            " CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))"
        )
        for layer in LAYERS:
            props = (Prop("id", "编号", "id"), *COLLECTIONS[layer].props, *EXTRA.get(layer, ()))
            for p in props:
                db.execute(
                    "INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name,"
                    " title, description) VALUES (?, ?, ?, ?, ?)",
                    (layer, p.name, p.title_zh, p.title_en, f"{p.title_zh} / {p.title_en}"),
                )
        db.execute(
            "INSERT OR IGNORE INTO gpkg_extensions VALUES ('gpkg_data_columns', NULL,"
            " 'gpkg_schema', 'http://www.geopackage.org/spec/#extension_schema', 'read-write')"
        )
