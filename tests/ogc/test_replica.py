"""Reads from a streaming replica: an embedded hot standby of the test cluster, the app
configured with it, replay paused and resumed to see which server answered."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, make_url, text

from backend.db import replica
from backend.db.embedded import EmbeddedPostgres
from backend.db.replica import EmbeddedReplica, replica_of, wait_replayed
from tests.conftest import bearer


@pytest.fixture(scope="module")
def standby(
    pg_cluster: EmbeddedPostgres | None, engine: Engine, app_database_url: str
) -> Iterator[EmbeddedReplica]:
    """A hot standby of the test cluster (cloned after the app's login role exists)."""
    assert pg_cluster is not None, "the replica test needs the embedded test cluster"
    root = Path(tempfile.mkdtemp(prefix="officemap-test-replica-"))
    rep = replica_of(pg_cluster, root)
    rep.start(fast=True)
    try:
        yield rep
    finally:
        replica.configure_replicas([])
        rep.stop(mode="immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def replica_engine(standby: EmbeddedReplica) -> Iterator[Engine]:
    eng = create_engine(standby.url(), isolation_level="AUTOCOMMIT")
    yield eng
    eng.dispose()


@pytest.fixture
def app_with_replica(standby: EmbeddedReplica, app_database_url: str) -> Iterator[Any]:
    """The real app (sessions commit, as the app's login role) reading from the standby."""
    from backend.api.app import create_app
    from backend.maps import tile_cache

    tile_cache.forget()
    application = create_app(app_database_url)
    on_standby = make_url(app_database_url).set(port=standby.port)
    replica.configure_replicas([on_standby.render_as_string(hide_password=False)])
    yield application
    replica.configure_replicas([])


def name_of(c: Any) -> str:
    r = c.get("/ogc/collections/buildings/items/1")
    assert r.status_code == 200, r.text
    return str(r.json()["properties"]["name"])


def test_the_standby_is_a_streaming_replica(replica_engine: Engine, engine: Engine) -> None:
    with replica_engine.connect() as conn:
        assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is True
        assert conn.execute(text("SELECT count(*) FROM rooms")).scalar_one() > 0
    senders = 0
    for _ in range(120):  # a loaded machine may be between the standby's reconnects
        with engine.connect() as conn:
            senders = conn.execute(text("SELECT count(*) FROM pg_stat_replication")).scalar_one()
        if senders:
            break
        time.sleep(0.5)
    assert senders >= 1


def test_reads_come_from_the_replica_and_writes_reach_it(
    app_with_replica: Any, replica_engine: Engine, engine: Engine
) -> None:
    # one client (one event loop for the app's async pool), two callers by their tokens
    with TestClient(app_with_replica) as c:
        check_replica_reads(As(c, "admin"), As(c, "planner"), replica_engine, engine)


class As:
    """A client speaking as one user."""

    def __init__(self, client: Any, user: str) -> None:
        self.client, self.headers = client, bearer(user)

    def get(self, url: str) -> Any:
        return self.client.get(url, headers=self.headers)

    def patch(self, url: str, *, json: Any, headers: dict[str, str]) -> Any:
        return self.client.patch(url, json=json, headers={**self.headers, **headers})


def check_replica_reads(writer: Any, reader: Any, replica_engine: Engine, engine: Engine) -> None:
    original = name_of(reader)
    assert name_of(writer) == original
    with replica_engine.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_pause()"))
    try:
        etag = writer.get("/api/v1/buildings/1").headers["ETag"]
        r = writer.patch(
            "/api/v1/buildings/1", json={"name": "replica-check 副本"}, headers={"If-Match": etag}
        )
        assert r.status_code == 200, r.text
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT name FROM buildings WHERE id = 1")).scalar_one()
        assert stored == "replica-check 副本"
        # replay is paused: another caller reads the replica (still the old name) ...
        assert name_of(reader) == original
        # ... while the writer reads its own write (from the primary)
        assert name_of(writer) == "replica-check 副本"
    finally:
        with replica_engine.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))
    wait_replayed(engine, replica_engine)
    # the committed write is visible on the replica, through the app and directly
    assert name_of(reader) == "replica-check 副本"
    with replica_engine.connect() as conn:
        assert (
            conn.execute(text("SELECT name FROM buildings WHERE id = 1")).scalar_one()
            == "replica-check 副本"
        )
    # put the name back (for the other tests sharing the committed demo data)
    etag = writer.get("/api/v1/buildings/1").headers["ETag"]
    r = writer.patch("/api/v1/buildings/1", json={"name": original}, headers={"If-Match": etag})
    assert r.status_code == 200
    wait_replayed(engine, replica_engine)
    assert name_of(reader) == original


def test_an_unreachable_replica_falls_back_to_the_primary(
    app_with_replica: Any, database_url: str
) -> None:
    replica.configure_replicas(["postgresql+psycopg://nobody:x@127.0.0.1:9/officemap"])
    with TestClient(app_with_replica, headers=bearer("planner")) as c:
        assert c.get("/ogc/collections/buildings/items?limit=1").status_code == 200


def test_the_command_line_names_the_replica_actions() -> None:
    from typer.testing import CliRunner

    from backend.cli import app

    shown = CliRunner().invoke(app, ["db", "replica", "--help"])
    assert shown.exit_code == 0
    assert all(action in shown.output for action in ("start", "stop", "url"))
    assert CliRunner().invoke(app, ["db", "replica", "promote"]).exit_code == 2
