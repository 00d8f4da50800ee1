"""GeoPackages: no views or non-standard triggers (checked before GDAL opens the file), the room layer."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pyogrio

from gis.io.base import FieldMapping, UploadRefused
from gis.io.gdal import gdal_config

_GPKG_TRIGGER = re.compile(
    r"^(rtree_.+_(insert|insert\d|update\d?|update\d|delete)|"
    r"gpkg_(tile_matrix|metadata|data_columns|extensions|spatial_ref_sys)_.+|"
    r"trigger_(insert|update)_feature_count_.+|trigger_delete_feature_count_.+)$"
)


def check_gpkg(path: Path) -> list[str]:
    """Inspect sqlite_master read-only before GDAL opens the file: no views, no own triggers."""
    uri = f"file:{path}?mode=ro&immutable=1"
    try:
        con = sqlite3.connect(uri, uri=True)
        try:
            rows = con.execute("SELECT type, name, tbl_name FROM sqlite_master").fetchall()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise UploadRefused(
            "invalid",
            "gpkg_corrupt",
            "not a readable GeoPackage",
            "GeoPackage 无法读取",
            internal=str(exc),
        ) from exc
    views = [n for t, n, _ in rows if t == "view"]
    triggers = [n for t, n, _ in rows if t == "trigger" and not _GPKG_TRIGGER.match(n)]
    if views or triggers:
        raise UploadRefused(
            "invalid",
            "gpkg_active_content",
            "the GeoPackage contains views or triggers beyond the standard ones; "
            "they are refused (nothing was executed)",
            "GeoPackage 含有视图或非标准触发器，已拒绝（未执行任何内容）",
            {"views": views, "triggers": triggers},
        )
    return [n for t, n, tbl in rows if t == "table"]


def room_layer(path: Path, mapping: FieldMapping) -> str:
    """The GeoPackage's room layer: ``mapping.layer``, else its one layer besides the outline's."""
    with gdal_config():
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
    wanted = [n for n in (mapping.layer, mapping.outline_layer) if n]
    missing = [n for n in wanted if n not in layers]
    if missing or (
        mapping.layer is None and len([n for n in layers if n != mapping.outline_layer]) != 1
    ):
        raise UploadRefused(
            "invalid",
            "layer_not_found" if missing else "layer_ambiguous",
            "choose the room layer with mapping.layer"
            + (f": {missing} not found" if missing else ""),
            "请用 mapping.layer 指定房间图层",
            {"layers": layers},
        )
    return mapping.layer or next(n for n in layers if n != mapping.outline_layer)
