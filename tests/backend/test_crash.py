"""Crashes with real processes: ``officemap serve`` killed with SIGKILL during a burst of
acknowledged writes; PostgreSQL stopped in immediate mode in the middle of a plan import;
a killed server's cluster adopted and stopped by the next start and stop.

Each test runs ``officemap serve`` as a subprocess with a state folder of its own (its own
embedded cluster, a tiny demo province).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from backend.db.embedded import EmbeddedPostgres, free_port
from benchmarks.b12_isolation import maximal_plan, multipart
from gis.crs import gk3_zone_crs

PROJECT = Path(__file__).resolve().parent.parent.parent


class Server:
    """``officemap serve`` in a subprocess on a state folder."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = state / f"serve-{self.port}.log"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("OFFICEMAP_") or k.startswith("OFFICEMAP_TEST_")
        }
        env.update(
            OFFICEMAP_STATE_DIR=str(state),
            OFFICEMAP_DEMO_BUILDINGS="4",
            OFFICEMAP_AUTH_SECRET="crash-test-secret-crash-test-secret",
        )
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "officemap"), "serve", "--port", str(self.port)],
            env=env,
            cwd=PROJECT,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 240
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/api/v1/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.2)
        self.token = self._login()

    def _login(self) -> str:
        form = urllib.parse.urlencode({"username": "admin", "password": "demo-admin"}).encode()
        with urllib.request.urlopen(f"{self.base}/api/v1/auth/token", data=form) as r:
            return str(json.loads(r.read())["access_token"])

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        data = (
            json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
        )
        h = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        if body is not None and not isinstance(body, bytes):
            h["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, json.loads(r.read() or b"null"), dict(r.headers)
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw.startswith(b"{") else raw, dict(exc.headers)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> int:
        """Ctrl-C, as a person stops ``make run``."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def template() -> Iterator[Path]:
    """A state folder made once by a first ``officemap serve`` (cluster, schema, demo),
    stopped cleanly; each test starts from a copy."""
    # not under pytest's tmp_path: the cluster's unprivileged owner must reach the folder
    root = Path(tempfile.mkdtemp(prefix="officemap-crash-template-"))
    try:
        Server(root).stop()
        yield root
    finally:
        _stop_cluster(root)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def state(template: Path) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="officemap-crash-"))
    root.chmod(0o711)
    subprocess.run(["cp", "-a", f"{template}/postgres", str(root)], check=True)
    try:
        yield root
    finally:
        _stop_cluster(root)
        shutil.rmtree(root, ignore_errors=True)


def _stop_cluster(root: Path) -> None:
    pg = EmbeddedPostgres(root=root / "postgres")
    if pg.initialised() and pg.running():
        pg.stop(mode="immediate")


def _cluster(state: Path) -> EmbeddedPostgres:
    return EmbeddedPostgres(root=state / "postgres")


def _stops_answering(base: str) -> bool:
    """Whether ``base`` stops answering within a minute (a server winding down)."""
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{base}/api/v1/health", timeout=2).close()
        except (urllib.error.URLError, OSError):
            return True
        time.sleep(0.2)
    return False


def test_a_killed_server_leaves_no_orphaned_cluster_after_the_next_start_and_stop(
    state: Path,
) -> None:
    first = Server(state)
    first.kill()
    assert _cluster(state).running()  # SIGKILL gave the server no chance to stop it
    assert _stops_answering(first.base)  # the server process it started died with it
    second = Server(state)
    assert "adopted the embedded PostgreSQL" in second.log.read_text()
    assert second.stop() == 0
    assert not _cluster(state).running()


def test_sigkill_during_a_burst_of_writes_loses_no_acknowledged_write(state: Path) -> None:
    server = Server(state)
    buildings = [f["id"] for f in server.call("GET", "/api/v1/buildings?limit=4")[1]["features"]]
    acked: dict[int, tuple[int, str]] = {}  # building → (version, name) last acknowledged
    stop = threading.Event()

    def writer(building: int) -> None:
        status, body, headers = server.call("GET", f"/api/v1/buildings/{building}")
        etag = headers["etag"]
        n = 0
        while not stop.is_set():
            n += 1
            name = f"crash-{building}-{n}"
            try:
                status, body, headers = server.call(
                    "PATCH", f"/api/v1/buildings/{building}", {"name": name}, {"If-Match": etag}
                )
            except (urllib.error.URLError, OSError, ConnectionError):
                return  # the server is gone: this write was never acknowledged
            if status == 200:
                etag = headers["etag"]
                acked[building] = (int(etag.strip('"')), name)

    threads = [threading.Thread(target=writer, args=(b,)) for b in buildings]
    for t in threads:
        t.start()
    while sum(v[0] for v in acked.values()) < 40:
        time.sleep(0.05)
    server.kill()
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert acked
    again = Server(state)
    for building, (version, name) in acked.items():
        status, body, headers = again.call("GET", f"/api/v1/buildings/{building}")
        assert status == 200
        stored = int(headers["etag"].strip('"'))
        # every acknowledged write is there (a later, unacknowledged one may be too)
        assert stored >= version, (building, stored, version)
        if stored == version:
            assert body["properties"]["name"] == name
    assert again.stop() == 0
    # the server's structured log: one JSON line per request, no token in it
    lines = [json.loads(x) for x in again.log.read_text().splitlines() if x.startswith("{")]
    access = [x for x in lines if x.get("logger") == "officemap.access"]
    assert access and {"request_id", "user", "route", "status", "ms"} <= set(access[-1])
    assert any(x["route"] == "/api/v1/buildings/{building_id}" for x in access)
    assert again.token not in again.log.read_text()


def test_postgres_stopped_immediately_during_a_plan_import_leaves_no_half_version(
    state: Path,
) -> None:
    server = Server(state)
    pg = _cluster(state)
    pg.port = int((state / "postgres" / "pg-port").read_text())
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        building, lon, lat = conn.execute(
            "SELECT b.id, ST_X(ST_Centroid(b.footprint)), ST_Y(ST_Centroid(b.footprint))"
            " FROM buildings b JOIN floors f ON f.building_id = b.id AND f.level = 1"
            " WHERE f.valid_to IS NULL ORDER BY b.id LIMIT 1"
        ).fetchone()
        before = _floor_state(conn, building)
    # an acknowledged write before the stop must survive it too
    status, _, headers = server.call("GET", f"/api/v1/buildings/{building}")
    status, _, headers = server.call(
        "PATCH",
        f"/api/v1/buildings/{building}",
        {"name": "before the stop"},
        {"If-Match": headers["etag"]},
    )
    assert status == 200
    body, ctype = multipart(
        {"crs": gk3_zone_crs(lon)}, "big.geojson", maximal_plan((lon, lat), rooms=8_000)
    )
    answer: dict[str, Any] = {}

    _, _, floor_headers = server.call("GET", f"/api/v1/buildings/{building}/floors/1/rooms?limit=1")

    def upload() -> None:
        answer["status"], answer["body"], _ = server.call(
            "POST",
            f"/api/v1/buildings/{building}/floors/1/plan",
            body,
            {"Content-Type": ctype, "If-Match": floor_headers["etag"]},
        )

    t = threading.Thread(target=upload)
    t.start()
    caught = False
    with psycopg.connect(pg.dsn(), autocommit=True) as watch:
        while t.is_alive() and not caught:
            # the import's transaction has written (it holds a transaction id) and has not
            # committed yet: the floor version is half-written inside it
            rows = watch.execute(
                "SELECT 1 FROM pg_stat_activity WHERE backend_xid IS NOT NULL"
                " AND pid <> pg_backend_pid() AND datname = current_database()"
            ).fetchall()
            if rows:
                caught = True
                break
            time.sleep(0.005)
    if caught:
        pg.stop(mode="immediate")
    t.join(timeout=300)
    assert caught, f"the import finished before the stop could hit it: {answer}"
    assert answer["status"] == 503, answer
    assert answer["body"]["code"] == "database_unavailable"

    pg.start()  # crash recovery replays the WAL
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        after = _floor_state(conn, building)
        name = conn.execute("SELECT name FROM buildings WHERE id = %s", (building,)).fetchone()
    assert after == before  # the import is entirely absent: no half-written version
    assert name == ("before the stop",)
    # the server recovers once the database is back
    status, *_ = server.call("GET", f"/api/v1/buildings/{building}/floors")
    assert status == 200
    assert server.stop() == 0


def _floor_state(conn: psycopg.Connection[Any], building: int) -> Any:
    return conn.execute(
        "SELECT f.id, f.version, f.valid_to IS NULL,"
        " (SELECT count(*) FROM rooms r WHERE r.floor_id = f.id),"
        " (SELECT count(*) FROM plan_imports i WHERE i.floor_id = f.id)"
        " FROM floors f WHERE f.building_id = %s AND f.level = 1 ORDER BY f.version",
        (building,),
    ).fetchall()
