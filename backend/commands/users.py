"""``officemap users create|grant|revoke|list`` and the demo accounts after the demo loads."""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

import backend.cli as cli
from backend.accounts import users
from backend.db.access import User
from backend.sessions import service as sessions


def _ints(value: str | None) -> list[int]:
    return [int(v) for v in value.split(",") if v.strip()] if value else []


def _strs(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


@cli.command("users")
def cmd_users(args: argparse.Namespace) -> int:
    with cli.database_url() as url:
        engine = create_engine(url)
        try:
            with Session(engine) as session, session.begin():
                return _run(session, args)
        finally:
            engine.dispose()


def _run(session: Session, args: argparse.Namespace) -> int:
    scope = {"regions": _ints(args.regions), "agencies": _ints(args.agencies)}
    if args.action == "list":
        for u in session.scalars(select(User).order_by(User.username)):
            print(
                f"{u.username}\troles={','.join(u.roles)}\tregions={u.regions}"
                f"\tagencies={u.agencies}\tactive={u.active}"
            )
        return 0
    if not args.username:
        print("officemap users: a username is required", file=sys.stderr)
        return 2
    if args.action == "create":
        password = args.password or getpass.getpass(f"password for {args.username}: ")
        users.create_user(
            session,
            actor="cli",
            username=args.username,
            password=password,
            roles=_strs(args.roles),
            **scope,
        )
    elif args.action == "grant":
        users.grant(session, actor="cli", username=args.username, roles=_strs(args.roles), **scope)
    else:
        users.revoke(
            session,
            actor="cli",
            username=args.username,
            roles=_strs(args.roles),
            deactivate=args.deactivate,
            **scope,
        )
        if args.sessions:
            sessions.revoke_all_sessions(session, username=args.username, actor="cli")
            print(f"{args.username}: every earlier token revoked")
    u = users.get_user(session, args.username)
    print(f"{u.username}: roles={','.join(u.roles)} regions={u.regions} agencies={u.agencies}")
    return 0


def _parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("users", help="user accounts: create, grant or revoke roles and scope")
    p.add_argument("action", choices=["create", "grant", "revoke", "list"])
    p.add_argument("username", nargs="?")
    p.add_argument("--password", help="(create) prompted for when omitted")
    p.add_argument("--roles", help="comma-separated: admin,planner,leader,surveyor,…")
    p.add_argument("--regions", help="comma-separated adcodes (each with its subtree)")
    p.add_argument("--agencies", help="comma-separated agency ids")
    p.add_argument("--deactivate", action="store_true", help="(revoke) disable the account")
    p.add_argument(
        "--sessions",
        action="store_true",
        help="(revoke) sign the user out everywhere: every token issued so far is refused",
    )


def demo_accounts(engine: object) -> None:
    """After the demo loads: one account per role, printed (demo only!)."""
    assert isinstance(engine, Engine)
    with Session(engine) as session, session.begin():
        accounts = users.ensure_demo_users(session)
    print(
        "officemap: demo accounts (demo only — change or remove them in production):",
        file=sys.stderr,
    )
    for a in accounts:
        print(f"  {a.username:<10} {a.password:<16} {a.role:<15} {a.scope}", file=sys.stderr)


cli.EXTRA_PARSERS.append(_parser)
cli.AFTER_PREPARE.append(demo_accounts)
