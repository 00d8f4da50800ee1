"""Query parameters of the OGC API, parsed at the edge into typed values.

The standard's test suites expect 400 for an unknown parameter, a malformed value and a
``limit`` out of range; every refusal names the parameter.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pygeofilter import ast

from backend import timekeeping
from backend.ogc import cql
from backend.ogc import crs as crs_mod
from backend.ogc.crs import Crs
from backend.services.errors import InvalidParameter
from backend.settings import paging_settings

# read at import: they are part of the OpenAPI document (backend.ogc.openapi)
DEFAULT_LIMIT = paging_settings().ogc_default_limit
MAX_LIMIT = paging_settings().ogc_max_limit
MAX_OFFSET = paging_settings().max_offset

COMMON = frozenset({"f"})
ITEM_PARAMS = COMMON | {"crs"}
ITEMS_PARAMS = ITEM_PARAMS | {
    "limit",
    "offset",
    "bbox",
    "bbox-crs",
    "datetime",
    "filter",
    "filter-lang",
    "filter-crs",
}
FORMATS = ("json", "html")


def bad(
    parameter: str, message: str, message_zh: str, value: str | None = None
) -> InvalidParameter:
    details: dict[str, Any] = {"parameter": parameter}
    if value is not None:
        details["value"] = value[:200]
    return InvalidParameter(message, message_zh=message_zh, details=details)


def single(query: Mapping[str, Sequence[str]], allowed: frozenset[str]) -> dict[str, str]:
    """One value per parameter, every name known; else 400."""
    out: dict[str, str] = {}
    for name, vals in query.items():
        if name not in allowed:
            raise bad(name, f"unknown query parameter {name!r}", f"未知的查询参数 {name!r}")
        if len(vals) != 1:
            raise bad(name, f"parameter {name!r} given more than once", f"参数 {name!r} 重复")
        out[name] = vals[0]
    return out


def parse_format(value: str | None) -> str | None:
    if value is None:
        return None
    if value not in FORMATS:
        raise bad("f", "f must be json or html", "f 须为 json 或 html", value)
    return value


def parse_crs(value: str | None, parameter: str) -> Crs:
    """A CRS URI of the offered list (CRS84 when absent)."""
    if value is None:
        return crs_mod.supported()[crs_mod.CRS84]
    found = crs_mod.parse(value)
    if found is None:
        raise bad(
            parameter,
            f"{parameter} is not one of the offered CRS (CRS84, EPSG:4490, EPSG:4491–4554)",
            f"{parameter} 不是支持的坐标参照系",
            value,
        )
    return found


def _int(value: str, parameter: str, lo: int, hi: int) -> int:
    try:
        n = int(value)
    except ValueError:
        n = lo - 1
    if not lo <= n <= hi:
        raise bad(
            parameter,
            f"{parameter} must be an integer from {lo} to {hi}",
            f"{parameter} 须为 {lo} 至 {hi} 的整数",
            value,
        )
    return n


@dataclass(frozen=True)
class BBoxQuery:
    """Four numbers in the axis order of ``crs`` (two further heights are accepted, ignored)."""

    coords: tuple[float, float, float, float]
    crs: Crs

    def lonlat_order(self) -> tuple[float, float, float, float]:
        """x/east first: (minx, miny, maxx, maxy) in the CRS's own units."""
        a, b, c, d = self.coords
        return (b, a, d, c) if self.crs.swap_axes else (a, b, c, d)


def parse_bbox(value: str, bbox_crs: Crs) -> BBoxQuery:
    try:
        nums = [float(v) for v in value.split(",")]
    except ValueError:
        nums = []
    if len(nums) not in (4, 6) or not all(math.isfinite(n) for n in nums):
        raise bad(
            "bbox", "bbox must be 4 or 6 comma-separated numbers", "bbox 须为 4 或 6 个数字", value
        )
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    box = BBoxQuery((nums[0], nums[1], nums[2], nums[3]), bbox_crs)
    minx, miny, maxx, maxy = box.lonlat_order()
    if not bbox_crs.projected and not (
        -180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90
    ):
        raise bad("bbox", "bbox out of range for its CRS", "bbox 超出坐标范围", value)
    if minx > maxx or miny > maxy:
        raise bad("bbox", "bbox lower corner above the upper one", "bbox 下角高于上角", value)
    return box


