"""Use cases of the OGC API – Features: items, one item, queryables, extents.

Each collection's source is already scope-filtered (``backend.ogc.collections``); here
bbox, CQL2, datetime (as-of from the history service), CRS and paging are applied and the
GeoJSON is assembled by PostgreSQL as text. No FastAPI here: links and media types are the
routes' business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, cast, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.types import JSON

from backend.db.models import Region
from backend.ogc import cql
from backend.ogc.collections import COLLECTIONS, Collection, json_type
from backend.ogc.crs import STORAGE_SRID, Crs
from backend.ogc.params import BBoxQuery, ItemsQuery
from backend.services import scope as scopes
from backend.services.errors import NotFound
from backend.services.scope import Scope

DEGREE_DECIMALS = 7  # ~1 cm
METRE_DECIMALS = 3


def collection(collection_id: str) -> Collection:
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise NotFound(
            f"collection {collection_id!r} not found",
            message_zh=f"要素集 {collection_id!r} 不存在",
        ) from None


def _envelope(box: BBoxQuery) -> ColumnElement[Any]:
    minx, miny, maxx, maxy = box.lonlat_order()
    env: ColumnElement[Any] = func.ST_MakeEnvelope(minx, miny, maxx, maxy, box.crs.srid)
    if box.crs.srid != STORAGE_SRID:
        env = func.ST_Transform(env, STORAGE_SRID)
    return env


def _output_geometry(geom: Any, crs: Crs) -> ColumnElement[Any]:
    out = geom if crs.srid == STORAGE_SRID else func.ST_Transform(geom, crs.srid)
    if crs.swap_axes:
        out = func.ST_FlipCoordinates(out)
    decimals = METRE_DECIMALS if crs.projected else DEGREE_DECIMALS
    return cast(func.ST_AsGeoJSON(out, decimals, 0), JSON)


def _feature(src: Any, coll: Collection, crs: Crs) -> ColumnElement[Any]:
    args: list[Any] = []
    for p in coll.props:
        args += [p.name, src.c[p.name]]
    return func.json_build_object(
        "type", "Feature", "id", src.c.id,
        "geometry", _output_geometry(src.c.geom, crs),
        "properties", func.json_build_object(*args),
    )  # fmt: skip


def fields(src: Any, coll: Collection) -> dict[str, Any]:
    """Queryable name → column of the source (the only names a filter may use)."""
    return {"id": src.c.id, "geometry": src.c.geom} | {p.name: src.c[p.name] for p in coll.props}


@dataclass(frozen=True)
class ItemsPage:
    features: str  # JSON array text
    matched: int
    returned: int


def _filtered(coll: Collection, scope: Scope, q: ItemsQuery) -> tuple[Any, list[Any]]:
    day = q.day if coll.temporal else None
    src = coll.build(scope, day).subquery("src")
    where: list[Any] = []
    if q.bbox is not None:
        env = _envelope(q.bbox)
        where += [src.c.geom.op("&&")(env), func.ST_Intersects(src.c.geom, env)]
    if q.filter is not None:
        where.append(cql.to_sql(q.filter, fields(src, coll), q.filter_crs))
    for name, value in q.properties:  # compared as text: "20.67" matches 20.67, "3" matches 3
        where.append(cast(src.c[name], Text) == value)
    return src, where


def property_parameters(collection_id: str) -> frozenset[str]:
    """The queryables usable as query parameters (all but the geometry)."""
    return frozenset(p.name for p in collection(collection_id).props) | {"id"}


def _run(session: Session, stmt: Select[Any], guarded: bool) -> Any:
    """Execute; with a filter, a data or type error in it is the client's 400, not a 500."""
    if not guarded:
        return session.execute(stmt).one()
    try:
        with session.begin_nested():
            return session.execute(stmt).one()
    except DBAPIError as exc:
        state = getattr(exc.orig, "sqlstate", None) or ""
        if state[:2] in ("22", "42"):
            raise cql.FilterError(
                "filter does not fit the queryables' types",
                message_zh="筛选条件与属性类型不符",
                details={"parameter": "filter", "sqlstate": state},
            ) from None
        raise


def items(session: Session, collection_id: str, *, scope: Scope, q: ItemsQuery) -> ItemsPage:
    """One page of a collection's features, with the number matched."""
    coll = collection(collection_id)
    src, where = _filtered(coll, scope, q)
    page = (
        select(src.c.id, _feature(src, coll, q.crs).label("f"))
        .where(*where)
        .order_by(src.c.id)
        .limit(q.limit)
        .offset(q.offset)
        .subquery("page")
    )
    matched = select(func.count()).select_from(src).where(*where).scalar_subquery()
    stmt = select(
        cast(
            func.coalesce(
                func.json_agg(aggregate_order_by(page.c.f, page.c.id)), func.json_build_array()
            ),
            Text,
        ),
        func.count(page.c.id),
        matched,
    ).select_from(page)
    row = _run(session, stmt, guarded=q.filter is not None)
    return ItemsPage(features=str(row[0]), matched=int(row[2]), returned=int(row[1]))


def item(
    session: Session,
    collection_id: str,
    feature_id: str,
    *,
    scope: Scope,
    crs: Crs,
    q: ItemsQuery | None = None,
) -> str:
    """One feature as GeoJSON text; NotFound also when it lies outside the scope."""
    coll = collection(collection_id)
    missing = NotFound(
        f"feature {feature_id[:40]!r} not found in {collection_id}",
        message_zh=f"要素 {feature_id[:40]!r} 不存在",
    )
    if not feature_id.isdigit() or len(feature_id) > 18:
        raise missing
    day = q.day if (q is not None and coll.temporal) else None
    src = coll.build(scope, day).subquery("src")
    stmt = select(cast(_feature(src, coll, crs), Text)).where(src.c.id == int(feature_id))
    row = session.execute(stmt).first()
    if row is None:
        raise missing
    return str(row[0])


def queryables(collection_id: str) -> dict[str, Any]:
    """The JSON schema of the properties a filter may use (names → types)."""
    coll = collection(collection_id)
    src = coll.build(Scope.everything(), None).subquery("src")
    props: dict[str, Any] = {
        "geometry": {"format": coll.geometry, "title": "geometry 几何", "x-ogc-role": "primary-geometry"},
        "id": json_type(src.c.id.type) | {"title": "id", "x-ogc-role": "id"},
    }  # fmt: skip
    for p in coll.props:
        props[p.name] = json_type(src.c[p.name].type) | {"title": f"{p.title_en} {p.title_zh}"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "title": f"{coll.title_en} {coll.title}",
        "properties": props,
        "additionalProperties": False,
    }


def extent(session: Session, *, scope: Scope) -> list[float] | None:
    """The lon/lat extent of the regions the caller may see (every feature lies inside)."""
    visible = select(Region.boundary).where(scopes.regions(scope)).subquery()
    box = session.execute(
        select(
            func.ST_XMin(func.ST_Extent(visible.c.boundary)),
            func.ST_YMin(func.ST_Extent(visible.c.boundary)),
            func.ST_XMax(func.ST_Extent(visible.c.boundary)),
            func.ST_YMax(func.ST_Extent(visible.c.boundary)),
        )
    ).one()
    if box[0] is None:
        return None
    return [round(float(v), 6) for v in box]
