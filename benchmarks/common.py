"""Shared benchmark fixtures: the benchmark province in its own embedded cluster.

``benchmark_database()`` starts (or reuses) a persistent cluster in
``.state/bench-postgres`` and loads the benchmark province (≥ 20,000 buildings,
≥ 200,000 floors, ≥ 1,000,000 rooms) once. Every benchmark runs our code and its anchor
in the same run on this data and reports the ratio.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from backend.db.embedded import EmbeddedPostgres
from backend.db.migrate import upgrade
from backend.settings import PROJECT_ROOT

BENCH_ROOT = PROJECT_ROOT / ".state" / "bench-postgres"
RESULTS = PROJECT_ROOT / "benchmarks" / "RESULTS.md"


def benchmark_cluster() -> EmbeddedPostgres:
    pg = EmbeddedPostgres(root=BENCH_ROOT)
    pg.start()
    return pg


def benchmark_database(buildings: int = 20_000) -> EmbeddedPostgres:
    """The running benchmark cluster with the benchmark province loaded."""
    from backend.demo.generator import load_demo, register_is_empty

    pg = benchmark_cluster()
    engine = create_engine(pg.url())
    upgrade(engine)
    with engine.begin() as conn:
        if register_is_empty(conn):
            t0 = time.perf_counter()
            report = load_demo(
                conn,
                profile="benchmark",
                buildings=buildings,
                seed=1,
                as_of=dt.date(2026, 11, 26),
                log=print,
            )
            print(f"benchmark province: {report.summary()} ({time.perf_counter() - t0:.0f} s)")
    with engine.connect() as conn:
        counts = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM buildings), (SELECT count(*) FROM floors), (SELECT count(*) FROM rooms)"
            )
        ).one()
    engine.dispose()
    assert counts[0] >= 20_000 and counts[1] >= 200_000 and counts[2] >= 1_000_000, counts
    return pg


def app_url(pg: EmbeddedPostgres) -> str:
    """URL of the app's LOGIN role on the benchmark cluster (created or re-passworded here):
    our servers run their requests as it, like ``officemap serve``."""
    from backend.db import roles

    roles.ensure_app_login(pg.url(), pg.app_password())
    return pg.app_url()


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{platform.node()}: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; {pg}"


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Median wall time of ``repeat`` runs and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


@dataclass
class Section:
    """One benchmark's results, written as a section of RESULTS.md."""

    key: str  # e.g. "B3"
    title: str
    rows: list[list[str]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        out = [
            f"## {self.key} — {self.title}",
            "",
            f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
            "",
        ]
        if self.header:
            out.append("| " + " | ".join(self.header) + " |")
            out.append("|" + "---|" * len(self.header))
            out += ["| " + " | ".join(r) + " |" for r in self.rows]
            out.append("")
        out += [f"- {n}" for n in self.notes]
        return "\n".join(out).rstrip() + "\n"


def write_section(section: Section) -> None:
    """Replace (or add) this benchmark's section in benchmarks/RESULTS.md."""
    head = (
        "# Benchmark results\n\nEach section is written by its benchmark (`make bench` runs all).\n"
    )
    text_ = RESULTS.read_text() if RESULTS.exists() else head
    parts = text_.split("\n## ")
    kept = [parts[0].rstrip() + "\n"] + [
        "## " + p.rstrip() + "\n" for p in parts[1:] if not p.startswith(section.key + " ")
    ]
    kept.append(section.markdown())
    ordered = [kept[0]] + sorted(kept[1:], key=lambda s: int(s[4:].split(" ")[0].lstrip("B") or 0))
    RESULTS.write_text("\n".join(ordered))


BENCH_USER = "bench-admin"
BENCH_PASSWORD = "bench-admin-password"  # benchmark cluster only, never a deployment


def bench_token(base_url: str) -> str:
    """A bearer token for an admin of the benchmark province, through the real login route."""
    import json
    import urllib.parse
    import urllib.request

    from sqlalchemy.orm import Session

    from backend.accounts import users

    engine = create_engine(benchmark_cluster().url())
    with Session(engine) as session, session.begin():
        try:
            users.get_user(session, BENCH_USER)
        except Exception:
            users.create_user(
                session,
                actor="benchmarks",
                username=BENCH_USER,
                password=BENCH_PASSWORD,
                roles=["admin"],
                regions=[330000],
            )
    engine.dispose()
    form = urllib.parse.urlencode({"username": BENCH_USER, "password": BENCH_PASSWORD}).encode()
    req = urllib.request.Request(f"{base_url}/api/v1/auth/token", data=form, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        return str(json.loads(r.read())["access_token"])


TIPG_VERSION = "1.6.1"
TIPG_VENV = PROJECT_ROOT / ".state" / "tipg-venv"


def tipg_uvicorn() -> Path:
    """uvicorn of a virtualenv holding the tipg anchor (created from PyPI on first use).

    tipg never goes into the project's own environment.
    """
    import sys

    py = TIPG_VENV / "bin" / "python"
    if not (TIPG_VENV / "bin" / "uvicorn").exists():
        subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", f"tipg=={TIPG_VERSION}", "uvicorn[standard]"],
            check=True,
        )
    return TIPG_VENV / "bin" / "uvicorn"


def wait_http(url: str, headers: dict[str, str] | None = None, timeout: float = 180) -> None:
    """Poll ``url`` until it answers (a server started by a benchmark is up)."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            req = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(req, timeout=30):
                return
        except Exception:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up")


def our_server(port: int, env: dict[str, str], *, workers: int = 1) -> subprocess.Popen[bytes]:
    """Our app (``create_app`` factory) under the project's uvicorn on ``port``."""
    uvicorn = PROJECT_ROOT / ".venv" / "bin" / "uvicorn"
    args = [str(uvicorn), "backend.api.app:create_app", "--factory", "--port", str(port)]
    args += ["--workers", str(workers), "--log-level", "warning"]
    return subprocess.Popen(args, env=env, cwd=PROJECT_ROOT)


def tipg_server(
    port: int, db_url: str, tables: list[str], **settings: str
) -> subprocess.Popen[bytes]:
    """The tipg anchor on ``port`` serving ``tables`` of ``db_url`` (extents off); ``settings``
    are further ``TIPG_…`` variables, e.g. ``TIPG_TILE_BUFFER="64"``."""
    env = dict(
        os.environ,
        DATABASE_URL=db_url.replace("postgresql+psycopg://", "postgresql://"),
        TIPG_DB_TABLES="[" + ",".join(f'"{t}"' for t in tables) + "]",
        TIPG_DB_SPATIAL_EXTENT="false",
        TIPG_DB_DATETIME_EXTENT="false",
        **settings,
    )
    args = [str(tipg_uvicorn()), "tipg.main:app", "--port", str(port), "--workers", "1"]
    return subprocess.Popen([*args, "--log-level", "warning"], env=env, cwd="/tmp")


def stop_servers(procs: list[subprocess.Popen[bytes]], timeout: float = 60) -> None:
    """Terminate the servers a benchmark started; kill any still running after ``timeout``."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
