"""plans: uploaded originals by sha256 and the imports that made floor versions

Revision ID: 0002_plans
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_plans"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan_files",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=80), nullable=False),
        sa.Column(
            "uploaded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "plan_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("floor_id", sa.Integer(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "request_sha256",
            sa.String(length=64),
            nullable=False,
            comment="sha256 of file + building + level + crs, mapping, georef, repair",
        ),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["building_id"], ["buildings.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["floor_id"], ["floors.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["file_sha256"], ["plan_files.sha256"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_plan_imports_building_id", "plan_imports", ["building_id"])
    op.create_index("uq_plan_imports_request", "plan_imports", ["request_sha256"], unique=True)
    op.create_index(
        "uq_plan_imports_idempotency_key",
        "plan_imports",
        ["idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    # floor versions of one (building, level) are numbered uniquely
    op.create_index(
        "uq_floors_building_level_version",
        "floors",
        ["building_id", "level", "version"],
        unique=True,
    )
    # the application role (created here too if the access migration has not run yet)
    op.execute(
        """
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'officemap_app') THEN
                CREATE ROLE officemap_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
            END IF;
        END $$;
        """
    )
    op.execute("GRANT SELECT, INSERT ON plan_files, plan_imports TO officemap_app")
    op.execute("GRANT USAGE ON SEQUENCE plan_imports_id_seq TO officemap_app")


def downgrade() -> None:
    op.execute("REVOKE ALL ON plan_files, plan_imports FROM officemap_app")
    op.drop_index("uq_floors_building_level_version", table_name="floors")
    op.drop_index("uq_plan_imports_idempotency_key", table_name="plan_imports")
    op.drop_index("uq_plan_imports_request", table_name="plan_imports")
    op.drop_index("ix_plan_imports_building_id", table_name="plan_imports")
    op.drop_table("plan_imports")
    op.drop_table("plan_files")
