"""The embedded cluster: unprivileged owner, data checksums, PostGIS, restart keeps data."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from backend.db.embedded import EmbeddedPostgres


def test_test_cluster_has_postgis_and_checksums(pg_cluster: EmbeddedPostgres | None) -> None:
    assert pg_cluster is not None
    with psycopg.connect(pg_cluster.dsn()) as conn:
        assert conn.execute("SELECT current_setting('data_checksums')").fetchone() == ("on",)
        assert conn.execute("SELECT postgis_lib_version()").fetchone()[0].startswith("3.")
        assert conn.execute("SELECT inet_server_addr()::text").fetchone()[0].startswith("127.0.0.1")


def test_cluster_never_runs_as_root(pg_cluster: EmbeddedPostgres | None) -> None:
    assert pg_cluster is not None
    expected = pg_cluster.os_user if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    owner = pwd.getpwuid(pg_cluster.datadir.stat().st_uid).pw_name
    pid = int((pg_cluster.datadir / "postmaster.pid").read_text().split()[0])
    server_user = pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name
    assert owner == server_user == expected != "root"


def test_restart_keeps_data_and_refuses_wrong_password() -> None:
    root = Path(tempfile.mkdtemp(prefix="officemap-test-restart-"))
    pg = EmbeddedPostgres(root=root)
    try:
        pg.start(fast=True)
        with psycopg.connect(pg.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (v int)")
            conn.execute("INSERT INTO kept VALUES (42)")
        pg.stop()
        assert not pg.running()
        pg.start(fast=True)
        with psycopg.connect(pg.dsn()) as conn:
            assert conn.execute("SELECT v FROM kept").fetchone() == (42,)
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(pg.dsn().replace(pg.password, "wrong"), connect_timeout=3)
    finally:
        pg.stop(mode="immediate")
        shutil.rmtree(root, ignore_errors=True)


def test_a_relative_state_folder_works(monkeypatch: pytest.MonkeyPatch) -> None:
    base = Path(tempfile.mkdtemp(prefix="officemap-test-rel-"))
    monkeypatch.chdir(base)
    pg = EmbeddedPostgres(root=Path("state/pg"))
    try:
        pg.start(fast=True)
        assert pg.root.is_absolute()
        assert pg.running()
        pg.stop()
        assert not pg.running()
    finally:
        pg.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)
