"""app role: the second wall is live — FORCE row-level security on every table of scoped data

- ``officemap_app`` (0004) is the group every request runs as; the app signs in with a
  LOGIN role that is a member of it (the embedded cluster creates ``officemap_web``; see
  ``backend/db/roles.py``). It is neither owner, superuser nor BYPASSRLS.
- FORCE ROW LEVEL SECURITY on every table of scoped data, with policies on the new ones:
  compliance findings, leases, approved uses, evaluations, plan imports and files, audit
  events, row history and users (a user row is visible to itself — ``officemap.user``, set
  by the app from a verified token or the name being signed in — and to unrestricted scopes).
- Policies of scoped data apply to ``officemap_app``; the migrating (owning) role gets one
  policy per table that lets it see everything only when it declares an unrestricted scope
  (``officemap.unrestricted = on``, which the maintenance paths set). A superuser owner
  bypasses row-level security anyway.
- ``audit_events`` and ``row_history``: SELECT and INSERT only for the app (no UPDATE,
  DELETE or TRUNCATE; the append-only triggers stay). History rows can only be written with
  ``valid_to`` in the present (no back-dated images) and about objects within scope.
- The audit chain gets a ``mac`` column: HMAC-SHA256 with a key kept outside the database
  (``backend/services/audit.py``). Existing events keep their plain hashes; the first keyed
  event's MAC covers its ``prev_hash`` and so, through the plain chain, every event before it.
- The scope functions of 0004 become PL/pgSQL (same results): a LANGUAGE sql function is
  inlined, i.e. its body parsed and analysed again, each time a query under a policy is
  planned; PL/pgSQL keeps the compiled body per session. B7: planning a bbox query on rooms
  under the policy took +55 µs over the owner's with the SQL functions, +28 µs with these.
- ``officemap_audit_head()`` (SECURITY DEFINER): the newest event's id, hash and MAC, which the
  app needs to append (its own SELECT sees only events within the caller's scope).

Revision ID: 0008_app_role
Revises: 0006_leakproof_overlaps
Create Date: 2026-12-01
"""

# ruff: noqa: S608 - SQL here is DDL built from this module's constants, never from input
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_app_role"
down_revision = "0006_leakproof_overlaps"
branch_labels = None
# the plan and compliance tables get their policies here
depends_on = ("0002_plans", "0003_compliance")

APP_ROLE = "officemap_app"
U = "(SELECT officemap_scope_unrestricted())"
R = "(SELECT officemap_scope_regions())"
A = "(SELECT officemap_scope_agencies())::int[]"


def _int(expr: str, kind: str = "int") -> str:
    """``expr`` (text) as an integer, NULL when it is not one (never an error in a policy)."""
    return f"(CASE WHEN {expr} ~ '^[0-9]{{1,15}}$' THEN ({expr})::{kind} END)"


OID = _int("audit_events.object_id", "bigint")
AUDIT_SELECT = (
    f"{U} OR CASE audit_events.object_type"
    f" WHEN 'building' THEN EXISTS (SELECT 1 FROM buildings b WHERE b.id = {OID})"
    f" WHEN 'floor' THEN EXISTS (SELECT 1 FROM floors f WHERE f.id = {OID})"
    f" WHEN 'room' THEN EXISTS (SELECT 1 FROM rooms r WHERE r.id = {OID})"
    f" WHEN 'agency' THEN EXISTS (SELECT 1 FROM agencies a WHERE a.id = {OID})"
    f" WHEN 'occupancy' THEN EXISTS (SELECT 1 FROM occupancies o WHERE o.id = {OID})"
    f" WHEN 'compliance_finding' THEN"
    f" EXISTS (SELECT 1 FROM compliance_findings c WHERE c.id = {OID})"
    f" WHEN 'lease' THEN EXISTS (SELECT 1 FROM leases l WHERE l.id = {OID})"
    " ELSE false END"
)


def _img(key: str, kind: str = "int") -> str:
    return f"(row_history.data ->> '{key}')::{kind}"


