"""TileJSON 3.0.0 documents for the vector-tile layers (``/tiles/{layer}.json``).

The fields listed are those each layer's tile statement writes (``backend.maps.tiles``);
a test decodes tiles and checks every attribute found is declared here.
"""

from __future__ import annotations

from typing import Any

from backend.maps import tiles

FIELDS: dict[str, dict[str, str]] = {
    "buildings": {
        "building_id": "Number", "name": "String", "status": "String",
        "region_adcode": "Number", "agency_id": "Number", "footprint_area_m2": "Number",
    },
    "floors": {
        "floor_id": "Number", "building_id": "Number", "level": "Number", "name": "String",
        "building_area_m2": "Number",
    },
    "rooms": {
        "room_id": "Number", "number": "String", "category": "String", "subcategory": "String",
        "usable_area_m2": "Number", "floor_id": "Number", "building_id": "Number",
        "agency_id": "Number", "level": "Number",
    },
    "compliance": {
        "finding_id": "Number", "rule_code": "String", "object_type": "String",
        "building_id": "Number", "room_id": "Number", "excess_m2": "Number",
        "excess_pct": "Number", "status": "String",
    },
}  # fmt: skip
DESCRIPTIONS = {
    "buildings": "Office building footprints 办公楼 (status, managing agency, footprint area)",
    "floors": "Current floor outlines 楼层 (level, building area)",
    "rooms": "Current rooms 房间 (number, space category, usable area); ?floor=, ?building=, ?level=",
    "compliance": "Open compliance findings 合规问题 on their room or building; ?group=",
}
assert set(FIELDS) == set(tiles.LAYERS)
MAX_ZOOM = 22


def document(layer: str, base_url: str, bounds: list[float] | None) -> dict[str, Any]:
    """The TileJSON of ``layer``; ``bounds`` is the caller's visible extent (lon/lat)."""
    box = bounds or [-180.0, -85.0511, 180.0, 85.0511]
    doc: dict[str, Any] = {
        "tilejson": "3.0.0",
        "name": layer,
        "description": DESCRIPTIONS[layer],
        "scheme": "xyz",
        "tiles": [f"{base_url}/tiles/{layer}/{{z}}/{{x}}/{{y}}.pbf"],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": box,
        "center": [round((box[0] + box[2]) / 2, 6), round((box[1] + box[3]) / 2, 6), 8],
        "vector_layers": [
            {"id": layer, "description": DESCRIPTIONS[layer], "fields": FIELDS[layer],
             "minzoom": 0, "maxzoom": MAX_ZOOM}
        ],
        "attribution": "OfficeMap 办公用房一张图",
    }  # fmt: skip
    return doc
