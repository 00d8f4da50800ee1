"""supervision: inspections, checks, evidence, rectification ledger, accountability

Scoped tables get row-level security (FORCE) with the scope functions of 0004 and grants
for the application role. ``evidence_files`` (content by sha256) is readable only through
a visible ``evidence`` row.

Revision ID: 0013_supervision
Revises: 0006_leakproof_overlaps
Depends on: 0003_compliance (rectifications point at compliance_findings)
"""

# ruff: noqa: S608 - SQL here is DDL built from this module's constants, never from input
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013_supervision"
down_revision = "0006_leakproof_overlaps"
branch_labels = None
depends_on = ("0003_compliance", "0002_plans")

APP_ROLE = "officemap_app"
UNRESTRICTED = "(SELECT officemap_scope_unrestricted())"
REGIONS = "(SELECT officemap_scope_regions())"
AGENCIES = "(SELECT officemap_scope_agencies())::int[]"


def _scoped(region: str = "region_adcode", agency: str = "agency_id") -> str:
    return f"{UNRESTRICTED} OR {region} <@ {REGIONS} OR {agency} = ANY({AGENCIES})"


POLICIES = {
    "inspections": (
        f"{UNRESTRICTED} OR region_adcode <@ {REGIONS} OR scope_agencies && {AGENCIES}"
    ),
    "inspection_buildings": _scoped(),
    "inspection_checks": _scoped(),
    "evidence": _scoped(),
    "rectifications": (f"{_scoped()} OR responsible_agency_id = ANY({AGENCIES})"),
    "accountability_records": _scoped(),
}
TABLES = (*POLICIES, "evidence_files")


