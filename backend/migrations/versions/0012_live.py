"""live: what-if scenarios and their findings (kept apart from the live findings); leases.version

A scenario evaluates the register under another standards version, a draft of one, or
another idle threshold; its findings go to ``whatif_findings``, never to
``compliance_findings``. Scenario findings carry region and agency like live findings and
get the same row-level security policy.

Revision ID: 0012_live
Revises: 0006_leakproof_overlaps
"""

# ruff: noqa: S608 - SQL here is DDL built from this module's constants, never from input
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012_live"
down_revision = "0006_leakproof_overlaps"
branch_labels = None
depends_on = ("0003_compliance",)  # leases

APP_ROLE = "officemap_app"
UNRESTRICTED = "(SELECT officemap_scope_unrestricted())"
REGIONS = "(SELECT officemap_scope_regions())"
AGENCIES = "(SELECT officemap_scope_agencies())::int[]"
POLICY = f"{UNRESTRICTED} OR agency_id = ANY({AGENCIES}) OR region_adcode <@ {REGIONS}"


def upgrade() -> None:
    # leases are written through the API with optimistic locking like the other objects
    op.add_column("leases", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.create_table(
        "whatif_scenarios",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("base_version", sa.Text(), nullable=False, comment="standards version used"),
        sa.Column("draft", postgresql.JSONB(), comment="allowance/setting overrides, if any"),
        sa.Column("idle_threshold_days", sa.Integer(), comment="override of the threshold"),
        sa.Column("not_configured", postgresql.JSONB()),
        sa.Column("counts", postgresql.JSONB()),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("scope", postgresql.JSONB(), comment="the creator's scope it was run within"),
    )
    op.create_table(
        "whatif_findings",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "scenario_id",
            sa.BigInteger(),
            sa.ForeignKey("whatif_scenarios.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("rule_code", sa.Text(), nullable=False),
        sa.Column("object_type", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Text(), nullable=False),
        sa.Column("room_id", sa.BigInteger()),
        sa.Column("floor_id", sa.Integer()),
        sa.Column("building_id", sa.Integer()),
        sa.Column("agency_id", sa.Integer()),
        sa.Column("region_adcode", sa.Integer()),
        sa.Column("measured", sa.Numeric()),
        sa.Column("allowed", sa.Numeric()),
        sa.Column("excess_m2", sa.Numeric()),
        sa.Column("excess_pct", sa.Numeric()),
        sa.Column("details", postgresql.JSONB()),
    )
    op.create_index(
        "ix_whatif_findings_key",
        "whatif_findings",
        ["scenario_id", "rule_code", "object_type", "object_id"],
        unique=True,
    )
    op.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON whatif_scenarios, whatif_findings TO {APP_ROLE}"
    )
    op.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
    op.execute("ALTER TABLE whatif_findings ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE whatif_findings FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY whatif_findings_scope ON whatif_findings FOR ALL "
        f"USING ({POLICY}) WITH CHECK ({POLICY})"
    )


def downgrade() -> None:
    op.drop_table("whatif_findings")
    op.drop_table("whatif_scenarios")
    op.drop_column("leases", "version")
