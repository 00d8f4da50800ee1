"""Reallocation, part two: rooms a request gives back, swap re-housing; the asset lifecycle.

Revision ID: 0016_lifecycle
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0016_lifecycle"
down_revision = "0015_allocation"
branch_labels = None
depends_on = None

APP_ROLE = "officemap_app"


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


def downgrade() -> None:
    op.drop_column("asset_pool", "released_by")
    op.drop_column("asset_pool", "note")
    op.drop_column("allocation_plans", "rehousing")
    op.drop_column("allocation_plans", "releases")
    op.drop_column("space_requests", "releases")
