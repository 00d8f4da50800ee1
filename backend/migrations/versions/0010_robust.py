"""Plan imports: the request hash is no longer unique (going back to an earlier plan)

Uploading plan A, then B, then A again must make A the current version again. Until now
the content hash of the request was unique, so the third upload was answered as a replay
of the first. A retry is now recognised by its Idempotency-Key, or, without one, only
when the floor's latest import came from the very same request; the hash stays indexed
for that lookup.

Revision ID: 0010_robust
Revises: 0006_leakproof_overlaps
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0010_robust"
down_revision = "0006_leakproof_overlaps"
branch_labels = None
depends_on = ("0002_plans",)  # the plan_imports table lives on that branch


def upgrade() -> None:
    op.drop_index("uq_plan_imports_request", table_name="plan_imports")
    op.create_index("ix_plan_imports_request", "plan_imports", ["request_sha256"])
    op.create_index("ix_plan_imports_floor_latest", "plan_imports", ["building_id", "level", "id"])


def downgrade() -> None:
    op.drop_index("ix_plan_imports_floor_latest", table_name="plan_imports")
    op.drop_index("ix_plan_imports_request", table_name="plan_imports")
    op.create_index("uq_plan_imports_request", "plan_imports", ["request_sha256"], unique=True)
