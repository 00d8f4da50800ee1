"""The restore drill: back up, destroy, restore — counts, areas and the audit chain agree.

Real processes: ``officemap db backup FILE`` and ``officemap db restore FILE`` run as
subprocesses against a database of their own in the test cluster.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session

from backend.accounts.access import SYSTEM
from backend.audit import service as audit
from backend.db.migrate import upgrade
from backend.plans import service as plans
from backend.services.scope import Scope
from tests.backend.test_plans_support import demo_site, feature_collection, rooms_in

DRILL_DB = "officemap_drill"
PROJECT = Path(__file__).resolve().parent.parent.parent


def _admin(database_url: str, db: str = "postgres") -> str:
    u = make_url(database_url).set(drivername="postgresql", database=db)
    return u.render_as_string(hide_password=False)


@pytest.fixture
def drill_url(database_url: str) -> Iterator[str]:
    from backend.demo.generator import load_demo

    with psycopg.connect(_admin(database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DRILL_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DRILL_DB}"')
    with psycopg.connect(_admin(database_url, DRILL_DB), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    url = make_url(database_url).set(database=DRILL_DB).render_as_string(hide_password=False)
    engine = create_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        load_demo(conn, buildings=4, seed=5, with_imdf=False)
    # a committed plan import: a stored original file, an import row and an audit event
    with Session(engine) as session, session.begin():
        site = demo_site(session)
        rooms = rooms_in(site, 4)
        data = feature_collection(rooms, [{"number": f"9{k}"} for k in range(4)])
        req = plans.PlanRequest(
            building_id=site.building_id,
            level=site.level,
            filename="drill.geojson",
            data=data,
            crs=site.crs,
        )
        assert (
            plans.import_plan(session, req, principal=SYSTEM, scope=Scope.everything()).status
            == "imported"
        )
    engine.dispose()
    try:
        yield url
    finally:
        with psycopg.connect(_admin(database_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DRILL_DB}" WITH (FORCE)')


def _officemap(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OFFICEMAP_DATABASE_URL=url)
    return subprocess.run(
        [str(Path(sys.executable).parent / "officemap"), *args],
        env=env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _facts(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            row = session.execute(
                text(
                    "SELECT (SELECT count(*) FROM buildings), (SELECT count(*) FROM floors),"
                    " (SELECT count(*) FROM rooms), (SELECT count(*) FROM occupancies),"
                    " (SELECT count(*) FROM audit_events), (SELECT count(*) FROM plan_files),"
                    " (SELECT sum(usable_area_m2) FROM rooms),"
                    " (SELECT sum(usable_area_raw) FROM rooms),"
                    " (SELECT sum(building_area_m2) FROM floors WHERE valid_to IS NULL),"
                    " (SELECT sum(ST_Area(geom::geography)) FROM rooms),"
                    " (SELECT string_agg(sha256, ',' ORDER BY sha256) FROM plan_files)"
                )
            ).one()
            check = audit.verify(session)
    finally:
        engine.dispose()
    return {"facts": tuple(row), "audit": (check.ok, check.checked)}


def test_restore_drill(drill_url: str, database_url: str, tmp_path: Path) -> None:
    before = _facts(drill_url)
    assert before["audit"][0] and before["audit"][1] >= 1
    archive = tmp_path / "officemap.backup"
    made = _officemap(drill_url, "db", "backup", str(archive))
    assert made.returncode == 0, made.stderr
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"database.dump", "manifest.json", "manifest.sha256"} <= names
    assert any(n.startswith("plan_files/") for n in names)

    # destroy: the database is gone
    with psycopg.connect(_admin(database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{DRILL_DB}" WITH (FORCE)')

    restored = _officemap(drill_url, "db", "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    assert _facts(drill_url) == before


def test_an_altered_archive_is_refused_and_changes_nothing(drill_url: str, tmp_path: Path) -> None:
    before = _facts(drill_url)
    archive = tmp_path / "officemap.backup"
    assert _officemap(drill_url, "db", "backup", str(archive)).returncode == 0
    data = bytearray(archive.read_bytes())
    data[2048] ^= 0xFF  # inside the dump's bytes
    archive.write_bytes(bytes(data))
    refused = _officemap(drill_url, "db", "restore", str(archive))
    assert refused.returncode == 1
    assert "checksum" in refused.stderr
    assert _facts(drill_url) == before
