"""Reading through GDAL (pyogrio): driver check, limits, WKB parsing, attribute fields.

GDAL never touches the network while we read: its configuration is set around each read
(:func:`gdal_config`), never at import time, and put back afterwards.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely
from numpy.typing import NDArray

from gis.io.base import Limits, UploadRefused, too_many
from gis.validate import Issue

DRIVERS = {"geojson": "GeoJSON", "shapefile": "ESRI Shapefile", "gpkg": "GPKG", "dxf": "DXF"}

# GDAL never touches the network: HTTP goes to a closed loopback port and fails at once;
# /vsicurl/ accepts no extension. Closed DXF polylines become polygons.
GDAL_CONFIG: dict[str, Any] = {
    "GDAL_HTTP_PROXY": "127.0.0.1:9",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".officemap-network-disabled",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "DXF_CLOSED_LINE_AS_POLYGON": "TRUE",
    "OGR_SQLITE_JOURNAL": "OFF",
}

_config_lock = threading.RLock()


@contextlib.contextmanager
def gdal_config(options: dict[str, Any] | None = None) -> Iterator[None]:
    """GDAL's configuration for reading an upload (``GDAL_CONFIG``, plus ``options``), set
    for the duration of the block and restored afterwards; reads in one process take turns."""
    wanted = {**GDAL_CONFIG, **(options or {})}
    with _config_lock:
        before = {k: pyogrio.get_gdal_config_option(k) for k in wanted}
        pyogrio.set_gdal_config_options(wanted)
        try:
            yield
        finally:
            pyogrio.set_gdal_config_options(before)


def gdal_read(
    path: Path,
    driver: str,
    limits: Limits,
    *,
    layer: str | None = None,
    encoding: str | None = None,
    before_reading: Callable[[], dict[str, str]] | None = None,
) -> tuple[dict[str, Any], NDArray[np.object_], dict[str, NDArray[Any]]]:
    """Open with GDAL, which identifies the driver from the content; refuse any driver but
    ``driver``; run ``before_reading`` (checks of the identified file, which answer the
    dataset open options to read with); then read."""
    try:
        with gdal_config():
            info = pyogrio.read_info(path, layer=layer, encoding=encoding)
    except Exception as exc:  # GDAL reports any unreadable file as a generic error
        raise _unreadable(driver, exc) from exc
    if info.get("driver") != driver:
        raise UploadRefused(
            "unsupported",
            "content_mismatch",
            f"the content is {info.get('driver')}, not the allowed {driver}",
            "文件内容与扩展名不符",
        )
    if int(info.get("features") or 0) > limits.max_features:
        raise too_many(int(info["features"]), limits)
    options = before_reading() if before_reading is not None else {}
    try:
        with gdal_config(), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            meta, _, geoms, values = pyogrio.raw.read(
                path,
                layer=layer,
                encoding=encoding,
                max_features=limits.max_features + 1,
                **options,
            )
    except Exception as exc:
        raise _unreadable(driver, exc) from exc
    if len(geoms) > limits.max_features:
        raise too_many(len(geoms), limits)
    fields = {str(n): v for n, v in zip(meta["fields"], values, strict=True)}
    return meta, np.asarray(geoms, dtype=object), fields


def _unreadable(driver: str, exc: Exception) -> UploadRefused:
    """GDAL's words go to ``internal`` (the log), never to the answer."""
    return UploadRefused(
        "invalid",
        "unreadable",
        f"the file cannot be read as {driver}",
        f"无法按 {driver} 格式读取该文件",
        internal=str(exc),
    )


def check_vertices(geoms: NDArray[np.object_], limits: Limits) -> None:
    counts = shapely.get_num_coordinates(geoms)
    total = int(counts.sum())
    worst = int(counts.max(initial=0))
    if total > limits.max_vertices or worst > limits.max_feature_vertices:
        raise UploadRefused(
            "invalid",
            "too_many_vertices",
            f"{total} vertices in all, {worst} in one feature (limits {limits.max_vertices}, "
            f"{limits.max_feature_vertices})",
            "顶点数超过上限",
            {"vertices": total, "max_in_one_feature": worst},
        )


def _wkb_budget(wkb: NDArray[np.object_], limits: Limits) -> None:
    # 16 bytes per 2D vertex: refuse vertex bombs before GEOS builds them
    size = sum(len(w) for w in wkb if w is not None)
    if size > 16 * limits.max_vertices + 64 * len(wkb) + 1024:
        raise UploadRefused(
            "invalid",
            "too_many_vertices",
            f"geometries hold about {size // 16} vertices (limit {limits.max_vertices})",
            "顶点数超过上限",
            {"vertices_estimate": size // 16},
        )


def parse_wkb(wkb: NDArray[np.object_], limits: Limits) -> tuple[NDArray[np.object_], list[Issue]]:
    """Geometries from WKB (2D); unclosed rings reported on the raw coordinates."""
    _wkb_budget(wkb, limits)
    geoms = np.asarray(shapely.from_wkb(wkb, on_invalid="ignore"), dtype=object)
    issues: list[Issue] = []
    broken = np.flatnonzero(shapely.is_missing(geoms) & np.array([w is not None for w in wkb]))
    if len(broken):
        fixed = shapely.from_wkb(wkb[broken], on_invalid="fix")
        for i, g in zip(broken, fixed, strict=True):
            loc = shapely.get_coordinates(g)[:1].tolist() if g is not None else []
            issues.append(
                Issue(
                    "unclosed_ring",
                    "ring is not closed: its last vertex differs from the first",
                    feature=int(i),
                    location=loc[0] if loc else None,
                )
            )
            geoms[i] = g
    geoms = np.asarray(shapely.force_2d(geoms), dtype=object)
    check_vertices(geoms, limits)
    return geoms, issues


def text_values(values: Any) -> list[str | None]:
    out: list[str | None] = []
    for v in values:
        if v is None or (isinstance(v, float) and not np.isfinite(v)):
            out.append(None)
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            s = str(v).strip()
            out.append(s or None)
    return out


def pick(fields: dict[str, NDArray[Any]], names: Sequence[str], n: int) -> list[str | None]:
    lower = {k.lower(): k for k in fields}
    for name in names:
        key = name if name in fields else lower.get(name.lower())
        if key is not None:
            return text_values(fields[key])
    return [None] * n


def json_safe(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, str | int | float | bool) or v is None:
        return v
    return str(v)


def attributes(fields: dict[str, NDArray[Any]], n: int) -> list[dict[str, Any]]:
    return [{k: json_safe(v[i]) for k, v in fields.items()} for i in range(n)]


def is_polygonal(geoms: NDArray[np.object_]) -> NDArray[np.bool_]:
    kinds = shapely.get_type_id(geoms)
    return np.isin(kinds, (3, 6))
