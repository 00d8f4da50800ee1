"""IMDF 1.0 (Apple Indoor Mapping Data Format): one reader for venues and for uploads.

An IMDF archive is a set of GeoJSON feature files in lon/lat (WGS 84 ≈ CGCS2000). The
same feature helpers serve both uses: :func:`parse_imdf` / :func:`read_imdf_folder` read
a whole venue (levels, units, buildings, footprints: the demo's surveyed buildings), and
:func:`read_imdf` reads one level of an uploaded archive as a :class:`PlanData`, with the
limits and refusals of every upload.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.io.base import FieldMapping, Limits, PlanData, UploadRefused, too_many
from gis.io.gdal import check_vertices
from gis.io.sniff import check_json
from gis.validate import Issue

__all__ = [
    "ImdfLevel",
    "ImdfUnit",
    "ImdfVenue",
    "read_imdf_folder",
    "parse_imdf",
    "read_imdf",
    "label",
]


# ------------------------------------------------------------------ features
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


def features(doc: Any, name: str) -> list[dict[str, Any]]:
    """The features of an IMDF GeoJSON file (a FeatureCollection), else refuse; each with
    ``properties`` an object (anything else counts as none) and ``id`` a string or number."""
    found = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(found, list):
        raise UploadRefused(
            "invalid",
            "imdf_not_feature_collection",
            f"{name} is not a GeoJSON FeatureCollection",
            f"{name} 不是 GeoJSON 要素集合",
            {"file": name},
        )
    return [_feature(f) for f in found if isinstance(f, dict)]


def _feature(f: dict[str, Any]) -> dict[str, Any]:
    props = f.get("properties")
    fid = f.get("id")
    return {
        **f,
        "properties": props if isinstance(props, dict) else {},
        "id": fid if isinstance(fid, str | int) and not isinstance(fid, bool) else None,
    }


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def ordinal(props: dict[str, Any]) -> int | None:
    """An IMDF level's ``ordinal`` as an integer; None when missing or not an integer.

    >>> ordinal({"ordinal": 2}), ordinal({"ordinal": "2"}), ordinal({"ordinal": "two"})
    (2, 2, None)
    """
    value = props.get("ordinal")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e6:
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,6}", value.strip()):
        return int(value)
    return None


def level_name(props: dict[str, Any]) -> str:
    """A level's short name, else its name."""
    return label(props.get("short_name")) or label(props.get("name"))


def _geometry(geometry: Any) -> BaseGeometry:
    return shapely.from_geojson(json.dumps(geometry))


# ------------------------------------------------------------------ venues
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


def parse_imdf(files: Mapping[str, bytes]) -> ImdfVenue:
    """Parse IMDF feature files given by name (``level.geojson`` …) → venue."""
    venue = ImdfVenue()
    docs = {name: json.loads(data) for name, data in files.items() if name.endswith(".geojson")}

    def of(name: str) -> list[dict[str, Any]]:
        return features(docs[name], name) if name in docs else []

    for f in of("building.geojson"):
        venue.buildings[str(f["id"])] = label(f["properties"].get("name"))
    for f in of("footprint.geojson"):
        if f.get("geometry") and f["properties"].get("category", "ground") == "ground":
            for bid in _as_list(f["properties"].get("building_ids")):
                venue.footprints.setdefault(str(bid), []).append(_geometry(f["geometry"]))
    for f in of("level.geojson"):
        p = f["properties"]
        venue.levels.append(
            ImdfLevel(
                id=str(f["id"]),
                ordinal=ordinal(p) or 0,
                name=level_name(p),
                building_ids=tuple(str(b) for b in _as_list(p.get("building_ids"))),
                outline=_geometry(f["geometry"]),
            )
        )
    for f in of("unit.geojson"):
        p = f["properties"]
        if f.get("geometry"):
            venue.units.append(
                ImdfUnit(
                    id=str(f["id"]),
                    level_id=str(p.get("level_id")),
                    category=str(p.get("category") or "unspecified"),
                    name=label(p.get("name")),
                    number=label(p.get("alt_name")) or None,
                    geometry=_geometry(f["geometry"]),
                )
            )
    return venue


def read_imdf_folder(path: Path) -> ImdfVenue:
    """Read an unpacked IMDF archive folder."""
    return parse_imdf({p.name: p.read_bytes() for p in Path(path).glob("*.geojson")})


# ------------------------------------------------------------------ uploads
REQUIRED = ("manifest.json", "level.geojson", "unit.geojson")


def _ring_closed(coords: Any) -> bool:
    return isinstance(coords, list) and len(coords) > 0 and coords[0] == coords[-1]


def raw_unclosed(geometry: Any) -> list[float] | None:
    """First vertex of an unclosed ring in a GeoJSON polygon, from the raw coordinates."""
    if not isinstance(geometry, dict):
        return None
    polys = (
        [geometry.get("coordinates")]
        if geometry.get("type") == "Polygon"
        else (geometry.get("coordinates") or [])
        if geometry.get("type") == "MultiPolygon"
        else []
    )
    for poly in polys if isinstance(polys, list) else []:
        for ring in poly if isinstance(poly, list) else []:
            if not _ring_closed(ring):
                first = ring[0] if isinstance(ring, list) and ring else None
                return list(first[:2]) if isinstance(first, list) else None
    return None


