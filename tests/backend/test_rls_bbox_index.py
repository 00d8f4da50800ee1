"""Under row-level security a bbox query on rooms still uses the GiST index (migration 0006)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def test_bbox_under_rls_uses_the_spatial_index(db: Session) -> None:
    leakproof = db.execute(
        text(
            "SELECT proleakproof FROM pg_proc WHERE oid = 'geometry_overlaps(geometry,geometry)'::regprocedure"
        )
    ).scalar_one()
    assert leakproof is True
    db.execute(text("SET LOCAL enable_seqscan = off"))  # small test data: ask what is possible
    db.execute(text("SET LOCAL ROLE officemap_app"))
    db.execute(text("SELECT set_config('officemap.regions', '{[330100,330200)}', true)"))
    plan = "\n".join(
        db.execute(
            text(
                "EXPLAIN SELECT id FROM rooms WHERE geom && ST_MakeEnvelope(120.2, 30.2, 120.3, 30.3, 4490)"
            )
        ).scalars()
    )
    db.execute(text("RESET ROLE"))
    assert "idx_rooms_geom" in plan, plan
    # and the policy still filters: a scope that matches nothing returns nothing
    db.execute(text("SET LOCAL ROLE officemap_app"))
    db.execute(text("SELECT set_config('officemap.regions', '{}', true)"))
    db.execute(text("SELECT set_config('officemap.agencies', '{}', true)"))
    db.execute(text("SELECT set_config('officemap.unrestricted', 'off', true)"))
    hidden = db.execute(
        text("SELECT count(*) FROM rooms WHERE geom && ST_MakeEnvelope(118, 27, 123, 31.5, 4490)")
    ).scalar_one()
    db.execute(text("RESET ROLE"))
    assert hidden == 0
