"""CQL2 filters (OGC API – Features Part 3) as SQLAlchemy expressions over a collection.

Text and JSON are parsed and validated against the CQL2 1.0 schema by ``cql2`` (the
reference grammar; it knows ``BBOX(…)`` literals and 1.0's ``between``), the resulting
CQL2 JSON is read by pygeofilter, whose SQLAlchemy backend builds the expression. Two
spots where pygeofilter still reads an older draft are bridged in ``_to_pygeofilter``
(``between`` bounds in a pair, ``bbox`` literals handed over as polygons).

Values stay bound parameters; property names resolve only through the collection's
queryables (an unknown name is an error, never an identifier in SQL). Geometry literals are
read in ``filter-crs`` (CRS84 by default) and placed in EPSG:4490 before they meet a column.
"""

from __future__ import annotations

import json
from typing import Any

import cql2
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import handle
from pygeofilter.backends.sqlalchemy.evaluate import SQLAlchemyFilterEvaluator
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from sqlalchemy import ColumnElement, bindparam, func
from sqlalchemy.types import Text

from backend.ogc.crs import STORAGE_SRID, Crs
from backend.services.errors import InvalidParameter

LANGS = ("cql2-text", "cql2-json")
MAX_FILTER_CHARS = 20_000


class FilterError(InvalidParameter):
    """A filter that cannot be parsed or names what the collection does not have."""

    code = "invalid_filter"
    message_zh = "筛选条件无效"


def _geometry(geojson: dict[str, Any], crs: Crs) -> ColumnElement[Any]:
    """A GeoJSON literal in ``crs`` as an EPSG:4490 geometry (the JSON is a bound value)."""
    geom: ColumnElement[Any] = func.ST_GeomFromGeoJSON(bindparam(None, json.dumps(geojson), Text))
    if crs.swap_axes:
        geom = func.ST_FlipCoordinates(geom)
    geom = func.ST_SetSRID(geom, crs.srid)
    if crs.srid != STORAGE_SRID:
        geom = func.ST_Transform(geom, STORAGE_SRID)
    return geom


class _Evaluator(SQLAlchemyFilterEvaluator):  # type: ignore[misc]
    """pygeofilter's SQLAlchemy evaluator with geometry literals placed in EPSG:4490."""

    def __init__(self, fields: dict[str, Any], crs: Crs) -> None:
        super().__init__(fields, undefined_as_null=False)
        self.crs = crs

    @handle(values.Geometry)  # type: ignore[untyped-decorator]
    def geometry(self, node: values.Geometry) -> ColumnElement[Any]:
        return _geometry(dict(node.__geo_interface__), self.crs)


def _bbox_polygon(box: list[float]) -> dict[str, Any]:
    minx, miny, maxx, maxy = (box[0], box[1], box[3], box[4]) if len(box) == 6 else box
    ring = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
    return {"type": "Polygon", "coordinates": [ring]}


def _to_pygeofilter(node: Any) -> Any:
    """CQL2 1.0 JSON in the shape pygeofilter 0.4's reader expects."""
    if isinstance(node, list):
        return [_to_pygeofilter(n) for n in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"bbox"}:
        return _bbox_polygon(node["bbox"])
    out = {k: _to_pygeofilter(v) for k, v in node.items()}
    if out.get("op") == "between" and len(out.get("args", [])) == 3:
        out["args"] = [out["args"][0], out["args"][1:]]
    return out


def parse(text: str, lang: str) -> ast.AstType:
    """The filter's syntax tree; FilterError when it does not parse or is not valid CQL2."""
    if len(text) > MAX_FILTER_CHARS:
        raise FilterError(f"filter longer than {MAX_FILTER_CHARS} characters")
    try:
        expr = cql2.parse_json(text) if lang == "cql2-json" else cql2.parse_text(text)
        expr.validate()
        return parse_cql2_json(_to_pygeofilter(expr.to_json()))
    except (cql2.ParseError, cql2.ValidationError, ValueError, TypeError, KeyError) as exc:
        raise FilterError(
            f"filter is not valid {lang}",
            message_zh=f"筛选条件不是有效的 {lang}",
            details={"parameter": "filter", "reason": str(exc)[:300]},
        ) from exc


def to_sql(tree: ast.AstType, fields: dict[str, Any], crs: Crs) -> ColumnElement[bool]:
    """The filter as a SQLAlchemy boolean over ``fields`` (queryable name → column)."""
    try:
        expr = _Evaluator(fields, crs).evaluate(tree)
    except KeyError as exc:
        raise FilterError(
            f"unknown queryable {exc.args[0]!r}",
            message_zh=f"不可查询的属性 {exc.args[0]!r}",
            details={"parameter": "filter", "queryables": sorted(fields)},
        ) from exc
    except Exception as exc:  # noqa: BLE001 - pygeofilter raises plain Exception for operators
        raise FilterError(
            "filter uses an unsupported operator or function",
            message_zh="筛选条件使用了不支持的运算或函数",
            details={"parameter": "filter", "reason": str(exc)[:300]},
        ) from exc
    if not isinstance(expr, ColumnElement):
        raise FilterError(
            "filter is not a condition",
            message_zh="筛选条件不是判断表达式",
            details={"parameter": "filter"},
        )
    return expr
