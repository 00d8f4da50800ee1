"""IMDF 1.0 (Apple Indoor Mapping Data Format) venues: levels and units.

Reads the GeoJSON feature files of an IMDF archive (a folder or the files' bytes) into
plain records with shapely geometries in lon/lat (WGS 84 ≈ CGCS2000).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

__all__ = ["ImdfLevel", "ImdfUnit", "ImdfVenue", "read_imdf_folder", "parse_imdf", "label"]


@dataclass(frozen=True)
class ImdfLevel:
    id: str
    ordinal: int
    name: str
    building_ids: tuple[str, ...]
    outline: BaseGeometry


@dataclass(frozen=True)
class ImdfUnit:
    id: str
    level_id: str
    category: str
    name: str
    number: str | None
    geometry: BaseGeometry


@dataclass
class ImdfVenue:
    levels: list[ImdfLevel] = field(default_factory=list)
    units: list[ImdfUnit] = field(default_factory=list)
    buildings: dict[str, str] = field(default_factory=dict)
    footprints: dict[str, list[BaseGeometry]] = field(default_factory=dict)


def label(value: Any, prefer: tuple[str, ...] = ("zh", "en")) -> str:
    """An IMDF label (language → text) as one string.

    >>> label({"ru": "Этаж 2", "en": "Level 2"})
    'Level 2'
    >>> label(None)
    ''
    """
    if isinstance(value, Mapping):
        for lang in prefer:
            if value.get(lang):
                return str(value[lang])
        return next((str(v) for v in value.values() if v), "")
    return "" if value is None else str(value)


def _features(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(doc.get("features") or [])


def parse_imdf(files: Mapping[str, bytes]) -> ImdfVenue:
    """Parse IMDF feature files given by name (``level.geojson`` …) → venue."""
    venue = ImdfVenue()
    docs = {name: json.loads(data) for name, data in files.items() if name.endswith(".geojson")}
    for f in _features(docs.get("building.geojson", {})):
        venue.buildings[str(f["id"])] = label(f["properties"].get("name"))
    for f in _features(docs.get("footprint.geojson", {})):
        if f.get("geometry") and f["properties"].get("category", "ground") == "ground":
            for bid in f["properties"].get("building_ids") or []:
                venue.footprints.setdefault(str(bid), []).append(
                    shapely.from_geojson(json.dumps(f["geometry"]))
                )
    for f in _features(docs.get("level.geojson", {})):
        p = f["properties"]
        venue.levels.append(
            ImdfLevel(
                id=str(f["id"]),
                ordinal=int(p.get("ordinal", 0)),
                name=label(p.get("short_name")) or label(p.get("name")),
                building_ids=tuple(str(b) for b in (p.get("building_ids") or [])),
                outline=shapely.from_geojson(json.dumps(f["geometry"])),
            )
        )
    for f in _features(docs.get("unit.geojson", {})):
        p = f["properties"]
        if not f.get("geometry"):
            continue
        venue.units.append(
            ImdfUnit(
                id=str(f["id"]),
                level_id=str(p.get("level_id")),
                category=str(p.get("category") or "unspecified"),
                name=label(p.get("name")),
                number=label(p.get("alt_name")) or None,
                geometry=shapely.from_geojson(json.dumps(f["geometry"])),
            )
        )
    return venue


def read_imdf_folder(path: Path) -> ImdfVenue:
    """Read an unpacked IMDF archive folder."""
    return parse_imdf({p.name: p.read_bytes() for p in Path(path).glob("*.geojson")})
