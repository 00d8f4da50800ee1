"""GDAL vector formats (GeoJSON, Shapefile, GeoPackage): rooms and the outline from features."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from gis.io.base import FieldMapping, Limits, PlanData
from gis.io.gdal import DRIVERS, attributes, gdal_read, is_polygonal, parse_wkb, pick
from gis.io.geopackage import check_gpkg, room_layer
from gis.validate import Issue


def rooms_from(
    plan: PlanData,
    geoms: NDArray[np.object_],
    fields: dict[str, NDArray[Any]],
    mapping: FieldMapping,
    *,
    index: NDArray[np.int64],
    outline_mask: NDArray[np.bool_],
) -> None:
    """Fill ``plan`` with rooms (polygonal features) and the outline (marked features)."""
    n = len(geoms)
    numbers = pick(fields, mapping.number, n)
    categories = pick(fields, mapping.category, n)
    agencies = pick(fields, mapping.agency, n)
    names = pick(fields, mapping.name, n)
    attrs = attributes(fields, n)
    poly = is_polygonal(geoms)
    if outline_mask.any():
        outline = geoms[outline_mask & poly]
        plan.outline = shapely.union_all(outline) if len(outline) > 1 else outline[0]
        plan.outline_index = int(index[np.flatnonzero(outline_mask)[0]])
    rooms = poly & ~outline_mask
    for i in np.flatnonzero(~poly & ~outline_mask & ~shapely.is_missing(geoms)):
        plan.warnings.append(
            Issue(
                "not_a_polygon",
                f"feature is a {shapely.get_type_id(geoms[i]) and geoms[i].geom_type}, "
                "not a room polygon; ignored",
                feature=int(index[i]),
                location=shapely.get_coordinates(geoms[i])[:1].tolist()[0]
                if shapely.get_num_coordinates(geoms[i])
                else None,
                severity="warning",
            )
        )
    for i in np.flatnonzero(shapely.is_missing(geoms)):
        if not any(e.feature == int(index[i]) for e in plan.errors):
            plan.errors.append(
                Issue("missing_geometry", "feature has no geometry", feature=int(index[i]))
            )
    sel = np.flatnonzero(rooms)
    plan.rooms = np.asarray(geoms[sel], dtype=object)
    plan.index = [int(index[i]) for i in sel]
    plan.numbers = [numbers[i] for i in sel]
    plan.categories = [categories[i] for i in sel]
    plan.agencies = [agencies[i] for i in sel]
    plan.names = [names[i] for i in sel]
    plan.attributes = [attrs[i] for i in sel]


def read_vector(
    path: Path, fmt: str, mapping: FieldMapping, limits: Limits, encoding: str | None = None
) -> PlanData:
    driver = DRIVERS[fmt]
    plan = PlanData(format=fmt, driver=driver, encoding=encoding)
    layer = room_layer(path, mapping) if fmt == "gpkg" else None
    meta, wkb, fields = gdal_read(path, driver, limits, layer=layer, encoding=encoding)
    plan.file_crs = meta.get("crs")
    plan.features = len(wkb)
    geoms, issues = parse_wkb(wkb, limits)
    plan.errors += issues
    index = np.arange(len(geoms), dtype=np.int64)
    kind = fields.get(mapping.kind_field) if mapping.kind_field else None
    outline_mask = (
        np.array([str(k).lower() == mapping.outline_value.lower() for k in kind])
        if kind is not None
        else np.zeros(len(geoms), dtype=bool)
    )
    rooms_from(plan, geoms, fields, mapping, index=index, outline_mask=outline_mask)
    if fmt == "gpkg" and mapping.outline_layer:
        _, owkb, _ = gdal_read(path, driver, limits, layer=mapping.outline_layer)
        outlines, oissues = parse_wkb(owkb, limits)
        plan.errors += [
            Issue(i.code, "floor outline: " + i.message, feature=None, location=i.location)
            for i in oissues
        ]
        outlines = outlines[is_polygonal(outlines)]
        if len(outlines):
            plan.outline = shapely.union_all(outlines) if len(outlines) > 1 else outlines[0]
    return plan


def read_file(data: bytes, fmt: str, mapping: FieldMapping, limits: Limits) -> PlanData:
    """A GeoJSON or GeoPackage upload, written under our own name in a private directory."""
    with tempfile.TemporaryDirectory(prefix="officemap-plan-") as tmp:
        path = Path(tmp) / f"plan.{fmt}"
        path.write_bytes(data)
        if fmt == "gpkg":
            check_gpkg(path)
        return read_vector(path, fmt, mapping, limits)
