"""B1 — vector tiles: our /tiles/rooms/{z}/{x}/{y}.pbf vs tipg 1.6.1 vs the raw SQL floor.

Same benchmark province, same ``rooms`` table, same tiles (seeded sample of tiles that hold
buildings), one uvicorn worker each, wrk -t2 -c8 on loopback; the SQL floor is the same
``ST_AsMVT`` statement run by pgbench (2 clients, prepared). Ours runs twice: with the
tile cache off (``OFFICEMAP_MAP_TILE_CACHE_ENTRIES=0``) and on (after one warm pass).
tipg runs from its own virtualenv (``.state/tipg-venv``, benchmarks.common.tipg_uvicorn), never the project's. Tiles of both
servers are decoded and their feature counts checked against SQL before timing.
"""

from __future__ import annotations

import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import mapbox_vector_tile
from sqlalchemy import create_engine, text

from backend.db.embedded import free_port
from benchmarks.common import (
    Section,
    app_url,
    bench_token,
    benchmark_database,
    our_server,
    stop_servers,
    tipg_server,
    wait_http,
    write_section,
)
from benchmarks.wrk import run_wrk

ZOOMS = (12, 14, 16)
TILES_PER_ZOOM = 150
SECONDS = 10

FLOOR_SQL = """
SELECT coalesce(ST_AsMVT(t, 'rooms', 4096, 'geom', 'id'), '') FROM (
  SELECT r.id, r.id AS room_id, r.number, r.category, r.subcategory,
         r.usable_area_m2::float8 AS usable_area_m2, r.floor_id, r.building_id, r.agency_id,
         f.level,
         ST_AsMVTGeom(ST_Transform(r.geom, 3857), ST_TileEnvelope({z}, {x}, {y}), 4096, 64, true)
           AS geom
  FROM rooms r JOIN floors f ON f.id = r.floor_id
  WHERE r.geom && ST_Transform(ST_TileEnvelope({z}, {x}, {y}), 4490) AND f.valid_to IS NULL
) t;
"""
PGBENCH_MAX_SCRIPTS = 100  # pgbench accepts at most 128 -f scripts


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def sample_tiles(url: str) -> dict[int, list[tuple[int, int]]]:
    """A seeded sample of tiles that hold buildings, per zoom."""
    engine = create_engine(url)
    with engine.connect() as conn:
        pts = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(footprint) p "
                "FROM buildings) s"
            )
        ).all()
    engine.dispose()
    rng = random.Random(1)
    out = {}
    for z in ZOOMS:
        tiles = sorted({tile_of(lon, lat, z) for lon, lat in pts})
        out[z] = rng.sample(tiles, min(TILES_PER_ZOOM, len(tiles)))
    return out


def tiles_lua(paths: list[str]) -> str:
    items = ",".join(f'"{p}"' for p in paths)
    return (
        "math.randomseed(7)\n"
        f"local paths = {{{items}}}\n"
        "request = function()\n"
        "  return wrk.format('GET', paths[math.random(1, #paths)])\n"
        "end\n"
    )


def _get(url: str, headers: dict[str, str] | None = None) -> bytes:
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=300) as r:
        return bytes(r.read())


def _count(data: bytes) -> int:
    if not data:
        return 0
    decoded = mapbox_vector_tile.decode(data)
    return sum(len(layer["features"]) for layer in decoded.values())


