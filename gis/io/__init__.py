"""Reading surveyors' plan files safely: a per-extension driver allow-list, limits first.

Formats: GeoJSON, zipped ESRI Shapefile, GeoPackage, DXF (read by GDAL through pyogrio) and
IMDF archives (zipped GeoJSON files). The extension chooses the one format allowed; the
content must then *be* that format (magic bytes) before GDAL sees it, so a VRT, a URL or
XML named ``.geojson`` never reaches another driver. Files are written under our own names
into a private temporary directory (never a path from the upload), GDAL's network access
is disabled by its configuration around every read, and every limit (bytes, zip ratio,
members, features, vertices, JSON nesting) is checked before the expensive step it protects.

One module per concern: ``base`` (refusal, limits, mapping, :class:`PlanData`), ``sniff``
(extension and content), ``archive`` (zip safety), ``gdal`` (reading through GDAL, WKB),
``vector`` (GeoJSON / Shapefile / GeoPackage features), ``shapefile`` (DBF code pages),
``geopackage`` (active content, layers), ``dxf``, ``imdf`` (venues and uploads), ``reader``
(:func:`read_plan`).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gis.io.base import FieldMapping, Limits, PlanData, UploadRefused, text_codec
    from gis.io.dxf import DxfInfo, dxf_scan
    from gis.io.reader import read_plan
    from gis.io.shapefile import shapefile_encoding
    from gis.io.sniff import FORMATS, format_for, json_depth, sniff

# the readers (pyogrio, ezdxf) load on first use: importing gis.io.limits stays light
_HOME = {
    "FieldMapping": "base",
    "Limits": "limits",
    "PlanData": "base",
    "UploadRefused": "base",
    "text_codec": "base",
    "DxfInfo": "dxf",
    "dxf_scan": "dxf",
    "read_plan": "reader",
    "shapefile_encoding": "shapefile",
    "FORMATS": "sniff",
    "format_for": "sniff",
    "json_depth": "sniff",
    "sniff": "sniff",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'gis.io' has no attribute {name!r}")
    return getattr(import_module(f"gis.io.{_HOME[name]}"), name)


__all__ = [
    "Limits",
    "FieldMapping",
    "PlanData",
    "UploadRefused",
    "FORMATS",
    "format_for",
    "sniff",
    "json_depth",
    "read_plan",
    "shapefile_encoding",
    "text_codec",
    "DxfInfo",
    "dxf_scan",
]
