"""A process killed mid-import (SIGKILL) leaves the old floor version intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.backend.test_plans_support import demo_site, feature_collection, rooms_in

CHILD = textwrap.dedent(
    """
    import sys, time
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session
    from backend.plans import service as plans
    from backend.accounts.access import SYSTEM
    from backend.services.scope import Scope

    url, path, building, level, crs = sys.argv[1:6]
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        req = plans.PlanRequest(building_id=int(building), level=int(level),
                                filename="plan.geojson", data=open(path, "rb").read(), crs=crs)
        out = plans.import_plan(session, req, principal=SYSTEM, scope=Scope.everything())
        print("WRITTEN", out.floor_id, flush=True)
        time.sleep(120)  # killed here: everything written, nothing committed
    """
)


def state(engine: Any, building: int, level: int) -> tuple[Any, ...]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                text(
                    "SELECT f.id, f.version, (SELECT count(*) FROM rooms r WHERE r.floor_id = f.id),"
                    " (SELECT count(*) FROM floors WHERE building_id = :b AND level = :l),"
                    " (SELECT count(*) FROM plan_files), (SELECT count(*) FROM plan_imports)"
                    " FROM floors f WHERE f.building_id = :b AND f.level = :l AND f.valid_to IS NULL"
                ),
                {"b": building, "l": level},
            ).one()
        )


def test_sigkill_mid_import_leaves_the_old_version(
    engine: Any, database_url: str, tmp_path: Path
) -> None:
    with Session(engine) as s:
        site = demo_site(s)
        rooms = rooms_in(site, 6)
    path = tmp_path / "plan.geojson"
    path.write_bytes(feature_collection(rooms, [{"number": f"K{k}"} for k in range(6)]))
    before = state(engine, site.building_id, site.level)
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            database_url,
            str(path),
            str(site.building_id),
            str(site.level),
            site.crs,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        line = child.stdout.readline() if child.stdout else ""
        assert line.startswith("WRITTEN"), child.stderr.read() if child.stderr else line
        new_floor = int(line.split()[1])
        # mid-import: the new version exists only inside the child's open transaction
        assert state(engine, site.building_id, site.level) == before
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
    after = state(engine, site.building_id, site.level)
    assert after == before
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM floors WHERE id = :f"), {"f": new_floor}
            ).scalar()
            == 0
        )
    # the advisory lock died with the session: the floor can be imported again at once
    with Session(engine) as s, s.begin():
        s.execute(text("SET LOCAL lock_timeout = '5s'"))
        s.execute(
            text("SELECT pg_advisory_xact_lock(:a, :b)"),
            {"a": 0x504C414E, "b": site.building_id * 1024 + site.level},
        )
