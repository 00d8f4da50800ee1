"""The officemap command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, text


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_help_lists_the_commands() -> None:
    out = run("--help").stdout
    for name in ("serve", "db", "demo"):
        assert name in out


def test_with_a_database_url_no_local_cluster_is_started(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    import os

    env = dict(
        os.environ, OFFICEMAP_DATABASE_URL=database_url, OFFICEMAP_STATE_DIR=str(tmp_path / "state")
    )
    r = run("db", "upgrade", env=env)
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "state").exists()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() >= 1


def test_demo_refuses_a_non_empty_register(database_url: str, engine: Engine) -> None:
    import os

    env = dict(os.environ, OFFICEMAP_DATABASE_URL=database_url)
    r = run("demo", "--buildings", "3", env=env)
    assert r.returncode != 0
    assert "not empty" in r.stderr
