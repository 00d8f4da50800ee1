"""Alembic: a fresh database reaches the head; downgrade to base and back works."""

from __future__ import annotations

import psycopg
from alembic import command
from sqlalchemy import create_engine, inspect

from backend.db.embedded import EmbeddedPostgres
from backend.db.migrate import alembic_config, upgrade

TABLES = {
    "regions",
    "agencies",
    "agency_staffing",
    "buildings",
    "floors",
    "rooms",
    "occupancies",
    "audit_events",
}


def test_fresh_database_upgrades_and_downgrades(pg_cluster: EmbeddedPostgres | None) -> None:
    assert pg_cluster is not None
    with psycopg.connect(pg_cluster.dsn("postgres"), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS migrate_check")
        conn.execute("CREATE DATABASE migrate_check")
    url = pg_cluster.url("migrate_check")
    engine = create_engine(url)
    try:
        upgrade(engine)
        names = set(inspect(engine).get_table_names())
        assert names >= TABLES
        gist = {i["name"] for i in inspect(engine).get_indexes("rooms")}
        assert "idx_rooms_geom" in gist
        upgrade(engine)  # idempotent
        cfg = alembic_config(url)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert not (TABLES & set(inspect(engine).get_table_names()))
        upgrade(engine)
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()
        with psycopg.connect(pg_cluster.dsn("postgres"), autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS migrate_check")
