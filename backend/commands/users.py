"""``officemap users create|grant|revoke|list`` and the demo accounts after the demo loads."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from backend.accounts import users
from backend.commands.common import database_engine
from backend.db.access import User
from backend.sessions import service as sessions

app = typer.Typer(
    help="User accounts: create, grant or revoke roles and scope. 用户:创建、授权、撤销。",
    no_args_is_help=True,
)

Username = Annotated[str, typer.Argument(metavar="USERNAME")]
Roles = Annotated[str | None, typer.Option(help="comma-separated: admin,planner,leader,surveyor,…")]
Regions = Annotated[
    str | None, typer.Option(help="comma-separated adcodes (each with its subtree)")
]
Agencies = Annotated[str | None, typer.Option(help="comma-separated agency ids")]


def _ints(value: str | None) -> list[int]:
    return [int(v) for v in value.split(",") if v.strip()] if value else []


def _strs(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def _show(session: Session, username: str) -> None:
    u = users.get_user(session, username)
    print(f"{u.username}: roles={','.join(u.roles)} regions={u.regions} agencies={u.agencies}")


@app.command("list")
def list_users() -> None:
    """List the accounts with their roles and scope. 列出用户。"""
    with database_engine() as engine, Session(engine) as session, session.begin():
        for u in session.scalars(select(User).order_by(User.username)):
            print(
                f"{u.username}\troles={','.join(u.roles)}\tregions={u.regions}"
                f"\tagencies={u.agencies}\tactive={u.active}"
            )


@app.command()
def create(
    username: Username,
    password: Annotated[str | None, typer.Option(help="prompted for when omitted")] = None,
    roles: Roles = None,
    regions: Regions = None,
    agencies: Agencies = None,
) -> None:
    """Create an account. 创建用户。"""
    password = password or getpass.getpass(f"password for {username}: ")
    with database_engine() as engine, Session(engine) as session, session.begin():
        users.create_user(
            session,
            actor="cli",
            username=username,
            password=password,
            roles=_strs(roles),
            regions=_ints(regions),
            agencies=_ints(agencies),
        )
        _show(session, username)


@app.command()
def grant(
    username: Username, roles: Roles = None, regions: Regions = None, agencies: Agencies = None
) -> None:
    """Add roles, regions or agencies to an account. 授予角色与范围。"""
    with database_engine() as engine, Session(engine) as session, session.begin():
        users.grant(
            session,
            actor="cli",
            username=username,
            roles=_strs(roles),
            regions=_ints(regions),
            agencies=_ints(agencies),
        )
        _show(session, username)


@app.command()
def revoke(
    username: Username,
    roles: Roles = None,
    regions: Regions = None,
    agencies: Agencies = None,
    deactivate: Annotated[
        bool, typer.Option("--deactivate", help="disable the account 停用账户")
    ] = False,
    revoke_sessions: Annotated[
        bool,
        typer.Option(
            "--sessions",
            help="sign the user out everywhere: every token issued so far is refused",
        ),
    ] = False,
) -> None:
    """Remove roles, regions or agencies; optionally deactivate, sign out everywhere.
    撤销角色与范围。"""
    with database_engine() as engine, Session(engine) as session, session.begin():
        users.revoke(
            session,
            actor="cli",
            username=username,
            roles=_strs(roles),
            deactivate=deactivate,
            regions=_ints(regions),
            agencies=_ints(agencies),
        )
        if revoke_sessions:
            sessions.revoke_all_sessions(session, username=username, actor="cli")
            print(f"{username}: every earlier token revoked")
        _show(session, username)


def demo_accounts(engine: Engine) -> None:
    """After the demo loads: one account per role, printed (demo only!)."""
    with Session(engine) as session, session.begin():
        accounts = users.ensure_demo_users(session)
    print(
        "officemap: demo accounts (demo only — change or remove them in production):",
        file=sys.stderr,
    )
    for a in accounts:
        print(f"  {a.username:<10} {a.password:<16} {a.role:<15} {a.scope}", file=sys.stderr)
