"""Reallocation, part two: rooms a request gives back, swap re-housing; the asset lifecycle.

Revision ID: 0016_lifecycle
"""

# ruff: noqa: S608 - SQL here is DDL built from this module's constants, never from input
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0016_lifecycle"
down_revision = "0015_allocation"
branch_labels = None
# the app role, FORCE RLS and the audit policies (0008, which itself follows 0003: leases)
depends_on = ("0008_app_role", "0012_live")  # 0012 adds leases.version

APP_ROLE = "officemap_app"
SCOPE = (
    "officemap_scope_unrestricted() OR region_adcode <@ officemap_scope_regions() "
    "OR agency_id = ANY(officemap_scope_agencies())"
)


def _common() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "building_id",
            sa.Integer,
            sa.ForeignKey("buildings.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("region_adcode", sa.Integer, nullable=False, index=True),
        sa.Column("agency_id", sa.Integer, sa.ForeignKey("agencies.id"), index=True),
    ]


def _stamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("note", sa.Text),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    ]


def upgrade() -> None:
    op.add_column(
        "space_requests",
        sa.Column("releases", JSONB, nullable=False, server_default="[]"),
    )
    op.add_column(
        "allocation_plans",
        sa.Column("releases", JSONB, nullable=False, server_default="[]"),
    )
    op.add_column(
        "allocation_plans",
        sa.Column("rehousing", JSONB, nullable=False, server_default="[]"),
    )
    op.add_column("asset_pool", sa.Column("note", sa.Text))
    op.add_column("asset_pool", sa.Column("released_by", sa.String(80)))

    # 出租出借: the leases table of 0003 gains rent, area, the approval and a version
    for column in (
        sa.Column("rent_yuan_per_year", sa.Numeric(14, 2)),
        sa.Column("area_m2", sa.Numeric(14, 2)),
        sa.Column("approval_document", sa.Text),
        sa.Column("approved_by", sa.String(80)),
        sa.Column("approved_on", sa.Date),
        sa.Column("ended_on", sa.Date),
        sa.Column("note", sa.Text),
        sa.Column("created_by", sa.String(80)),
    ):
        op.add_column("leases", column)

    op.create_table(  # 统一维修
        "maintenance_requests",
        *_common(),
        sa.Column("floor_id", sa.Integer, sa.ForeignKey("floors.id", ondelete="SET NULL")),
        sa.Column("room_id", sa.BigInteger, sa.ForeignKey("rooms.id", ondelete="SET NULL")),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("work", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="requested"),
        sa.Column("cost_estimate_yuan", sa.Numeric(14, 2)),
        sa.Column("contractor", sa.String(200)),
        sa.Column("approval_ref", sa.String(120)),
        sa.Column("approved_by", sa.String(80)),
        sa.Column("approved_on", sa.Date),
        sa.Column("planned_start", sa.Date),
        sa.Column("planned_end", sa.Date),
        sa.Column("cost_actual_yuan", sa.Numeric(14, 2)),
        sa.Column("completed_on", sa.Date),
        sa.Column("evidence", sa.Text),
        *_stamps(),
        sa.CheckConstraint(
            "status IN ('requested', 'approved', 'rejected', 'completed')",
            name="ck_maintenance_status",
        ),
        sa.CheckConstraint(
            "planned_end IS NULL OR planned_start IS NULL OR planned_end >= planned_start",
            name="ck_maintenance_dates",
        ),
    )
    op.create_table(  # 统一处置
        "disposals",
        *_common(),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="proposed"),
        sa.Column("counterpart", sa.String(200)),
        sa.Column("price_yuan", sa.Numeric(16, 2)),
        sa.Column("new_use", sa.String(200)),
        sa.Column("approval_ref", sa.String(120)),
        sa.Column("approved_by", sa.String(80)),
        sa.Column("approved_on", sa.Date),
        sa.Column("completed_on", sa.Date),
        sa.Column("building_status_before", sa.String(20)),
        *_stamps(),
        sa.CheckConstraint(
            "kind IN ('transfer', 'sale', 'demolition', 'change_of_use')",
            name="ck_disposals_kind",
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'completed', 'cancelled')",
            name="ck_disposals_status",
        ),
    )
    op.create_table(  # 统一权属
        "titles",
        *_common(),
        sa.Column("certificate_no", sa.String(64), nullable=False),
        sa.Column("certified_area_m2", sa.Numeric(14, 2), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("issued_on", sa.Date),
        sa.Column("document_ref", sa.String(200)),
        sa.Column("status", sa.String(16), nullable=False, server_default="current"),
        sa.Column("superseded_by", sa.BigInteger, sa.ForeignKey("titles.id")),
        *_stamps(),
        sa.CheckConstraint("status IN ('current', 'superseded')", name="ck_titles_status"),
        sa.CheckConstraint("certified_area_m2 > 0", name="ck_titles_area"),
    )
    op.create_index("uq_titles_certificate_no", "titles", ["certificate_no"], unique=True)
    op.create_index(
        "uq_titles_current_building",
        "titles",
        ["building_id"],
        unique=True,
        postgresql_where=sa.text("status = 'current'"),
    )
    for table in ("maintenance_requests", "disposals", "titles"):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_scope ON {table} FOR ALL USING ({SCOPE}) WITH CHECK ({SCOPE})"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    op.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
    # audit events about these records are visible with the record (a second permissive
    # SELECT policy beside 0008's; the EXISTS runs under the record table's own policy)
    oid = "(CASE WHEN object_id ~ '^[0-9]{1,15}$' THEN object_id::bigint END)"
    kinds = {
        "space_request": "space_requests",
        "allocation_plan": "allocation_plans",
        "maintenance": "maintenance_requests",
        "disposal": "disposals",
        "title": "titles",
    }
    cases = " ".join(
        f"WHEN '{kind}' THEN EXISTS (SELECT 1 FROM {table} x WHERE x.id = {oid})"
        for kind, table in kinds.items()
    )
    op.execute(
        f"CREATE POLICY audit_events_reallocation ON audit_events FOR SELECT TO {APP_ROLE} "
        f"USING (CASE object_type {cases} ELSE false END)"
    )


def downgrade() -> None:
    op.execute("DROP POLICY IF EXISTS audit_events_reallocation ON audit_events")
    for table in ("titles", "disposals", "maintenance_requests"):
        op.drop_table(table)
    for name in (
        "created_by",
        "note",
        "ended_on",
        "approved_on",
        "approved_by",
        "approval_document",
        "area_m2",
        "rent_yuan_per_year",
    ):
        op.drop_column("leases", name)
    op.drop_column("asset_pool", "released_by")
    op.drop_column("asset_pool", "note")
    op.drop_column("allocation_plans", "rehousing")
    op.drop_column("allocation_plans", "releases")
    op.drop_column("space_requests", "releases")
