"""The one definition of "active on day D" (``officemap_active_on``)

Occupancies, leases and approved uses run over the half-open interval
``[start_date, end_date)``: ``end_date`` is the day the room was vacated, so a record is
active on day D when ``start_date <= D`` and ``end_date`` is empty or after D. The
function is ``LANGUAGE sql IMMUTABLE`` with a single expression, so PostgreSQL inlines it
into the calling query (plans and index use are the same as with the expression written
out). ``backend.timekeeping`` documents the rule and builds calls to it; the compliance
rules (``backend/sql/compliance.sql``) call it by name.

Revision ID: 0007_scope
Revises: 0006_leakproof_overlaps
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0007_scope"
down_revision = "0006_leakproof_overlaps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION officemap_active_on(start_date date, end_date date, day date)
        RETURNS boolean
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT start_date <= day AND (end_date IS NULL OR end_date > day) $$
        """
    )
    op.execute(
        "COMMENT ON FUNCTION officemap_active_on(date, date, date) IS "
        "'Active on day: start_date <= day < end_date (end_date = day vacated; NULL = running)'"
    )
    op.execute("GRANT EXECUTE ON FUNCTION officemap_active_on(date, date, date) TO PUBLIC")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS officemap_active_on(date, date, date)")
