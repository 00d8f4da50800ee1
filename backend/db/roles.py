"""Database roles: the owner migrates and maintains, the app's LOGIN role serves requests.

- The owner (the role that runs migrations; the embedded cluster's bootstrap superuser)
  runs maintenance work: migrations, demo loading, the command line, compliance batch
  runs. Its URL carries ``options=-c officemap.unrestricted=on`` (:func:`maintenance_url`):
  under FORCE ROW LEVEL SECURITY a non-superuser owner sees rows only when it says so.
- Requests run as a LOGIN role that is a member of ``officemap_app`` (migration 0004) and
  neither owner, superuser nor BYPASSRLS: the embedded cluster creates ``officemap_web``
  with a generated password; with ``OFFICEMAP_DATABASE_URL`` the operator creates one and
  gives its URL in ``OFFICEMAP_DATABASE_APP_URL``.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from backend.db.async_pool import libpq_url as libpq

APP_GROUP = "officemap_app"
APP_LOGIN = "officemap_web"
MAINTENANCE_OPTIONS = "-cofficemap.unrestricted=on"  # no space: it survives URL quoting

CREATE_HINT = (
    f"create one as the owner: CREATE ROLE {APP_LOGIN} LOGIN PASSWORD '…' NOSUPERUSER "
    f"NOBYPASSRLS IN ROLE {APP_GROUP}; then set OFFICEMAP_DATABASE_APP_URL="
    f"postgresql+psycopg://{APP_LOGIN}:…@host/db"
)


def maintenance_url(url: str) -> str:
    """``url`` declaring the unrestricted scope for every session (maintenance work only)."""
    u = make_url(url)
    if "options" in u.query:
        return url
    return u.update_query_dict({"options": MAINTENANCE_OPTIONS}).render_as_string(
        hide_password=False
    )


def app_url_for(owner_url: str, password: str, *, login: str = APP_LOGIN) -> str:
    """The owner's URL with the app role's credentials (same host, port, database)."""
    u = make_url(owner_url).set(username=login, password=password)
    return u.set(query={k: v for k, v in u.query.items() if k != "options"}).render_as_string(
        hide_password=False
    )


def ensure_app_login(owner_url: str, password: str, *, login: str = APP_LOGIN) -> None:
    """Create (or reset the password of) the app's LOGIN role, a member of ``officemap_app``."""
    with psycopg.connect(libpq(owner_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (login,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(
            sql.SQL(
                "{} ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
            ).format(sql.SQL(verb), sql.Identifier(login), sql.Literal(password))
        )
        conn.execute(
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(APP_GROUP), sql.Identifier(login))
        )


@dataclass(frozen=True)
class RoleCheck:
    """What the connected role is; ``problems`` says why requests must not run as it."""

    role: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_app_role(app_url: str) -> RoleCheck:
    """Connect with ``app_url`` and check that row-level security applies to that role."""
    with psycopg.connect(libpq(app_url)) as conn:
        role, superuser, bypass, member, owns = conn.execute(
            """
            SELECT r.rolname, r.rolsuper, r.rolbypassrls,
                   pg_has_role(current_user, %s, 'USAGE'),
                   EXISTS (SELECT 1 FROM pg_class c
                           WHERE c.relnamespace = 'public'::regnamespace
                             AND pg_has_role(current_user, c.relowner, 'USAGE'))
            FROM pg_roles r WHERE r.rolname = current_user
            """,
            (APP_GROUP,),
        ).fetchone() or ("?", True, True, False, True)
    problems = []
    if superuser:
        problems.append("is a superuser")
    if bypass:
        problems.append("has BYPASSRLS")
    if owns:
        problems.append("owns (or inherits the owner of) tables of the schema")
    if not member:
        problems.append(f"is not a member of {APP_GROUP}")
    return RoleCheck(role=str(role), problems=tuple(problems))
