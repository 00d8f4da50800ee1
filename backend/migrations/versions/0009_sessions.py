"""sessions: token revocation, login throttling in PostgreSQL, findings' version

- ``users.token_generation``: every token carries the generation it was issued under; a
  password change (or an administrator's ``users revoke --sessions``) bumps it, which
  revokes every token issued before.
- ``revoked_tokens``: the ids (``jti``) of tokens signed out before they expire; rows past
  their expiry are purged.
- ``login_throttle``: failed sign-ins per client and per (user, client), with the time
  until which the key is refused (a growing delay); shared by every worker, kept across
  restarts.
- ``compliance_findings.version``: the finding's ETag; a trigger bumps it whenever the
  status, the figures or the details change (an inspector's decision or a re-evaluation),
  so a status change based on what someone saw earlier answers 412.

None of these tables holds scoped data (they belong to users, not to an agency, building
or region): no row-level security; the app role gets the rights it needs.

Revision ID: 0009_sessions
Revises: 0006_leakproof_overlaps (depends on 0003_compliance)
"""

# ruff: noqa: S608 - SQL here is DDL built from this module's constants, never from input
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_sessions"
down_revision = "0006_leakproof_overlaps"
branch_labels = None
depends_on = ("0003_compliance",)  # compliance_findings gets its version column

APP_ROLE = "officemap_app"


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column(
            "token_generation",
            sa.Integer(),
            nullable=False,
            server_default="0",
            comment="tokens issued under an older generation are refused",
        ),
    )
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.Text(), primary_key=True),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "revoked_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index("ix_revoked_tokens_expires_at", "revoked_tokens", ["expires_at"])
    op.create_table(
        "login_throttle",
        sa.Column(
            "key", sa.Text(), primary_key=True, comment="client:<addr> or user:<addr>:<name>"
        ),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_login_throttle_last_failure_at", "login_throttle", ["last_failure_at"])
    op.add_column(
        "compliance_findings",
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
    )
    op.execute(
        """
        CREATE FUNCTION officemap_finding_version() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF (NEW.status, NEW.measured, NEW.allowed, NEW.excess_m2, NEW.details)
               IS DISTINCT FROM (OLD.status, OLD.measured, OLD.allowed, OLD.excess_m2, OLD.details)
            THEN
                NEW.version := OLD.version + 1;
            ELSE
                NEW.version := OLD.version;
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER compliance_findings_version BEFORE UPDATE ON compliance_findings
        FOR EACH ROW EXECUTE FUNCTION officemap_finding_version();
        """
    )
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
            END IF;
        END $$;
        """
    )
    op.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON revoked_tokens, login_throttle TO {APP_ROLE}"
    )
    op.execute(f"GRANT UPDATE (password_hash, token_generation) ON users TO {APP_ROLE}")
    op.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"REVOKE UPDATE (password_hash, token_generation) ON users FROM {APP_ROLE}")
    op.execute("DROP TRIGGER compliance_findings_version ON compliance_findings")
    op.execute("DROP FUNCTION officemap_finding_version()")
    op.drop_column("compliance_findings", "version")
    op.drop_table("login_throttle")
    op.drop_table("revoked_tokens")
    op.drop_column("users", "token_generation")
