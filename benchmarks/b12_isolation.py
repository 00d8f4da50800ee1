"""B12 — isolation under upload: p99 of /api/v1/health and of a by-id read while a maximal
plan upload is validated, vs the same with no upload (target: ≤ 2× the idle p99).

A small cluster of its own (``.state/b12-postgres``, the demo province): the figure is
about the event loop, not the register's size. One uvicorn worker; wrk on loopback with a
few connections (other users, not a saturating load) for each phase; during the upload
phase a client posts the maximal plan (dry run: read, validate, areas) back to back.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
import uuid

import numpy as np
import shapely
from sqlalchemy import create_engine, text

from backend.db.embedded import EmbeddedPostgres, free_port
from backend.db.migrate import upgrade
from benchmarks.common import (
    PROJECT_ROOT,
    Section,
    our_server,
    stop_servers,
    wait_http,
    write_section,
)
from benchmarks.wrk import random_path_lua, run_wrk
from gis.crs import gk3_zone_crs, transformer
from gis.io import Limits

B12_ROOT = PROJECT_ROOT / ".state" / "b12-postgres"
SECONDS = 15
CONNECTIONS = 4


def maximal_plan(center_lonlat: tuple[float, float], rooms: int = Limits.max_features - 1) -> bytes:
    """A valid GeoJSON floor at the feature limit: ``rooms`` 2 × 2 m rooms on a grid (GK
    metres) around ``center_lonlat``, with numbers and categories, plus the outline (the
    limit's last feature)."""
    crs = gk3_zone_crs(center_lonlat[0])
    x0, y0 = transformer("EPSG:4490", crs).transform(*center_lonlat)
    side = int(np.ceil(np.sqrt(rooms)))
    k = np.arange(rooms)
    xs, ys = x0 + (k % side) * 2.0, y0 + (k // side) * 2.0
    boxes = shapely.box(xs, ys, xs + 2.0, ys + 2.0)
    outline = shapely.box(x0 - 1, y0 - 1, x0 + side * 2.0 + 1, y0 + side * 2.0 + 1)
    feats = [
        {
            "type": "Feature",
            "properties": {"number": f"R{i}", "category": "office.staff_office"},
            "geometry": json.loads(g),
        }
        for i, g in enumerate(shapely.to_geojson(boxes))
    ]
    feats.append(
        {
            "type": "Feature",
            "properties": {"kind": "outline"},
            "geometry": json.loads(shapely.to_geojson(outline)),
        }
    )
    doc = {"type": "FeatureCollection", "features": feats}
    return json.dumps(doc, separators=(",", ":")).encode()


def multipart(fields: dict[str, str], filename: str, data: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body (file + text fields) and its content type."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def main() -> None:
    from backend.accounts import users
    from backend.accounts.auth import issue_token
    from backend.demo.generator import load_demo, register_is_empty

    pg = EmbeddedPostgres(root=B12_ROOT)
    pg.start()
    engine = create_engine(pg.url())
    upgrade(engine)
    with engine.begin() as conn:
        if register_is_empty(conn):
            load_demo(conn, seed=1)
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        users.ensure_demo_users(session)
        row = session.execute(
            text(
                "SELECT id, ST_X(ST_Centroid(footprint)), ST_Y(ST_Centroid(footprint)),"
                " (SELECT max(id) FROM buildings) FROM buildings"
                " WHERE (source IS NULL OR source NOT LIKE '%IMDF%')"
                " AND EXISTS (SELECT 1 FROM floors f WHERE f.building_id = buildings.id AND f.level = 1)"
                " ORDER BY id LIMIT 1"
            )
        ).one()
    engine.dispose()
    building_id, lon, lat, n_buildings = int(row[0]), float(row[1]), float(row[2]), int(row[3])
    plan = maximal_plan((lon, lat))
    crs = gk3_zone_crs(lon)

    port = free_port()
    env = dict(os.environ, OFFICEMAP_DATABASE_URL=pg.url())
    server = our_server(port, env)
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {issue_token('admin')}"}
    try:
        wait_http(f"{base}/api/v1/health")
        body, ctype = multipart({"crs": crs, "dry_run": "true"}, "maximal.geojson", plan)
        upload_url = f"{base}/api/v1/buildings/{building_id}/floors/1/plan"

        def upload_once() -> tuple[int, float]:
            req = urllib.request.Request(
                upload_url, data=body, method="POST", headers={**headers, "Content-Type": ctype}
            )
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(req, timeout=600) as r:
                    status = r.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            return status, time.perf_counter() - t0

        status, upload_s = upload_once()  # warm-up, and the upload's own duration
        assert status == 200, status
        cases = {
            "/api/v1/health": "request = function()\n  return wrk.format('GET', '/api/v1/health')\nend\n",
            "/api/v1/buildings/{id}": random_path_lua("/api/v1/buildings/{id}", 1, n_buildings),
        }
        section = Section(
            "B12",
            "Isolation under upload",
            header=[
                "request",
                "idle p50 / p99 ms",
                "during upload p50 / p99 ms",
                "p99 ratio (upload / idle)",
                "target",
                "uploads during the run",
            ],
        )
        for name, lua in cases.items():
            idle = run_wrk(
                base, lua, connections=CONNECTIONS, threads=1, seconds=SECONDS, headers=headers
            )
            stop = threading.Event()
            done: list[int] = []

            def uploads(stop: threading.Event, done: list[int]) -> None:
                while not stop.is_set():
                    done.append(upload_once()[0])

            t = threading.Thread(target=uploads, args=(stop, done))
            t.start()
            time.sleep(0.5)
            busy = run_wrk(
                base, lua, connections=CONNECTIONS, threads=1, seconds=SECONDS, headers=headers
            )
            stop.set()
            t.join()
            assert set(done) == {200}, done
            ratio = busy.p99_ms / idle.p99_ms
            section.rows.append(
                [
                    name,
                    f"{idle.p50_ms:.1f} / {idle.p99_ms:.1f}",
                    f"{busy.p50_ms:.1f} / {busy.p99_ms:.1f}",
                    f"{ratio:.2f}×",
                    "≤ 2×",
                    str(len(done)),
                ]
            )
            print(section.rows[-1], flush=True)
        section.notes += [
            f"Maximal upload: a GeoJSON of {Limits.max_features - 1:,} rooms + outline "
            f"({len(plan) / 2**20:.1f} MB), dry run (read, validate, areas); one takes "
            f"{upload_s:.1f} s alone. Posted back to back during the upload phase.",
            f"wrk: {CONNECTIONS} connections, 1 thread, {SECONDS} s per phase; one uvicorn worker; "
            "demo province (400 buildings) in its own cluster.",
            "Uploads never run on the event loop: the file is read in a worker process "
            "(forkserver, nice +10), validation and the write in a worker thread; at most "
            "OFFICEMAP_UPLOAD_WORKERS (default 2) at once.",
            f"Machine load average during the run: {os.getloadavg()[0]:.1f} (shared machine; "
            "p99 figures on a busy 2-core machine are noisy).",
        ]
        write_section(section)
    finally:
        stop_servers([server], timeout=30)
        pg.stop()


if __name__ == "__main__":
    main()
