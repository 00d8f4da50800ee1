"""attack: the second wall follows the residual scope fixes of issue 9

- floors: a floor is visible when its building is seen whole (a scoped region or managing
  agency) or when it holds a room of a scoped agency. Before, every floor of a building seen
  only because it houses one such room was visible (outlines, building areas, plan hashes).
  Row history of floors follows the same rule (the image's building seen whole, or the
  floor visible now).
- audit events about supervision records (inspections, checks, evidence, ledger items,
  问责) and stock-take campaigns are visible with their record (a permissive SELECT policy
  beside 0008's and 0016's; the EXISTS runs under the record table's own policy). Before,
  only unrestricted callers saw them.

Same rules as ``backend/services/scope.py`` (the first wall).

Revision ID: 0021_attack
Revises: 0016_lifecycle
Create Date: 2026-12-01
"""

# ruff: noqa: S608 - SQL here is DDL built from this module's constants, never from input
from __future__ import annotations

from alembic import op

revision = "0021_attack"
down_revision = "0016_lifecycle"
branch_labels = None
# the supervision and stock-take tables whose events become visible
depends_on = ("0011_stocktake", "0013_supervision")

APP_ROLE = "officemap_app"
U = "(SELECT officemap_scope_unrestricted())"
R = "(SELECT officemap_scope_regions())"
A = "(SELECT officemap_scope_agencies())::int[]"

MANAGED = f"(b.region_adcode <@ {R} OR b.agency_id = ANY({A}))"
FLOORS = (
    f"{U} OR EXISTS (SELECT 1 FROM buildings b WHERE b.id = floors.building_id AND {MANAGED})"
    f" OR EXISTS (SELECT 1 FROM rooms r WHERE r.floor_id = floors.id AND r.agency_id = ANY({A}))"
)
FLOORS_BEFORE = f"{U} OR EXISTS (SELECT 1 FROM buildings b WHERE b.id = floors.building_id)"


def _img(key: str, kind: str = "int") -> str:
    return f"(row_history.data ->> '{key}')::{kind}"


def _history(floor_image: str) -> str:
    """0008's row history policy with the floors case given."""
    return (
        f"{U} OR CASE row_history.table_name"
        " WHEN 'buildings' THEN EXISTS (SELECT 1 FROM buildings b WHERE b.id = row_history.row_id)"
        f" OR {_img('region_adcode')} <@ {R} OR {_img('agency_id')} = ANY({A})"
        " WHEN 'floors' THEN EXISTS (SELECT 1 FROM floors f WHERE f.id = row_history.row_id)"
        f" OR {floor_image}"
        " WHEN 'rooms' THEN EXISTS (SELECT 1 FROM rooms r WHERE r.id = row_history.row_id)"
        f" OR {_img('agency_id')} = ANY({A}) OR {_img('region_adcode')} <@ {R}"
        " WHEN 'occupancies' THEN"
        " EXISTS (SELECT 1 FROM occupancies o WHERE o.id = row_history.row_id)"
        f" OR {_img('agency_id')} = ANY({A})"
        f" OR EXISTS (SELECT 1 FROM rooms r WHERE r.id = {_img('room_id', 'bigint')})"
        " WHEN 'agencies' THEN EXISTS (SELECT 1 FROM agencies a WHERE a.id = row_history.row_id)"
        f" OR {_img('region_adcode')} <@ {R} OR row_history.row_id = ANY({A})"
        " ELSE false END"
    )


HISTORY = _history(
    f"EXISTS (SELECT 1 FROM buildings b WHERE b.id = {_img('building_id')} AND {MANAGED})"
)
HISTORY_BEFORE = _history(f"EXISTS (SELECT 1 FROM buildings b WHERE b.id = {_img('building_id')})")

KINDS = {
    "inspection": "inspections",
    "inspection_check": "inspection_checks",
    "evidence": "evidence",
    "rectification": "rectifications",
    "accountability": "accountability_records",
    "campaign": "campaigns",
}


def upgrade() -> None:
    op.execute(f"ALTER POLICY floors_scope ON floors USING ({FLOORS}) WITH CHECK ({FLOORS})")
    op.execute(f"ALTER POLICY row_history_select ON row_history USING ({HISTORY})")
    op.execute(
        "ALTER POLICY row_history_insert ON row_history WITH CHECK"
        f" (valid_to >= transaction_timestamp() AND ({HISTORY}))"
    )
    oid = "(CASE WHEN object_id ~ '^[0-9]{1,15}$' THEN object_id::bigint END)"
    cases = " ".join(
        f"WHEN '{kind}' THEN EXISTS (SELECT 1 FROM {table} x WHERE x.id = {oid})"
        for kind, table in KINDS.items()
    )
    op.execute(
        f"CREATE POLICY audit_events_supervision ON audit_events FOR SELECT TO {APP_ROLE} "
        f"USING (CASE object_type {cases} ELSE false END)"
    )


def downgrade() -> None:
    op.execute("DROP POLICY IF EXISTS audit_events_supervision ON audit_events")
    op.execute(
        "ALTER POLICY row_history_insert ON row_history WITH CHECK"
        f" (valid_to >= transaction_timestamp() AND ({HISTORY_BEFORE}))"
    )
    op.execute(f"ALTER POLICY row_history_select ON row_history USING ({HISTORY_BEFORE})")
    op.execute(
        f"ALTER POLICY floors_scope ON floors USING ({FLOORS_BEFORE}) WITH CHECK ({FLOORS_BEFORE})"
    )
