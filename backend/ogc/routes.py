"""OGC API – Features under /ogc: thin routes that parse, call the service and add links.

Authentication is the API's own (Bearer token or session cookie), scope the caller's.
Only the API definition (``/ogc/api``) is public, like ``/api/v1/openapi.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.background import BackgroundTask

from backend.api.deps import AsOfDep, ReadPrincipalDep, ReadSessionDep
from backend.api.html import page_response
from backend.ogc import crs as crs_mod
from backend.ogc import export, openapi, params, service, tilejson
from backend.ogc.collections import COLLECTIONS, Collection
from backend.ogc.schemas import (
    CONFORMANCE,
    GEOJSON,
    HTML,
    JSON,
    REL_CONFORMANCE,
    REL_DATA,
    REL_QUERYABLES,
    SCHEMA_JSON,
    Link,
    links,
)
from map_ui.templating import render_page

router = APIRouter(tags=["OGC API – Features"])
P = "/ogc"

CollectionId = Annotated[str, PathParam(max_length=64, description="collection id")]


def _query(request: Request) -> dict[str, list[str]]:
    """Every query parameter with all its values (repeats are refused by the parser)."""
    return {k: request.query_params.getlist(k) for k in request.query_params}


def base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def wants_html(request: Request, f: str | None) -> bool:
    """``f`` decides; else an Accept that names text/html before any JSON type."""
    if f is not None:
        return f == "html"
    accept = request.headers.get("accept", "")
    html = accept.find("text/html")
    if html < 0:
        return False
    jsons = [i for i in (accept.find("json"),) if i >= 0]
    return not jsons or html < min(jsons)


def _html(title: str, links_: list[dict[str, Any]], **context: Any) -> HTMLResponse:
    """A page from map_ui/templates/ogc.html (autoescaped; the pages' security headers)."""
    values = {"description": None, "facts": None, "rows": None, "columns": None} | context
    html = render_page("ogc.html", lang="zh", title=title, links=links_, **values)
    return page_response(html)


def _self_links(url: str, media: str, title: str) -> list[Link]:
    html = url + ("&" if "?" in url else "?") + "f=html"
    return [
        Link(href=url, rel="self", type=media, title=title),
        Link(href=html, rel="alternate", type=HTML, title=f"{title} (HTML)"),
    ]


# ------------------------------------------------------------------ landing, conformance, API
@router.get(P, summary="Landing page 服务首页", include_in_schema=False)
@router.get(P + "/", summary="Landing page 服务首页")
def landing(request: Request, principal: ReadPrincipalDep) -> Response:
    """Links to the API definition, its documentation, the conformance and the collections."""
    f = params.parse_plain(_query(request))
    root = base(request)
    items = [
        *_self_links(root + "/", JSON, "Landing page 服务首页"),
        Link(href=root + "/api", rel="service-desc", type=openapi.OAS_MEDIA, title="OpenAPI 3.0"),
        Link(href=str(request.base_url) + "docs", rel="service-doc", type=HTML, title="API docs"),
        Link(href=root + "/conformance", rel="conformance", type=JSON, title="Conformance"),
        Link(href=root + "/conformance", rel=REL_CONFORMANCE, type=JSON, title="Conformance"),
        Link(href=root + "/collections", rel="data", type=JSON, title="Collections 要素集"),
        Link(href=root + "/collections", rel=REL_DATA, type=JSON, title="Collections 要素集"),
    ]
    title = "OfficeMap 办公用房一张图 — OGC API Features"
    description = "Buildings, floors, rooms, agencies, findings and regions of the register."
    if wants_html(request, f):
        return _html(title, links(*items), description=description)
    return JSONResponse({"title": title, "description": description, "links": links(*items)})


@router.get(
    P + "/api",
    summary="API definition (OpenAPI 3.0)",
    response_class=Response,
    responses={200: {"content": {openapi.OAS_MEDIA: {"schema": {"type": "object"}}}}},
)
def api_definition(request: Request) -> Response:
    """The OpenAPI 3.0 document of this OGC API (public: it describes the API, no data)."""
    doc = openapi.document(base(request))
    return Response(json.dumps(doc, ensure_ascii=False), media_type=openapi.OAS_MEDIA)


@router.get(P + "/conformance", summary="Conformance declaration 符合性声明")
def conformance(request: Request, principal: ReadPrincipalDep) -> Response:
    """The conformance classes implemented: Features Parts 1–3 and CQL2 text/JSON."""
    f = params.parse_plain(_query(request))
    if wants_html(request, f):
        rows = [{"cells": [c], "href": None} for c in CONFORMANCE]
        return _html("Conformance 符合性声明", [], columns=["conformsTo"], rows=rows)
    return JSONResponse({"conformsTo": CONFORMANCE})


# ------------------------------------------------------------------ collections
def _collection_doc(root: str, coll: Collection, bbox: list[float] | None) -> dict[str, Any]:
    url = f"{root}/collections/{coll.id}"
    doc: dict[str, Any] = {
        "id": coll.id,
        "title": f"{coll.title} {coll.title_en}",
        "description": coll.description,
        "itemType": "feature",
        "links": links(
            *_self_links(url, JSON, coll.title_en),
            Link(href=url + "/items", rel="items", type=GEOJSON, title="Features (GeoJSON)"),
            Link(href=url + "/items?f=html", rel="items", type=HTML, title="Features (HTML)"),
            Link(
                href=url + "/queryables", rel=REL_QUERYABLES, type=SCHEMA_JSON, title="Queryables"
            ),
        ),
        "crs": crs_mod.uris(),
        "storageCrs": f"{crs_mod.EPSG_PREFIX}{crs_mod.STORAGE_SRID}",
    }
    if bbox is not None:
        doc["extent"] = {"spatial": {"bbox": [bbox], "crs": crs_mod.CRS84}}
    if coll.temporal:
        doc.setdefault("extent", {})["temporal"] = {
            "interval": [[None, None]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return doc


@router.get(P + "/collections", summary="Feature collections 要素集")
def collections(request: Request, session: ReadSessionDep, principal: ReadPrincipalDep) -> Response:
    """Every collection with its links, extent (within the caller's scope) and CRS list."""
    f = params.parse_plain(_query(request))
    root = base(request)
    bbox = service.extent(session, scope=principal.scope)
    docs = [_collection_doc(root, c, bbox) for c in COLLECTIONS.values()]
    self_links = _self_links(root + "/collections", JSON, "Collections 要素集")
    if wants_html(request, f):
        rows = [
            {"cells": [d["id"], d["title"], d["description"]], "href": f"{root}/collections/{d['id']}?f=html"}
            for d in docs
        ]  # fmt: skip
        return _html(
            "Collections 要素集", links(*self_links), columns=["id", "title 名称", "description"], rows=rows
        )  # fmt: skip
    return JSONResponse({"links": links(*self_links), "collections": docs, "crs": crs_mod.uris()})


@router.get(P + "/collections/{collection_id}", summary="One feature collection 要素集")
def collection(
    request: Request,
    collection_id: CollectionId,
    session: ReadSessionDep,
    principal: ReadPrincipalDep,
) -> Response:
    """A collection's description, links and extent."""
    f = params.parse_plain(_query(request))
    coll = service.collection(collection_id)
    doc = _collection_doc(base(request), coll, service.extent(session, scope=principal.scope))
    if wants_html(request, f):
        facts = [
            ("id", doc["id"]),
            ("storageCrs", doc["storageCrs"]),
            ("description", doc["description"]),
        ]
        return _html(doc["title"], doc["links"], facts=facts)
    return JSONResponse(doc)


@router.get(P + "/collections/{collection_id}/queryables", summary="Queryables 可查询属性")
def queryables(
    request: Request, collection_id: CollectionId, principal: ReadPrincipalDep
) -> Response:
    """The properties a CQL2 filter may name, with their types (JSON Schema)."""
    f = params.parse_plain(_query(request))
    doc = service.queryables(collection_id)
    url = f"{base(request)}/collections/{collection_id}/queryables"
    doc = {"$id": url, **doc}
    if wants_html(request, f):
        rows = [
            {"cells": [name, p.get("type", p.get("format")), p.get("title", "")], "href": None}
            for name, p in doc["properties"].items()
        ]
        return _html(doc["title"], [], columns=["name", "type", "title"], rows=rows)
    return Response(json.dumps(doc, ensure_ascii=False), media_type=SCHEMA_JSON)


# ------------------------------------------------------------------ features
def _page_url(url: str, query: dict[str, str], offset: int) -> str:
    q = {k: v for k, v in query.items() if k != "offset"}
    if offset:
        q["offset"] = str(offset)
    return url + ("?" + urlencode(q) if q else "")


def _items_links(
    url: str, query: dict[str, str], q: params.ItemsQuery, page: service.ItemsPage
) -> list[Link]:
    json_query = {k: v for k, v in query.items() if k != "f"}
    self_url = _page_url(url, json_query, q.offset)
    out = _self_links(self_url, GEOJSON, "this page")
    if q.offset + page.returned < page.matched:
        out.append(
            Link(href=_page_url(url, json_query, q.offset + q.limit), rel="next", type=GEOJSON, title="next page")
        )  # fmt: skip
    if q.offset > 0:
        out.append(
            Link(href=_page_url(url, json_query, max(0, q.offset - q.limit)), rel="prev", type=GEOJSON, title="previous page")
        )  # fmt: skip
    collection_url = url.removesuffix("/items")
    out.append(Link(href=collection_url, rel="collection", type=JSON, title="the collection"))
    return out


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@router.get(
    P + "/collections/{collection_id}/items",
    summary="Features 要素",
    responses={
        200: {"content": {GEOJSON: {}, HTML: {}}, "description": "GeoJSON FeatureCollection"}
    },
)
def items(
    request: Request,
    collection_id: CollectionId,
    session: ReadSessionDep,
    principal: ReadPrincipalDep,
) -> Response:
    """A page of features: limit, offset, bbox (+bbox-crs), datetime (as-of), crs, CQL2 filter."""
    query_lists = _query(request)
    q = params.parse_items(query_lists, service.property_parameters(collection_id))
    page = service.items(session, collection_id, scope=principal.scope, q=q)
    query = {k: v[0] for k, v in query_lists.items()}
    url = f"{base(request)}/collections/{collection_id}/items"
    link_list = _items_links(url, query, q, page)
    queryables_link = Link(
        href=f"{base(request)}/collections/{collection_id}/queryables",
        rel=REL_QUERYABLES, type=SCHEMA_JSON, title="Queryables",
    )  # fmt: skip
    headers = {
        "Content-Crs": q.crs.header,
        "Link": ", ".join(link.header() for link in (*link_list[:2], queryables_link)),
        "OGC-NumberMatched": str(page.matched),
    }
    if wants_html(request, q.format):
        return _features_html(collection_id, page, link_list, headers)
    meta = {
        "numberMatched": page.matched,
        "numberReturned": page.returned,
        "timeStamp": _now(),
        "links": links(*link_list),
    }
    if q.moment is not None:
        meta["datetime"] = q.moment.text
    body = (
        '{"type":"FeatureCollection","features":'
        + page.features
        + ","
        + json.dumps(meta, ensure_ascii=False)[1:]
    )
    return Response(body, media_type=GEOJSON, headers=headers)


def _features_html(
    collection_id: str, page: service.ItemsPage, link_list: list[Link], headers: dict[str, str]
) -> HTMLResponse:
    coll = service.collection(collection_id)
    feats = json.loads(page.features)
    names = [p.name for p in coll.props]
    rows = [
        {
            "cells": [f["id"], *("" if f["properties"].get(n) is None else f["properties"][n] for n in names)],
            "href": f"items/{f['id']}?f=html",
        }
        for f in feats
    ]  # fmt: skip
    response = _html(
        f"{coll.title} {coll.title_en}",
        links(*link_list),
        facts=[("numberMatched", page.matched), ("numberReturned", page.returned)],
        columns=["id", *names],
        rows=rows,
    )
    response.headers["Content-Crs"] = headers["Content-Crs"]
    return response


@router.get(
    P + "/collections/{collection_id}/items/{feature_id}",
    summary="One feature 单个要素",
    responses={200: {"content": {GEOJSON: {}, HTML: {}}, "description": "GeoJSON Feature"}},
)
def feature(
    request: Request,
    collection_id: CollectionId,
    feature_id: Annotated[str, PathParam(max_length=40)],
    session: ReadSessionDep,
    principal: ReadPrincipalDep,
) -> Response:
    """One feature by id (404 also when it lies outside the caller's scope)."""
    q = params.parse_item(_query(request))
    body = service.item(session, collection_id, feature_id, scope=principal.scope, crs=q.crs)
    url = f"{base(request)}/collections/{collection_id}/items/{feature_id}"
    link_list = [
        *_self_links(url, GEOJSON, "this feature"),
        Link(href=url.rsplit("/items/", 1)[0], rel="collection", type=JSON, title="the collection"),
    ]
    headers = {"Content-Crs": q.crs.header}
    if wants_html(request, q.format):
        doc = json.loads(body)
        facts = [(k, "" if v is None else v) for k, v in doc["properties"].items()]
        response = _html(f"{collection_id} {doc['id']}", links(*link_list), facts=facts)
        response.headers.update(headers)
        return response
    out = body[:-1] + ',"links":' + json.dumps(links(*link_list), ensure_ascii=False) + "}"
    return Response(out, media_type=GEOJSON, headers=headers)


# ------------------------------------------------------------------ exports and TileJSON
GPKG = "application/geopackage+sqlite3"


@router.get(
    "/api/v1/exports/register.gpkg",
    tags=["exports 导出"],
    summary="The register as a GeoPackage 登记造册 (GeoPackage)",
    response_class=FileResponse,
    responses={200: {"content": {GPKG: {}}, "description": "GeoPackage (EPSG:4490)"}},
)
def register_gpkg(
    session: ReadSessionDep, principal: ReadPrincipalDep, as_of: AsOfDep
) -> FileResponse:
    """Agencies, buildings, floors, rooms (areas, categories) and findings the caller may see,
    in CGCS2000 (EPSG:4490), English field names with Chinese names (gpkg_data_columns);
    ``as_of`` gives buildings, floors and rooms as they stood at the end of that day."""
    folder = Path(tempfile.mkdtemp(prefix="officemap-gpkg-"))
    path = folder / "register.gpkg"
    try:
        export.write_register(session, path, scope=principal.scope, day=as_of)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    suffix = f"-{as_of.isoformat()}" if as_of else ""
    return FileResponse(
        path,
        media_type=GPKG,
        filename=f"register{suffix}.gpkg",
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


TileLayer = Literal["buildings", "floors", "rooms", "compliance"]


@router.get(
    "/tiles/{layer}.json", tags=["vector tiles 矢量瓦片"], summary="TileJSON of a tile layer"
)
def tile_json(
    request: Request, layer: TileLayer, session: ReadSessionDep, principal: ReadPrincipalDep
) -> JSONResponse:
    """TileJSON 3.0.0: the tile URL template, zoom range, the caller's bounds and the fields."""
    bounds = service.extent(session, scope=principal.scope)
    return JSONResponse(tilejson.document(layer, str(request.base_url).rstrip("/"), bounds))