def _documents(members: dict[str, bytes], limits: Limits) -> dict[str, Any]:
    """manifest, levels and units of an uploaded archive, parsed after the depth check."""
    by_name = {Path(n).name: d for n, d in members.items()}
    if any(name not in by_name for name in REQUIRED):
        raise UploadRefused(
            "invalid",
            "imdf_incomplete",
            "an IMDF archive needs manifest.json, level.geojson and unit.geojson",
            "IMDF 压缩包须包含 manifest.json、level.geojson 和 unit.geojson",
            {"files": sorted(by_name)},
        )
    docs: dict[str, Any] = {}
    for name in REQUIRED:
        check_json(by_name[name], limits, name)
        try:
            docs[name] = json.loads(by_name[name])
        except (ValueError, RecursionError) as exc:
            raise UploadRefused(
                "invalid",
                "unreadable",
                f"{name} is not valid JSON: {exc}",
                f"{name} 不是有效的 JSON",
            ) from exc
    return docs


def _choose_level(
    levels: list[dict[str, Any]], level: int, mapping: FieldMapping
) -> dict[str, Any]:
    """The one IMDF level meant: ``mapping.imdf_level`` (its id), else the level's ordinal
    (in ``mapping.imdf_building`` when given); refuse when none or several match."""
    if mapping.imdf_level:
        chosen = [f for f in levels if str(f.get("id")) == mapping.imdf_level]
    else:
        chosen = [
            f
            for f in levels
            if ordinal(f["properties"]) == level
            and (
                mapping.imdf_building is None
                or mapping.imdf_building in _as_list(f["properties"].get("building_ids"))
            )
        ]
    if len(chosen) == 1:
        return chosen[0]
    options = [
        {
            "id": f.get("id"),
            "ordinal": (f.get("properties") or {}).get("ordinal"),
            "building_ids": (f.get("properties") or {}).get("building_ids"),
        }
        for f in levels
    ]
    raise UploadRefused(
        "invalid",
        "imdf_level_ambiguous" if chosen else "imdf_level_not_found",
        f"{len(chosen)} IMDF levels match level {level}; choose one with "
        "mapping.imdf_level (level id) or mapping.imdf_building",
        "无法确定 IMDF 楼层，请用 mapping.imdf_level 或 mapping.imdf_building 指定",
        {"levels": options},
    )


def _unit_geometries(units: list[dict[str, Any]], plan: PlanData, limits: Limits) -> None:
    """The units' geometries (2D) with unclosed rings found on the raw coordinates."""
    raw = [json.dumps(u.get("geometry")) if u.get("geometry") else None for u in units]
    geoms = np.asarray(
        shapely.from_geojson(np.array(raw, dtype=object), on_invalid="ignore"), dtype=object
    )
    for i, u in enumerate(units):
        loc = raw_unclosed(u.get("geometry"))
        if loc is not None:
            plan.errors.append(
                Issue(
                    "unclosed_ring", "ring is not closed (raw coordinates)", feature=i, location=loc
                )
            )
    check_vertices(geoms, limits)
    plan.rooms = geoms


def _level_outline(lv: dict[str, Any], plan: PlanData) -> None:
    outline_loc = raw_unclosed(lv.get("geometry"))
    if outline_loc is not None:
        plan.errors.append(
            Issue("unclosed_ring", "floor outline ring is not closed", location=outline_loc)
        )
    elif lv.get("geometry"):
        plan.outline = shapely.from_geojson(json.dumps(lv["geometry"]), on_invalid="ignore")


def read_imdf(
    members: dict[str, bytes], level: int, mapping: FieldMapping, limits: Limits
) -> PlanData:
    """One level of an uploaded IMDF archive: its units are the rooms, its outline the floor's."""
    plan = PlanData(format="imdf", driver="IMDF (GeoJSON)", file_crs="EPSG:4326")
    docs = _documents(members, limits)
    levels = features(docs["level.geojson"], "level.geojson")
    units = features(docs["unit.geojson"], "unit.geojson")
    if len(units) > limits.max_features:
        raise too_many(len(units), limits)
    lv = _choose_level(levels, level, mapping)
    plan.level_name = level_name(lv.get("properties") or {})
    mine = [u for u in units if (u.get("properties") or {}).get("level_id") == lv.get("id")]
    plan.features = len(mine)
    _unit_geometries(mine, plan, limits)
    _level_outline(lv, plan)
    props = [u.get("properties") or {} for u in mine]
    plan.index = list(range(len(mine)))
    plan.numbers = [
        next((label(p.get(k)) for k in mapping.number if label(p.get(k))), None) for p in props
    ]
    plan.categories = [str(p.get("category")) if p.get("category") else None for p in props]
    plan.agencies = [None] * len(mine)
    plan.names = [label(p.get("name")) or None for p in props]
    plan.attributes = [
        {"imdf_id": str(u.get("id")), "imdf_category": p.get("category")}
        for u, p in zip(mine, props, strict=True)
    ]
    plan.errors += [
        Issue("missing_geometry", "unit has no readable geometry", feature=i)
        for i, g in enumerate(plan.rooms)
        if g is None and not any(e.feature == i for e in plan.errors)
    ]
    plan.rooms = np.asarray(shapely.force_2d(plan.rooms), dtype=object)
    return plan