def pgbench(url: str, z: int, tiles: list[tuple[int, int]]) -> tuple[float, float]:
    """tiles/s and mean latency (ms) of the SQL floor: pgbench -c2 -j2, prepared.

    One script per tile (literal z/x/y, as a tile server sends them); pgbench picks one
    at random for each transaction.
    """
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://"))
    folder = Path(tempfile.mkdtemp(prefix="b1-pgbench-"))
    scripts: list[str] = []
    for i, (x, y) in enumerate(tiles[:PGBENCH_MAX_SCRIPTS]):
        path = folder / f"tile{i}.sql"
        path.write_text(" ".join(FLOOR_SQL.format(z=z, x=x, y=y).split()) + "\n")
        scripts += ["-f", str(path)]
    env = dict(os.environ, PGPASSWORD=parts.password or "")
    args = [
        "pgbench",
        "-n",
        "-M",
        "prepared",
        "-c2",
        "-j2",
        f"-T{SECONDS}",
        *scripts,
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port),
        "-U",
        parts.username or "officemap",
        (parts.path or "/officemap").lstrip("/"),
    ]
    out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=SECONDS + 120)
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()
    tps = re.search(r"tps = ([\d.]+)", out.stdout)
    lat = re.search(r"latency average = ([\d.]+) ms", out.stdout)
    if not tps or not lat:
        raise RuntimeError(f"pgbench failed: {out.stdout}\n{out.stderr}")
    return float(tps.group(1)), float(lat.group(1))