HISTORY_VISIBLE = (
    f"{U} OR CASE row_history.table_name"
    " WHEN 'buildings' THEN EXISTS (SELECT 1 FROM buildings b WHERE b.id = row_history.row_id)"
    f" OR {_img('region_adcode')} <@ {R} OR {_img('agency_id')} = ANY({A})"
    " WHEN 'floors' THEN EXISTS (SELECT 1 FROM floors f WHERE f.id = row_history.row_id)"
    f" OR EXISTS (SELECT 1 FROM buildings b WHERE b.id = {_img('building_id')})"
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

# table → (USING for every command, or per command: {command: (USING, WITH CHECK)})
NEW_POLICIES: dict[str, dict[str, tuple[str | None, str | None]]] = {
    "compliance_findings": {
        "ALL": (
            f"{U} OR region_adcode <@ {R} OR agency_id = ANY({A})",
            f"{U} OR region_adcode <@ {R} OR agency_id = ANY({A})",
        )
    },
    "leases": {
        "ALL": (
            f"{U} OR agency_id = ANY({A})"
            " OR EXISTS (SELECT 1 FROM rooms r WHERE r.id = leases.room_id)"
            " OR EXISTS (SELECT 1 FROM buildings b WHERE b.id = leases.building_id)",
        )
        * 2
    },
    "approved_uses": {
        "ALL": (
            f"{U} OR EXISTS (SELECT 1 FROM rooms r WHERE r.id = approved_uses.room_id)"
            " OR EXISTS (SELECT 1 FROM floors f WHERE f.id = approved_uses.floor_id)",
        )
        * 2
    },
    # runs over the whole register: only an unrestricted scope starts or reads one
    "compliance_evaluations": {"ALL": (U, U)},
    "plan_imports": {
        "ALL": (f"{U} OR EXISTS (SELECT 1 FROM buildings b WHERE b.id = plan_imports.building_id)",)
        * 2
    },
    # originals by content hash: readable through an import the caller may see, and by
    # their uploader (INSERT … ON CONFLICT checks the new row against the SELECT policy too);
    # the import row naming the file is written in the same transaction
    "plan_files": {
        "SELECT": (
            f"{U} OR EXISTS (SELECT 1 FROM plan_imports i"
            " WHERE i.file_sha256 = plan_files.sha256)"
            " OR plan_files.uploaded_by = current_setting('officemap.user', true)",
            None,
        ),
        "INSERT": (None, "true"),
    },
    "users": {
        "ALL": (
            f"{U} OR username = current_setting('officemap.user', true)",
            f"{U} OR username = current_setting('officemap.user', true)",
        )
    },
    "audit_events": {
        "SELECT": (AUDIT_SELECT, None),
        "INSERT": (None, "true"),
    },
    "row_history": {
        "SELECT": (HISTORY_VISIBLE, None),
        "INSERT": (None, f"valid_to >= transaction_timestamp() AND ({HISTORY_VISIBLE})"),
    },
}
APPEND_ONLY = ("audit_events", "row_history")
# the hot policies of 0004/0005 with the region test first (same rows): a row of a region
# scope is decided by its first test, without the per-row ANY over the agency array
# (B7: a bbox query of ~180 rooms spent +37 µs executing under the policy, +18 µs so)
REORDERED = {
    "rooms": (
        f"region_adcode <@ {R} OR {U} OR agency_id = ANY({A})",
        f"{U} OR agency_id = ANY({A}) OR region_adcode <@ {R}",
    ),
    "buildings": (
        f"region_adcode <@ {R} OR {U} OR agency_id = ANY({A})"
        " OR id IN (SELECT officemap_agency_buildings())",
        f"{U} OR region_adcode <@ {R} OR agency_id = ANY({A})"
        " OR id IN (SELECT officemap_agency_buildings())",
    ),
}
OLD_POLICY_TABLES = ("agencies", "agency_staffing", "buildings", "floors", "rooms", "occupancies")
FORCED = (*OLD_POLICY_TABLES, *NEW_POLICIES)

GRANTS = {
    "compliance_findings": "SELECT, INSERT, UPDATE, DELETE",
    "leases": "SELECT, INSERT, UPDATE, DELETE",
    "approved_uses": "SELECT, INSERT, UPDATE, DELETE",
    "compliance_evaluations": "SELECT, INSERT, UPDATE",
    "plan_imports": "SELECT, INSERT",
    "plan_files": "SELECT, INSERT",
    "users": "SELECT",
    "audit_events": "SELECT, INSERT",
    "row_history": "SELECT, INSERT",
    "standard_versions": "SELECT",
    "standard_office_allowances": "SELECT",
    "standard_settings": "SELECT",
    "regions": "SELECT",
}


SCOPE_FUNCTIONS = {
    "officemap_scope_unrestricted": (
        "boolean",
        "coalesce(current_setting('officemap.unrestricted', true), '') = 'on'",
    ),
    "officemap_scope_regions": (
        "int4multirange",
        "coalesce(nullif(current_setting('officemap.regions', true), ''), '{}')::int4multirange",
    ),
    "officemap_scope_agencies": (
        "int[]",
        "coalesce(nullif(current_setting('officemap.agencies', true), ''), '{}')::int[]",
    ),
}


def _scope_functions(language: str) -> None:
    for name, (returns, expr) in SCOPE_FUNCTIONS.items():
        body = f"BEGIN RETURN {expr}; END" if language == "plpgsql" else f"SELECT {expr}"
        op.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS {returns}"
            f" LANGUAGE {language} STABLE AS $$ {body} $$"
        )