@dataclass(frozen=True)
class Moment:
    """The ``datetime`` parameter reduced to what the register answers: a day (as-of) or now."""

    day: dt.date | None  # None: the current state
    text: str


def _instant(value: str) -> dt.date | None:
    """An RFC 3339 date or date-time as its China Standard Time day; None for '..' or ''."""
    if value in ("..", ""):
        return None
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise bad(
            "datetime", "datetime must be RFC 3339 (a date, date-time or interval a/b)",
            "datetime 须为 RFC 3339 日期、时间或区间", value,
        ) from exc  # fmt: skip
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return timekeeping.today(moment)


def parse_datetime(value: str) -> Moment:
    """An instant is the as-of day; an interval answers with the state at its end."""
    if "/" in value:
        start, _, end = value.partition("/")
        if start in ("..", "") and end in ("..", ""):
            raise bad("datetime", "an interval needs at least one end", "区间至少需一端", value)
        lo, hi = _instant(start), _instant(end)
        if lo is not None and hi is not None and lo > hi:
            raise bad("datetime", "interval ends before it starts", "区间结束早于开始", value)
        return Moment(hi, value)
    if value in ("..", ""):
        raise bad("datetime", "datetime is empty", "datetime 为空", value)
    return Moment(_instant(value), value)


@dataclass(frozen=True)
class ItemsQuery:
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: BBoxQuery | None = None
    moment: Moment | None = None
    crs: Crs = crs_mod.Crs(crs_mod.CRS84, crs_mod.STORAGE_SRID, swap_axes=False)
    filter: ast.AstType | None = None
    filter_text: str | None = None
    filter_lang: str = "cql2-text"
    filter_crs: Crs = crs_mod.Crs(crs_mod.CRS84, crs_mod.STORAGE_SRID, swap_axes=False)
    format: str | None = None
    properties: tuple[tuple[str, str], ...] = ()  # queryable = value (Part 3 query parameters)

    @property
    def day(self) -> dt.date | None:
        return self.moment.day if self.moment else None


def parse_items(
    query: Mapping[str, Sequence[str]], queryables: frozenset[str] = frozenset()
) -> ItemsQuery:
    """Every parameter of ``/collections/{id}/items``, checked; a queryable's name is an
    equality filter on it (Part 3, queryables as query parameters)."""
    p = single(query, ITEMS_PARAMS | queryables)
    bbox_crs = parse_crs(p.get("bbox-crs"), "bbox-crs")
    if "bbox-crs" in p and "bbox" not in p:
        raise bad("bbox-crs", "bbox-crs without bbox", "缺少 bbox", p["bbox-crs"])
    lang = p.get("filter-lang", "cql2-text")
    if lang not in cql.LANGS:
        raise bad(
            "filter-lang",
            "filter-lang must be cql2-text or cql2-json",
            "filter-lang 须为 cql2-text 或 cql2-json",
            lang,
        )
    tree = cql.parse(p["filter"], lang) if "filter" in p else None
    return ItemsQuery(
        limit=_int(p["limit"], "limit", 1, MAX_LIMIT) if "limit" in p else DEFAULT_LIMIT,
        offset=_int(p["offset"], "offset", 0, MAX_OFFSET) if "offset" in p else 0,
        bbox=parse_bbox(p["bbox"], bbox_crs) if "bbox" in p else None,
        moment=parse_datetime(p["datetime"]) if "datetime" in p else None,
        crs=parse_crs(p.get("crs"), "crs"),
        filter=tree,
        filter_text=p.get("filter"),
        filter_lang=lang,
        filter_crs=parse_crs(p.get("filter-crs"), "filter-crs"),
        format=parse_format(p.get("f")),
        properties=tuple((k, v) for k, v in p.items() if k in queryables and k not in ITEMS_PARAMS),
    )


@dataclass(frozen=True)
class ItemQuery:
    crs: Crs
    format: str | None


def parse_item(query: Mapping[str, Sequence[str]]) -> ItemQuery:
    p = single(query, ITEM_PARAMS)
    return ItemQuery(crs=parse_crs(p.get("crs"), "crs"), format=parse_format(p.get("f")))


def parse_plain(query: Mapping[str, Sequence[str]]) -> str | None:
    """Documents with no parameter but ``f``."""
    return parse_format(single(query, COMMON).get("f"))