def main() -> None:
    pg = benchmark_database()
    load_before = os.getloadavg()[0]
    url = pg.url()
    tiles = sample_tiles(url)
    ports = {"uncached": free_port(), "cached": free_port(), "tipg": free_port()}
    procs = [
        our_server(
            ports[k],
            dict(
                os.environ,
                OFFICEMAP_DATABASE_APP_URL=app_url(pg),
                OFFICEMAP_MAP_TILE_CACHE_ENTRIES="0" if k == "uncached" else "100000",
            ),
        )
        for k in ("uncached", "cached")
    ]
    procs.append(
        tipg_server(
            ports["tipg"],
            url,
            ["public.rooms"],
            TIPG_TILE_BUFFER="64",
            TIPG_MAX_FEATURES_PER_TILE="1000000",
        )
    )
    base = {k: f"http://127.0.0.1:{p}" for k, p in ports.items()}
    ours_path = "/tiles/rooms/{z}/{x}/{y}.pbf"
    tipg_path = "/collections/public.rooms/tiles/WebMercatorQuad/{z}/{x}/{y}"
    section = Section(
        "B1",
        "Vector tiles: ours vs tipg 1.6.1 vs the SQL floor (rooms layer)",
        header=[
            "zoom",
            "ours uncached tiles/s (p50 / p99 ms)",
            "tipg tiles/s (p50 / p99 ms)",
            "SQL floor tiles/s (mean ms)",
            "ours cached tiles/s (p50 / p99 ms)",
            "ours / tipg",
            "ours / floor",
            "features per tile (checked)",
        ],
    )
    try:
        wait_http(f"{base['uncached']}/api/v1/health")
        wait_http(f"{base['cached']}/api/v1/health")
        wait_http(f"{base['tipg']}/collections/public.rooms")
        headers = {"Authorization": f"Bearer {bench_token(base['uncached'])}"}
        engine = create_engine(url)
        for z in ZOOMS:
            sample = tiles[z]
            # correctness: same features on both servers and in SQL, for a few tiles
            counts = []
            with engine.connect() as conn:
                for x, y in sample[:5]:
                    ours = _count(_get(base["uncached"] + ours_path.format(z=z, x=x, y=y), headers))
                    theirs = _count(_get(base["tipg"] + tipg_path.format(z=z, x=x, y=y)))
                    floor_tile = conn.execute(text(FLOOR_SQL.format(z=z, x=x, y=y))).scalar_one()
                    sql = _count(bytes(floor_tile))
                    assert ours == sql, (z, x, y, ours, sql)
                    counts.append((ours, theirs, sql))
            ours_paths = [ours_path.format(z=z, x=x, y=y) for x, y in sample]
            tipg_paths = [tipg_path.format(z=z, x=x, y=y) for x, y in sample]
            lua_ours, lua_tipg = tiles_lua(ours_paths), tiles_lua(tipg_paths)
            run_wrk(base["uncached"], lua_ours, connections=8, seconds=3, headers=headers)
            run_wrk(base["tipg"], lua_tipg, connections=8, seconds=3)
            r_ours = run_wrk(
                base["uncached"], lua_ours, connections=8, seconds=SECONDS, headers=headers
            )
            r_tipg = run_wrk(base["tipg"], lua_tipg, connections=8, seconds=SECONDS)
            floor_tps, floor_ms = pgbench(url, z, sample)
            time.sleep(5)  # let the servers drain what wrk left queued
            for p in ours_paths:  # one warm pass fills the cache
                _get(base["cached"] + p, headers)
            r_cached = run_wrk(
                base["cached"], lua_ours, connections=8, seconds=SECONDS, headers=headers
            )
            mean_ours = sum(c[0] for c in counts) / len(counts)
            mean_tipg = sum(c[1] for c in counts) / len(counts)
            mean_sql = sum(c[2] for c in counts) / len(counts)
            section.rows.append(
                [
                    f"z{z}",
                    f"{r_ours.requests_per_s:,.0f} ({r_ours.p50_ms:.1f} / {r_ours.p99_ms:.1f})",
                    f"{r_tipg.requests_per_s:,.0f} ({r_tipg.p50_ms:.1f} / {r_tipg.p99_ms:.1f})",
                    f"{floor_tps:,.0f} ({floor_ms:.2f})",
                    f"{r_cached.requests_per_s:,.0f} "
                    f"({r_cached.p50_ms:.1f} / {r_cached.p99_ms:.1f})",
                    f"{r_ours.requests_per_s / r_tipg.requests_per_s:.2f}×",
                    f"{r_ours.requests_per_s / floor_tps:.2f}×",
                    f"ours {mean_ours:,.0f} / SQL {mean_sql:,.0f} / tipg {mean_tipg:,.0f}",
                ]
            )
            bad = r_ours.non_2xx + r_tipg.non_2xx + r_cached.non_2xx
            assert bad == 0, f"non-2xx responses: {bad}"
            print(section.rows[-1], flush=True)
        engine.dispose()
        with create_engine(url).connect() as conn:
            size = conn.execute(
                text("SELECT (SELECT count(*) FROM buildings), (SELECT count(*) FROM rooms)")
            ).one()
        section.notes += [
            f"Benchmark province: {size[0]:,} buildings, {size[1]:,} rooms (EPSG:4490, GiST); "
            f"{TILES_PER_ZOOM} tiles per zoom sampled (seed 1) among tiles holding buildings.",
            "One uvicorn worker per server; wrk -t2 -c8 -d10s on loopback after a 3 s warm-up; "
            "SQL floor: the same rooms MVT statement (literal tile, one pgbench script per tile "
            f"for the first {PGBENCH_MAX_SCRIPTS} tiles), pgbench -c2 -j2 -M prepared -T10.",
            "Ours goes through the whole app: auth gate (JWT), principal loaded from the users "
            "table, scope predicate, RLS settings, one ST_AsMVT statement per tile. "
            "tipg serves all columns of rooms; ours serves 10 properties and keeps only current "
            "floor versions, looking each room's floor up by primary key (LATERAL; since "
            "2026-12-01 04:40, before a plain join that hashed all 205k current floors per tile); "
            "the SQL floor keeps the plain join (same rows).",
            "Feature counts (mean of 5 decoded tiles per zoom): our tiles decoded and checked "
            "equal to the decoded SQL-floor tile of the same z/x/y; tipg's count shown for "
            "comparison (it does not filter superseded floor versions; buffer set to 64 "
            "like ours).",
            "Cached column: hits are answered before the app by backend/maps/tile_cache.py (token "
            "verified once per token, principal cached per token for 5 s while the audited data "
            "version holds, tile and ETag from memory, no database; about one request a second "
            "per worker falls through to the route to re-read the data version).",
            "Targets (performance.md B1): ≥ 2× tipg uncached; ≥ 0.3× the SQL floor at z14; "
            "cached ≥ 10,000 tiles/s. The 2-core machine was shared with other engineers' "
            "work during the run; all sides ran back to back in this one run (load average "
            f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end).",
        ]
        write_section(section)
    finally:
        stop_servers(procs)


if __name__ == "__main__":
    sys.exit(main())
