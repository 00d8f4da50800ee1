"""Mapbox vector tiles from PostGIS: one ``ST_AsMVT`` statement per tile, with a cache.

The tile envelope (``ST_TileEnvelope``, EPSG:3857) is transformed to the tables' SRID
(4490) so the GiST index on the geometry serves the ``&&`` filter; only the selected
features are transformed to 3857 for ``ST_AsMVTGeom``. Features carry their id twice: as
the MVT feature id and as a property (``building_id``, ``floor_id``, ``room_id``,
``finding_id``), because Leaflet.VectorGrid hands click handlers only the properties. Web Mercator is used for drawing
only, never for areas. Every tile is filtered by the caller's scope in the same SQL.

Cache: an in-process LRU keyed by layer, tile, filters, scope, the layer's generation and
the data version (the newest audit event's id: every write appends one, so any plan
upload, occupancy change or compliance run moves it; checked at most once a second, so
every worker drops stale tiles within a second). :func:`invalidate` bumps a layer's
generation at once in this process; entries also expire (cachetools ``TTLCache``). Extent,
buffer and timings: ``backend.settings.TileSettings``; the size: ``MapSettings``.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cachetools import TTLCache
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    cast,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import Float

from backend.compliance.findings import FINDINGS, OPEN_STATUSES, RULE_GROUPS, findings_table
from backend.db.models import SRID, Building, Floor, Room
from backend.services import scope as scopes
from backend.services.errors import InvalidInput
from backend.services.scope import Scope
from backend.settings import map_settings, tile_settings

MAX_ZOOM = 24
LAYERS = ("buildings", "floors", "rooms", "compliance")


@dataclass(frozen=True)
class TileFilter:
    """Optional filters a tile request may carry (part of the cache key)."""

    floor: int | None = None
    building: int | None = None
    level: int | None = None
    group: str | None = None


@dataclass(frozen=True)
class Tile:
    """An encoded tile, its entity tag, and the same bytes gzip-compressed (served as they are
    to clients that accept gzip: a cached hit compresses nothing)."""

    data: bytes
    etag: str
    gzip: bytes = b""

    @property
    def gzip_etag(self) -> str:
        return self.etag[:-1] + '-gz"'


# ---------------------------------------------------------------- generations + cache
_lock = threading.Lock()
_generation: dict[str, int] = dict.fromkeys(LAYERS, 0)
_stats = {"hits": 0, "misses": 0}
_version: dict[str, float] = {"at": float("-inf"), "head": 0}


@lru_cache(maxsize=1)
def _cache() -> TTLCache[tuple[Any, ...], Tile]:
    """The tiles: least recently used go first, none served after ``cache_ttl_s``."""
    size = max(map_settings().tile_cache_entries, 1)
    return TTLCache(maxsize=size, ttl=tile_settings().cache_ttl_s, timer=time.monotonic)


def data_version(session: Session) -> int:
    """The newest audit event's id: every write appends one, so a new id means new data.

    Read at most every ``data_version_check_s`` per process, so edits made through any
    worker reach every worker's cache within that time without anyone calling
    :func:`invalidate`.
    """
    now = time.monotonic()
    if now - _version["at"] >= tile_settings().data_version_check_s:
        # through officemap_audit_head(): the caller's own SELECT sees only events in scope
        head = session.execute(
            text("SELECT coalesce((SELECT id FROM officemap_audit_head()), 0)")
        ).scalar_one()
        _version.update(at=now, head=int(head))
    return int(_version["head"])


def known_data_version() -> int | None:
    """The data version read less than ``data_version_check_s`` ago, or None (no database
    read)."""
    if time.monotonic() - _version["at"] >= tile_settings().data_version_check_s:
        return None
    return int(_version["head"])


def invalidate(layers: Iterable[str] = LAYERS) -> None:
    """Call after any write that changes what tiles show (e.g. a floor-plan upload)."""
    with _lock:
        for layer in layers:
            _generation[layer] = _generation.get(layer, 0) + 1


def generation(layer: str) -> int:
    return _generation.get(layer, 0)


def cache_stats() -> dict[str, int]:
    return {**_stats, "entries": len(_cache())}


def clear_cache() -> None:
    """Drop every cached tile (a new cache, sized and timed by the current settings)."""
    with _lock:
        _cache.cache_clear()


# ---------------------------------------------------------------- SQL
def _mvt(rows: Select[Any], layer: str) -> Select[Any]:
    # ST_AsMVT skips rows whose clipped geometry is NULL; filtering them first would make
    # PostgreSQL compute ST_AsMVTGeom twice per row (2-3x slower at z12)
    return select(
        func.coalesce(
            func.ST_AsMVT(literal_column("mvt"), layer, tile_settings().extent, "geom", "id"), b""
        )
    ).select_from(rows.subquery("mvt"))


def _buildings_rows(geom: Any, env: Any, scope: Scope, flt: TileFilter) -> Select[Any]:
    rows = select(
        Building.id,
        Building.id.label("building_id"),
        Building.name,
        Building.status,
        Building.region_adcode,
        Building.agency_id,
        cast(Building.footprint_area_m2, Float).label("footprint_area_m2"),
        geom(Building.footprint).label("geom"),
    ).where(Building.footprint.op("&&")(env), scopes.buildings(scope), scopes.live_buildings())
    if flt.building is not None:
        rows = rows.where(Building.id == flt.building)
    return rows


def _floors_rows(geom: Any, env: Any, scope: Scope, flt: TileFilter) -> Select[Any]:
    rows = select(
        Floor.id,
        Floor.id.label("floor_id"),
        Floor.building_id,
        Floor.level,
        Floor.name,
        cast(Floor.building_area_m2, Float).label("building_area_m2"),
        geom(Floor.outline).label("geom"),
    ).where(
        Floor.outline.op("&&")(env),
        Floor.valid_to.is_(None),
        scopes.floors(scope),
        scopes.in_live_buildings(Floor.building_id),
    )
    if flt.building is not None:
        rows = rows.where(Floor.building_id == flt.building)
    if flt.level is not None:
        rows = rows.where(Floor.level == flt.level)
    return rows


def _rooms_rows(geom: Any, env: Any, scope: Scope, flt: TileFilter) -> Select[Any]:
    # the room's floor as a LATERAL lookup (one primary-key probe per floor, memoised):
    # joined plainly, PostgreSQL hashed every current floor of the province for each
    # tile (B1: ~25 % of a dense z14 tile, most of a z16 one)
    floor = select(Floor.level).where(Floor.id == Room.floor_id)
    if flt.floor is None:
        floor = floor.where(Floor.valid_to.is_(None))
    if flt.level is not None:
        floor = floor.where(Floor.level == flt.level)
    on_floor = floor.limit(1).lateral("room_floor")
    rows = (
        select(
            Room.id,
            Room.id.label("room_id"),
            Room.number,
            Room.category,
            Room.subcategory,
            cast(Room.usable_area_m2, Float).label("usable_area_m2"),
            Room.floor_id,
            Room.building_id,
            Room.agency_id,
            on_floor.c.level,
            geom(Room.geom).label("geom"),
        )
        .select_from(Room)
        .join(on_floor, true())
        .where(
            Room.geom.op("&&")(env),
            scopes.rooms(scope),
            scopes.in_live_buildings(Room.building_id),
        )
    )
    if flt.floor is not None:
        rows = rows.where(Room.floor_id == flt.floor)
    if flt.building is not None:
        rows = rows.where(Room.building_id == flt.building)
    return rows


_FEATURE_ROWS = {"buildings": _buildings_rows, "floors": _floors_rows, "rooms": _rooms_rows}


def tile_statement(
    layer: str, z: int, x: int, y: int, *, scope: Scope, flt: TileFilter
) -> Select[Any]:
    """The one statement that builds tile ``z/x/y`` of ``layer``."""
    env3857 = func.ST_TileEnvelope(z, x, y)
    env = func.ST_Transform(env3857, SRID)

    def geom(col: Any) -> Any:
        t = tile_settings()
        return func.ST_AsMVTGeom(func.ST_Transform(col, 3857), env3857, t.extent, t.buffer, True)

    if layer in _FEATURE_ROWS:
        return _mvt(_FEATURE_ROWS[layer](geom, env, scope, flt), layer)
    if layer == "compliance":
        return _compliance(geom, env, scope, flt, points=z < tile_settings().points_below_zoom)
    raise InvalidInput(
        f"unknown tile layer {layer!r}; one of {', '.join(LAYERS)}",
        message_zh="未知的图层",
        details={"layer": layer},
    )


def _compliance(geom: Any, env: Any, scope: Scope, flt: TileFilter, *, points: bool) -> Select[Any]:
    """Open findings the caller may see (``scope.findings``: the same predicate as the
    findings list and the aggregates) drawn on their room, or their building when not about
    one room; below ``points_below_zoom`` (settings) as a point (rooms would be smaller than a pixel)."""
    f = FINDINGS
    shape: Any = func.coalesce(Room.geom, Building.footprint)
    if points:
        shape = func.ST_PointOnSurface(shape)
    rows = (
        select(
            f.c.id,
            f.c.id.label("finding_id"),
            f.c.rule_code,
            f.c.object_type,
            f.c.building_id,
            f.c.room_id,
            cast(f.c.excess_m2, Float).label("excess_m2"),
            cast(f.c.excess_pct, Float).label("excess_pct"),
            f.c.status,
            geom(shape).label("geom"),
        )
        .select_from(f)
        .join(Building, Building.id == f.c.building_id)
        .outerjoin(Room, Room.id == f.c.room_id)
        .where(
            f.c.status.in_(OPEN_STATUSES),
            or_(Room.geom.op("&&")(env), and_(Room.id.is_(None), Building.footprint.op("&&")(env))),
            scopes.findings(scope, f),
            scopes.finding_placed(scope, f),  # never drawn on a room the caller may not see
        )
    )
    if flt.group:
        rows = rows.where(_group_predicate(flt.group))
    if flt.building is not None:
        rows = rows.where(f.c.building_id == flt.building)
    if flt.floor is not None:
        rows = rows.where(f.c.floor_id == flt.floor)
    return _mvt(rows, "compliance")


def _group_predicate(group: str) -> ColumnElement[bool]:
    codes = RULE_GROUPS[group]
    return or_(
        *(
            FINDINGS.c.rule_code.startswith(c) if c.endswith(".") else FINDINGS.c.rule_code == c
            for c in codes
        )
    )


# ---------------------------------------------------------------- the entry point
def check_tile(layer: str, z: int, x: int, y: int, flt: TileFilter) -> None:
    """Raise InvalidInput for an unknown layer, group or a tile outside the grid."""
    if layer not in LAYERS:
        raise InvalidInput(
            f"unknown tile layer {layer!r}; one of {', '.join(LAYERS)}",
            message_zh="未知的图层",
            details={"layer": layer},
        )
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        raise InvalidInput(
            f"tile {z}/{x}/{y} is outside the tile grid",
            message_zh="瓦片坐标超出范围",
            details={"z": z, "x": x, "y": y},
        )
    if flt.group is not None and flt.group not in RULE_GROUPS:
        raise InvalidInput(
            f"unknown finding group {flt.group!r}; one of {', '.join(RULE_GROUPS)}",
            message_zh="未知的问题类别",
            details={"group": flt.group},
        )


def cached_tile(
    layer: str, z: int, x: int, y: int, *, scope: Scope, flt: TileFilter = TileFilter()
) -> Tile | None:
    """The cached tile, without touching the database: only while the data version was read
    less than ``data_version_check_s`` ago (else None, and :func:`get_tile` reads it)."""
    version = known_data_version()
    if map_settings().tile_cache_entries <= 0 or version is None:
        return None
    key = (layer, z, x, y, flt, scope.key, generation(layer), version)
    with _lock:
        hit = _cache().get(key)
        if hit is not None:
            _stats["hits"] += 1
        return hit


def get_tile(
    session: Session,
    layer: str,
    z: int,
    x: int,
    y: int,
    *,
    scope: Scope,
    flt: TileFilter = TileFilter(),
    use_cache: bool = True,
) -> Tile:
    """Tile ``z/x/y`` of ``layer`` for ``scope``, from the cache or one SQL statement."""
    check_tile(layer, z, x, y, flt)
    limit = map_settings().tile_cache_entries
    use_cache = use_cache and limit > 0
    key = (layer, z, x, y, flt, scope.key, generation(layer), data_version(session))
    if use_cache:
        with _lock:
            hit = _cache().get(key)
            if hit is not None:
                _stats["hits"] += 1
                return hit
    _stats["misses"] += 1
    if layer == "compliance" and not findings_table(session):
        data = b""
    else:
        stmt = tile_statement(layer, z, x, y, scope=scope, flt=flt)
        data = bytes(session.execute(stmt).scalar_one())
    tag = hashlib.blake2b(data, digest_size=12).hexdigest()
    tile = Tile(data=data, etag=f'"{tag}"', gzip=gzip.compress(data, compresslevel=6, mtime=0))
    if use_cache:
        with _lock:
            _cache()[key] = tile
    return tile