def _now() -> sa.Column[sa.DateTime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "inspections",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("region_adcode", sa.Integer(), nullable=False),
        sa.Column(
            "scope_regions", postgresql.ARRAY(sa.Integer()), server_default="{}", nullable=False
        ),
        sa.Column(
            "scope_agencies", postgresql.ARRAY(sa.Integer()), server_default="{}", nullable=False
        ),
        sa.Column(
            "scope_buildings", postgresql.ARRAY(sa.Integer()), server_default="{}", nullable=False
        ),
        sa.Column("team", postgresql.ARRAY(sa.String(80)), server_default="{}", nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("sampling", postgresql.JSONB()),
        sa.Column("status", sa.String(16), server_default="planned", nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        _now(),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "kind IN ('special', 'annual', 'spot', 'follow_up')", name="ck_inspections_kind"
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'in_progress', 'completed')", name="ck_inspections_status"
        ),
        sa.CheckConstraint("ends_on >= starts_on", name="ck_inspections_dates"),
    )
    op.create_index("ix_inspections_region_adcode", "inspections", ["region_adcode"])
    op.create_table(
        "inspection_buildings",
        sa.Column(
            "inspection_id",
            sa.BigInteger(),
            sa.ForeignKey("inspections.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("building_id", sa.Integer(), sa.ForeignKey("buildings.id"), primary_key=True),
        sa.Column("region_adcode", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer()),
        sa.Column("open_findings", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Double(), nullable=False),
        sa.Column("draw_key", sa.Double()),
        sa.Column("rank", sa.Integer(), nullable=False),
    )
    op.create_table(
        "inspection_checks",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "inspection_id",
            sa.BigInteger(),
            sa.ForeignKey("inspections.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("building_id", sa.Integer(), sa.ForeignKey("buildings.id"), nullable=False),
        sa.Column("floor_id", sa.Integer()),
        sa.Column("room_id", sa.BigInteger()),
        sa.Column("region_adcode", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer()),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("inspector", sa.String(80), nullable=False),
        sa.Column("measured_area_m2", sa.Numeric(14, 2)),
        sa.Column("register_area_m2", sa.Numeric(14, 2)),
        sa.Column("actual_use", sa.String(16)),
        sa.Column("registered_category", sa.String(16)),
        sa.Column("occupant_found", sa.String(200)),
        sa.Column("occupants_registered", postgresql.ARRAY(sa.String(80))),
        sa.Column("lease_found", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("lease_note", sa.String(500)),
        sa.Column("notes", sa.String(2000)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("finding_id", sa.BigInteger()),
        _now(),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "outcome IN ('no_issue', 'confirmed', 'manual_finding')", name="ck_checks_outcome"
        ),
    )
    op.create_index("ix_checks_inspection", "inspection_checks", ["inspection_id"])
    op.create_index("ix_checks_building", "inspection_checks", ["building_id"])
    op.create_index("ix_checks_finding", "inspection_checks", ["finding_id"])
    op.create_table(
        "evidence_files",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("media_type", sa.String(40), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column(
            "stored_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_table(
        "rectifications",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "finding_id",
            sa.BigInteger(),
            sa.ForeignKey("compliance_findings.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("inspection_id", sa.BigInteger(), sa.ForeignKey("inspections.id")),
        sa.Column("check_id", sa.BigInteger(), sa.ForeignKey("inspection_checks.id")),
        sa.Column("problem", sa.String(1000), nullable=False),
        sa.Column(
            "responsible_agency_id", sa.Integer(), sa.ForeignKey("agencies.id"), nullable=False
        ),
        sa.Column("responsible_person", sa.String(80), nullable=False),
        sa.Column("responsible_post", sa.String(120)),
        sa.Column("measures", sa.String(2000)),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("status", sa.String(24), server_default="pending", nullable=False),
        sa.Column("after_state", sa.String(1000)),
        sa.Column("not_rectified_reason", sa.String(1000)),
        sa.Column("verified_by", sa.String(80)),
        sa.Column("verified_at", sa.DateTime(timezone=True)),
        sa.Column("verification_note", sa.String(1000)),
        sa.Column("closure_proposed_at", sa.DateTime(timezone=True)),
        sa.Column("closure_proposed_evaluation_id", sa.BigInteger()),
        sa.Column("overdue_flagged_on", sa.Date()),
        sa.Column("region_adcode", sa.Integer()),
        sa.Column("agency_id", sa.Integer()),
        sa.Column("building_id", sa.Integer()),
        sa.Column("created_by", sa.String(80), nullable=False),
        _now(),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'in_progress', 'awaiting_verification', 'closed')",
            name="ck_rectifications_status",
        ),
    )
    op.create_index("uq_rectifications_finding", "rectifications", ["finding_id"], unique=True)
    op.create_index("ix_rectifications_agency", "rectifications", ["responsible_agency_id"])
    op.create_index("ix_rectifications_region", "rectifications", ["region_adcode"])
    op.create_index("ix_rectifications_deadline", "rectifications", ["deadline"])
    op.create_table(
        "evidence",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("sha256", sa.String(64), sa.ForeignKey("evidence_files.sha256"), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("media_type", sa.String(40), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column(
            "check_id", sa.BigInteger(), sa.ForeignKey("inspection_checks.id", ondelete="CASCADE")
        ),
        sa.Column(
            "rectification_id",
            sa.BigInteger(),
            sa.ForeignKey("rectifications.id", ondelete="CASCADE"),
        ),
        sa.Column("region_adcode", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer()),
        sa.Column("exif", postgresql.JSONB()),
        sa.Column("taken_at", sa.DateTime(timezone=True)),
        sa.Column("lon", sa.Double()),
        sa.Column("lat", sa.Double()),
        sa.Column("note", sa.String(500)),
        sa.Column("uploaded_by", sa.String(80), nullable=False),
        sa.Column(
            "uploaded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "phase IN ('check', 'before', 'after', 'verification')", name="ck_evidence_phase"
        ),
        sa.CheckConstraint(
            "(check_id IS NOT NULL) <> (rectification_id IS NOT NULL)", name="ck_evidence_subject"
        ),
    )
    op.create_index("ix_evidence_check", "evidence", ["check_id"])
    op.create_index("ix_evidence_rectification", "evidence", ["rectification_id"])
    op.create_index("ix_evidence_sha256", "evidence", ["sha256"])
    op.create_table(
        "accountability_records",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("person_name", sa.String(80), nullable=False),
        sa.Column("person_post", sa.String(120)),
        sa.Column("agency_id", sa.Integer(), sa.ForeignKey("agencies.id"), nullable=False),
        sa.Column("region_adcode", sa.Integer(), nullable=False),
        sa.Column("finding_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("measure", sa.String(20), nullable=False),
        sa.Column("measure_detail", sa.String(1000)),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("issuing_body", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        _now(),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "measure IN ('talk', 'criticism', 'admonishment', 'organisational', 'disciplinary', 'other')",
            name="ck_accountability_measure",
        ),
    )

    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(TABLES)} TO {APP_ROLE}")
    op.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
    for table, expr in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_scope ON {table} FOR ALL USING ({expr}) WITH CHECK ({expr})"
        )
    # file contents: readable through a visible evidence row; any caller may add one
    op.execute("ALTER TABLE evidence_files ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE evidence_files FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY evidence_files_read ON evidence_files FOR SELECT USING "
        "(EXISTS (SELECT 1 FROM evidence e WHERE e.sha256 = evidence_files.sha256))"
    )
    op.execute("CREATE POLICY evidence_files_add ON evidence_files FOR INSERT WITH CHECK (true)")


def downgrade() -> None:
    op.execute("DROP POLICY IF EXISTS evidence_files_read ON evidence_files")
    for table in (
        "evidence",
        "accountability_records",
        "rectifications",
        "evidence_files",
        "inspection_checks",
        "inspection_buildings",
        "inspections",
    ):
        op.drop_table(table)
