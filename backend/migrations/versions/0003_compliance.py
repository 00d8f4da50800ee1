"""compliance: versioned standards, leases/loans, approved uses, evaluations, findings

Revision ID: 0003_compliance
Revises: 0001_foundation
Create Date: 2026-11-26 04:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_compliance"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

JSONB = postgresql.JSONB(astext_type=sa.Text())


def upgrade() -> None:
    op.create_table(
        "standard_versions",
        sa.Column("version", sa.String(60), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("manifest", JSONB, nullable=False),
        sa.Column(
            "loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("loaded_by", sa.String(80), nullable=True),
    )
    op.create_table(
        "standard_office_allowances",
        sa.Column(
            "version",
            sa.String(60),
            sa.ForeignKey("standard_versions.version", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("agency_level", sa.String(16), primary_key=True),
        sa.Column("rank_code", sa.String(40), primary_key=True),
        sa.Column("max_usable_m2", sa.Numeric(8, 2), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
    )
    op.create_table(
        "standard_settings",
        sa.Column(
            "version",
            sa.String(60),
            sa.ForeignKey("standard_versions.version", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("value", sa.Numeric(14, 4), nullable=True),
        sa.Column("unit", sa.String(20), nullable=True),
        sa.Column("origin", sa.Text(), nullable=True),
    )
    op.create_table(
        "leases",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "room_id", sa.BigInteger(), sa.ForeignKey("rooms.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column(
            "building_id",
            sa.Integer(),
            sa.ForeignKey("buildings.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("agency_id", sa.Integer(), sa.ForeignKey("agencies.id"), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("counterparty", sa.String(200), nullable=True),
        sa.Column("approved", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("approval_ref", sa.String(120), nullable=True, comment="批准文号"),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.CheckConstraint("kind IN ('rent_out', 'lend')", name="ck_leases_kind"),
        sa.CheckConstraint(
            "(room_id IS NOT NULL) <> (building_id IS NOT NULL)", name="ck_leases_object"
        ),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="ck_leases_dates"),
    )
    op.create_index("ix_leases_room_id", "leases", ["room_id"])
    op.create_index("ix_leases_building_id", "leases", ["building_id"])
    op.create_index("ix_leases_agency_id", "leases", ["agency_id"])
    op.create_table(
        "approved_uses",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "room_id", sa.BigInteger(), sa.ForeignKey("rooms.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column(
            "floor_id", sa.Integer(), sa.ForeignKey("floors.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("approval_ref", sa.String(120), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "(room_id IS NOT NULL) <> (floor_id IS NOT NULL)", name="ck_uses_object"
        ),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="ck_uses_dates"),
    )
    op.create_index("ix_approved_uses_room_id", "approved_uses", ["room_id"])
    op.create_index("ix_approved_uses_floor_id", "approved_uses", ["floor_id"])
    op.create_table(
        "compliance_evaluations",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False, comment="full | incremental"),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column(
            "standard_version",
            sa.String(60),
            sa.ForeignKey("standard_versions.version"),
            nullable=False,
        ),
        sa.Column("target", JSONB, nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counts", JSONB, nullable=True),
        sa.Column("not_configured", JSONB, nullable=True),
        sa.Column("actor", sa.String(80), nullable=True),
    )
    op.create_table(
        "compliance_findings",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("rule_code", sa.Text(), nullable=False),
        sa.Column("object_type", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Text(), nullable=False),
        sa.Column("room_id", sa.BigInteger(), nullable=True),
        sa.Column("floor_id", sa.Integer(), nullable=True),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("region_adcode", sa.Integer(), nullable=True),
        sa.Column("measured", sa.Numeric(), nullable=True),
        sa.Column("allowed", sa.Numeric(), nullable=True),
        sa.Column("excess_m2", sa.Numeric(), nullable=True),
        sa.Column("excess_pct", sa.Numeric(), nullable=True),
        sa.Column("standard_version", sa.Text(), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
        sa.Column("details", JSONB, nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("evaluation_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'rectifying', 'closed')", name="ck_findings_status"),
    )
    op.create_index(
        "uq_findings_live",
        "compliance_findings",
        ["rule_code", "object_type", "object_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'closed'"),
    )
    op.create_index("ix_findings_rule_status", "compliance_findings", ["rule_code", "status"])
    op.create_index("ix_findings_region", "compliance_findings", ["region_adcode"])
    op.create_index("ix_findings_agency", "compliance_findings", ["agency_id"])
    op.create_index("ix_findings_building", "compliance_findings", ["building_id"])
    op.create_index("ix_findings_floor", "compliance_findings", ["floor_id"])
    op.create_index("ix_findings_room", "compliance_findings", ["room_id"])


def downgrade() -> None:
    op.drop_table("compliance_findings")
    op.drop_table("compliance_evaluations")
    op.drop_table("approved_uses")
    op.drop_table("leases")
    op.drop_table("standard_settings")
    op.drop_table("standard_office_allowances")
    op.drop_table("standard_versions")