def upgrade() -> None:
    _scope_functions("plpgsql")
    op.add_column(
        "audit_events",
        sa.Column(
            "mac",
            sa.String(64),
            nullable=True,
            comment="HMAC-SHA256 chain with a key kept outside the database (NULL: before 0008)",
        ),
    )
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
            END IF;
        END $$;
        ALTER ROLE {APP_ROLE} NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        """
    )
    # grants only add (sibling migrations may grant more, e.g. column UPDATEs on users);
    # audit and history lose every privilege but SELECT and INSERT (0004 granted more)
    for table, privileges in GRANTS.items():
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
    for table in APPEND_ONLY:
        op.execute(
            f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {table} FROM {APP_ROLE}"
        )
    op.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")

    # scope policies of 0004/0005 apply to the app; the owner gets its own (below)
    for table in OLD_POLICY_TABLES:
        op.execute(f"ALTER POLICY {table}_scope ON {table} TO {APP_ROLE}")
    for table, (expr, _old) in REORDERED.items():
        op.execute(f"ALTER POLICY {table}_scope ON {table} USING ({expr}) WITH CHECK ({expr})")
    for table, commands in NEW_POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        for command, (using, check) in commands.items():
            name = f"{table}_scope" if command == "ALL" else f"{table}_{command.lower()}"
            sql = f"CREATE POLICY {name} ON {table} FOR {command} TO {APP_ROLE}"
            if using is not None:
                sql += f" USING ({using})"
            if check is not None:
                sql += f" WITH CHECK ({check})"
            op.execute(sql)
    for table in FORCED:
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        # the migrating role (owner) sees everything when it says so, nothing otherwise
        op.execute(
            f"""DO $$ BEGIN EXECUTE format(
                'CREATE POLICY {table}_maintenance ON {table} FOR ALL TO %I'
                ' USING ({U}) WITH CHECK ({U})', current_user);
            END $$"""
        )

    # SECURITY DEFINER helpers run as the owner: they declare the unrestricted scope they need
    op.execute("ALTER FUNCTION officemap_agency_buildings() SET officemap.unrestricted = 'on'")
    op.execute(
        """
        CREATE FUNCTION officemap_audit_head(OUT id bigint, OUT hash text, OUT mac text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
        SET officemap.unrestricted = 'on' AS
        $$ SELECT id, hash, mac FROM audit_events ORDER BY id DESC LIMIT 1 $$;
        """
    )
    op.execute("REVOKE ALL ON FUNCTION officemap_audit_head() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION officemap_audit_head() TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP FUNCTION officemap_audit_head()")
    op.execute("ALTER FUNCTION officemap_agency_buildings() RESET officemap.unrestricted")
    for table in FORCED:
        op.execute(f"DROP POLICY IF EXISTS {table}_maintenance ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    for table, commands in NEW_POLICIES.items():
        for command in commands:
            name = f"{table}_scope" if command == "ALL" else f"{table}_{command.lower()}"
            op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    for table in OLD_POLICY_TABLES:
        op.execute(f"ALTER POLICY {table}_scope ON {table} TO PUBLIC")
    for table, (_new, old) in REORDERED.items():
        op.execute(f"ALTER POLICY {table}_scope ON {table} USING ({old}) WITH CHECK ({old})")
    for table in (
        "compliance_findings",
        "leases",
        "approved_uses",
        "compliance_evaluations",
        "standard_versions",
        "standard_office_allowances",
        "standard_settings",
    ):
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON row_history TO {APP_ROLE}")
    op.drop_column("audit_events", "mac")
    _scope_functions("sql")
