"""Reallocation: space requests, allocation plans, the public asset pool (公物仓).

Revision ID: 0015_allocation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0015_allocation"
down_revision = "0006_leakproof_overlaps"
branch_labels = None
depends_on = None

APP_ROLE = "officemap_app"
SCOPE = (
    "officemap_scope_unrestricted() OR region_adcode <@ officemap_scope_regions() "
    "OR {agency} = ANY(officemap_scope_agencies())"
)


def upgrade() -> None:
    op.create_table(
        "space_requests",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "agency_id", sa.Integer, sa.ForeignKey("agencies.id"), nullable=False, index=True
        ),
        sa.Column("region_adcode", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="submitted"),
        sa.Column("offices", JSONB, nullable=False),
        sa.Column("rooms", JSONB, nullable=False),
        sa.Column("preferred_region_adcode", sa.Integer),
        sa.Column("near_building_id", sa.Integer, sa.ForeignKey("buildings.id")),
        sa.Column("needed_by", sa.Date),
        sa.Column("reason", sa.Text),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.CheckConstraint(
            "status IN ('submitted', 'planned', 'executed', 'cancelled')",
            name="ck_space_requests_status",
        ),
    )
    op.create_table(
        "allocation_plans",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "request_id",
            sa.BigInteger,
            sa.ForeignKey("space_requests.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "agency_id", sa.Integer, sa.ForeignKey("agencies.id"), nullable=False, index=True
        ),
        sa.Column("region_adcode", sa.Integer, nullable=False),
        sa.Column("route", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="approved"),
        sa.Column("assignments", JSONB, nullable=False),
        sa.Column("area_m2", sa.Numeric(14, 2), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("approved_by", sa.String(80), nullable=False),
        sa.Column(
            "approved_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("executed_by", sa.String(80)),
        sa.Column("executed_at", sa.DateTime(timezone=True)),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.CheckConstraint(
            "route IN ('transfer', 'swap', 'rent', 'build')", name="ck_allocation_plans_route"
        ),
        sa.CheckConstraint(
            "status IN ('approved', 'executed', 'cancelled')", name="ck_allocation_plans_status"
        ),
    )
    op.create_table(
        "asset_pool",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "room_id",
            sa.BigInteger,
            sa.ForeignKey("rooms.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("region_adcode", sa.Integer, nullable=False),
        sa.Column("released_from_agency_id", sa.Integer, sa.ForeignKey("agencies.id")),
        sa.Column("released_on", sa.Date, nullable=False),
        sa.Column("taken_on", sa.Date),
        sa.Column("plan_id", sa.BigInteger, sa.ForeignKey("allocation_plans.id")),
    )
    policies = {
        "space_requests": SCOPE.format(agency="agency_id"),
        "allocation_plans": SCOPE.format(agency="agency_id"),
        "asset_pool": SCOPE.format(agency="released_from_agency_id"),
    }
    for table, expr in policies.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_scope ON {table} FOR ALL USING ({expr}) WITH CHECK ({expr})"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    op.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")


def downgrade() -> None:
    for table in ("asset_pool", "allocation_plans", "space_requests"):
        op.drop_table(table)
