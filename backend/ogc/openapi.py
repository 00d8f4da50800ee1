"""The OpenAPI 3.0 definition of ``/ogc`` (the landing page's ``service-desc``).

Written out per collection, as the standard's test suites look parameters up by the
concrete path; the parameter definitions are those of the OGC API – Features specs.
"""

from __future__ import annotations

from typing import Any

from backend.ogc import crs, params
from backend.ogc.collections import COLLECTIONS

OAS_MEDIA = "application/vnd.oai.openapi+json;version=3.0"

PARAMETERS: dict[str, Any] = {
    "f": {
        "name": "f", "in": "query", "required": False, "style": "form", "explode": False,
        "description": "Output format: json (GeoJSON/JSON) or html.",
        "schema": {"type": "string", "enum": list(params.FORMATS)},
    },
    "limit": {
        "name": "limit", "in": "query", "required": False, "style": "form", "explode": False,
        "description": f"Number of features on a page (1 to {params.MAX_LIMIT:,}; more is answered with 400).",
        "schema": {"type": "integer", "minimum": 1, "maximum": params.MAX_LIMIT,
                   "default": params.DEFAULT_LIMIT},
    },
    "offset": {
        "name": "offset", "in": "query", "required": False, "style": "form", "explode": False,
        "description": "Features to skip (the next/prev links set it).",
        "schema": {"type": "integer", "minimum": 0, "maximum": params.MAX_OFFSET, "default": 0},
    },
    "bbox": {
        "name": "bbox", "in": "query", "required": False, "style": "form", "explode": False,
        "description": "Lower left and upper right corner in bbox-crs (CRS84 lon/lat by default).",
        "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
    },
    "bbox-crs": {
        "name": "bbox-crs", "in": "query", "required": False, "style": "form", "explode": False,
        "description": "CRS of bbox (URI).",
        "schema": {"type": "string", "format": "uri", "enum": crs.uris()},
    },
    "crs": {
        "name": "crs", "in": "query", "required": False, "style": "form", "explode": False,
        "description": "CRS of the answer's geometries (URI; CRS84 by default).",
        "schema": {"type": "string", "format": "uri", "enum": crs.uris()},
    },
    "datetime": {
        "name": "datetime", "in": "query", "required": False, "style": "form", "explode": False,
        "description": (
            "RFC 3339 date, date-time or interval. Buildings, floors and rooms answer with the "
            "register as it stood at the end of that day (China Standard Time); an interval "
            "with the state at its end. Other collections have no time and ignore it."
        ),
        "schema": {"type": "string"},
    },
    "filter": {
        "name": "filter", "in": "query", "required": False, "style": "form", "explode": False,
        "description": "CQL2 filter over the collection's queryables.",
        "schema": {"type": "string"},
    },
    "filter-lang": {
        "name": "filter-lang", "in": "query", "required": False, "style": "form",
        "explode": False,
        "schema": {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"},
    },
    "filter-crs": {
        "name": "filter-crs", "in": "query", "required": False, "style": "form",
        "explode": False,
        "description": "CRS of geometry literals in the filter (CRS84 by default).",
        "schema": {"type": "string", "format": "uri", "enum": crs.uris()},
    },
    "featureId": {
        "name": "featureId", "in": "path", "required": True,
        "schema": {"type": "string"},
    },
}  # fmt: skip

ITEMS_PARAMS = ["f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "filter",
                "filter-lang", "filter-crs"]  # fmt: skip


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _get(summary: str, media: str, refs: list[str]) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": [_ref(r) for r in refs],
            "responses": {
                "200": {"description": summary, "content": {media: {}, "text/html": {}}},
                "400": {"description": "unknown or malformed parameter"},
                "401": {"description": "not signed in"},
                "404": {"description": "not found or outside the caller's scope"},
            },
            "security": [{"bearer": []}],
        }
    }


def document(base_url: str) -> dict[str, Any]:
    """The OAS 3.0 document of the OGC API rooted at ``base_url`` (…/ogc)."""
    paths: dict[str, Any] = {
        "/": _get("Landing page", "application/json", ["f"]),
        "/conformance": _get("Conformance declaration", "application/json", ["f"]),
        "/collections": _get("Feature collections", "application/json", ["f"]),
    }
    for cid, coll in COLLECTIONS.items():
        paths[f"/collections/{cid}"] = _get(
            f"{coll.title_en} {coll.title}", "application/json", ["f"]
        )
        paths[f"/collections/{cid}/items"] = _get(
            f"Features of {coll.title_en} {coll.title}", "application/geo+json", ITEMS_PARAMS
        )
        paths[f"/collections/{cid}/items/{{featureId}}"] = _get(
            f"One feature of {coll.title_en}", "application/geo+json", ["featureId", "crs", "f"]
        )
        paths[f"/collections/{cid}/queryables"] = _get(
            f"Queryables of {coll.title_en}", "application/schema+json", ["f"]
        )
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "OfficeMap OGC API – Features 办公用房一张图",
            "version": "1.0.0",
            "description": (
                "The register's buildings, floors, rooms, agencies, findings and regions "
                "(OGC API – Features Parts 1–3), filtered by the caller's scope. Send the "
                "same Bearer token as the rest of the API."
            ),
        },
        "servers": [{"url": base_url}],
        "paths": paths,
        "components": {
            "parameters": PARAMETERS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }  # fmt: skip
