"""access: users, row-level security, append-only audit, row history, room versions

Revision ID: 0004_access
Revises: 0001_foundation
"""

# ruff: noqa: S608 - SQL here is DDL built from this module's constants, never from input
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_access"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

APP_ROLE = "officemap_app"
SCOPED_TABLES = ("agencies", "agency_staffing", "buildings", "floors", "rooms", "occupancies")
HISTORY_TABLES = ("agencies", "buildings", "floors", "rooms", "occupancies")

# Scope comes from transaction-local settings written by the API for every request:
# officemap.unrestricted = 'on' | '', officemap.regions = an int4multirange of adcode
# subtrees, officemap.agencies = an int[] of agency ids. Unset means nothing is visible.
# Each function is wrapped in (SELECT …) in the policies so it runs once per query.
UNRESTRICTED = "(SELECT officemap_scope_unrestricted())"
REGIONS = "(SELECT officemap_scope_regions())"
AGENCIES = "(SELECT officemap_scope_agencies())::int[]"

POLICIES = {
    "agencies": f"{UNRESTRICTED} OR region_adcode <@ {REGIONS} OR id = ANY({AGENCIES})",
    "agency_staffing": "EXISTS (SELECT 1 FROM agencies a WHERE a.id = agency_staffing.agency_id)",
    "buildings": (
        f"{UNRESTRICTED} OR region_adcode <@ {REGIONS} OR agency_id = ANY({AGENCIES})"
        " OR id IN (SELECT officemap_agency_buildings())"
    ),
    "floors": (
        f"{UNRESTRICTED} OR EXISTS (SELECT 1 FROM buildings b WHERE b.id = floors.building_id)"
    ),
    "rooms": (
        f"{UNRESTRICTED} OR agency_id = ANY({AGENCIES})"
        f" OR building_id IN (SELECT b.id FROM buildings b WHERE b.region_adcode <@ {REGIONS})"
    ),
    "occupancies": (
        f"{UNRESTRICTED} OR agency_id = ANY({AGENCIES})"
        " OR EXISTS (SELECT 1 FROM rooms r WHERE r.id = occupancies.room_id)"
    ),
}


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(80), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text(), nullable=False, comment="Argon2id"),
        sa.Column("roles", postgresql.ARRAY(sa.String(20)), server_default="{}", nullable=False),
        sa.Column("regions", postgresql.ARRAY(sa.Integer()), server_default="{}", nullable=False),
        sa.Column("agencies", postgresql.ARRAY(sa.Integer()), server_default="{}", nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_table(
        "row_history",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("table_name", sa.String(40), nullable=False),
        sa.Column("row_id", sa.BigInteger(), nullable=False),
        sa.Column("operation", sa.String(1), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=False),
    )
    op.create_index("ix_row_history_row", "row_history", ["table_name", "row_id", "valid_to"])
    op.create_index("ix_row_history_valid_to", "row_history", ["table_name", "valid_to"])

    # rooms get a version (optimistic locking); rows record when the register learnt them
    op.add_column("rooms", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    for table in ("agencies", "buildings", "rooms", "occupancies"):
        op.add_column(
            table,
            sa.Column(
                "created_at",
                sa.DateTime(timezone=True),
                server_default=sa.func.now(),
                nullable=False,
            ),
        )

    # ------------------------------------------------------------ audit: append-only
    op.execute(
        """
        CREATE FUNCTION officemap_audit_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$;
        CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
            FOR EACH ROW EXECUTE FUNCTION officemap_audit_append_only();
        CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
            FOR EACH STATEMENT EXECUTE FUNCTION officemap_audit_append_only();
        """
    )

    # ------------------------------------------------------------ row history
    op.execute(
        """
        CREATE FUNCTION officemap_keep_history() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO row_history (table_name, row_id, operation, valid_to, data)
            VALUES (TG_TABLE_NAME, OLD.id, left(TG_OP, 1), clock_timestamp(), to_jsonb(OLD));
            RETURN NULL;
        END $$;
        """
    )
    for table in HISTORY_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_history AFTER UPDATE ON {table} FOR EACH ROW "
            f"WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION officemap_keep_history()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_history_delete AFTER DELETE ON {table} FOR EACH ROW "
            f"EXECUTE FUNCTION officemap_keep_history()"
        )

    # ------------------------------------------------------------ row-level security
    op.execute(
        """
        CREATE FUNCTION officemap_scope_unrestricted() RETURNS boolean
        LANGUAGE sql STABLE AS
        $$ SELECT coalesce(current_setting('officemap.unrestricted', true), '') = 'on' $$;
        CREATE FUNCTION officemap_scope_regions() RETURNS int4multirange
        LANGUAGE sql STABLE AS
        $$ SELECT coalesce(nullif(current_setting('officemap.regions', true), ''), '{}')::int4multirange $$;
        CREATE FUNCTION officemap_scope_agencies() RETURNS int[]
        LANGUAGE sql STABLE AS
        $$ SELECT coalesce(nullif(current_setting('officemap.agencies', true), ''), '{}')::int[] $$;
        -- buildings housing rooms of the scoped agencies; SECURITY DEFINER reads rooms
        -- without their policy (which refers to buildings: no policy recursion)
        CREATE FUNCTION officemap_agency_buildings() RETURNS SETOF integer
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
        $$ SELECT DISTINCT building_id FROM rooms WHERE agency_id = ANY(officemap_scope_agencies()) $$;
        """
    )
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
            END IF;
        END $$;
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(SCOPED_TABLES)}, row_history "
        f"TO {APP_ROLE}"
    )
    op.execute(f"GRANT SELECT ON regions, users TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT ON audit_events TO {APP_ROLE}")
    op.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
    for table, expr in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_scope ON {table} FOR ALL USING ({expr}) WITH CHECK ({expr})"
        )


def downgrade() -> None:
    for table in POLICIES:
        op.execute(f"DROP POLICY IF EXISTS {table}_scope ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute(
        f"REVOKE ALL ON {', '.join(SCOPED_TABLES)}, row_history, regions, users, audit_events "
        f"FROM {APP_ROLE}"
    )
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}")
    op.execute(
        "DROP FUNCTION officemap_agency_buildings(); DROP FUNCTION officemap_scope_agencies();"
        "DROP FUNCTION officemap_scope_regions(); DROP FUNCTION officemap_scope_unrestricted();"
    )
    for table in HISTORY_TABLES:
        op.execute(f"DROP TRIGGER {table}_history ON {table}")
        op.execute(f"DROP TRIGGER {table}_history_delete ON {table}")
    op.execute("DROP FUNCTION officemap_keep_history()")
    op.execute("DROP TRIGGER audit_events_no_update ON audit_events")
    op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
    op.execute("DROP FUNCTION officemap_audit_append_only()")
    for table in ("agencies", "buildings", "rooms", "occupancies"):
        op.drop_column(table, "created_at")
    op.drop_column("rooms", "version")
    op.drop_table("row_history")
    op.drop_table("users")
