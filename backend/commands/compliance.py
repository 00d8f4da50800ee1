"""``officemap compliance run``; after the demo loads: standards, demo leases, a full run."""

from __future__ import annotations

import argparse
import datetime as dt

from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session

import backend.cli as cli
from backend.compliance import service as compliance
from backend.compliance import standards
from backend.db.compliance import ComplianceEvaluation
from backend.db.migrate import upgrade

NATIONAL = "cn-2014"
DEMO = "cn-2014+demo-illustration"


@cli.command("compliance")
def cmd_compliance(args: argparse.Namespace) -> int:
    as_of = dt.date.fromisoformat(args.as_of) if args.as_of else None
    with cli.database_url() as url:
        engine = create_engine(url)
        upgrade(engine)
        with Session(engine) as session, session.begin():
            if args.floor:
                result = compliance.evaluate_floor(
                    session, args.floor, as_of=as_of, version=args.version, actor=args.actor
                )
            else:
                result = compliance.run_full(
                    session, as_of=as_of, version=args.version, actor=args.actor
                )
        cli._say(f"compliance: {result.summary()}")
        for rule, count in sorted(result.counts.items()):
            print(f"{rule}\t{count}")
        for rule, why in sorted(result.not_configured.items()):
            print(f"{rule}\tnot configured: {why}")
        engine.dispose()
    return 0


def _parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("compliance", help="evaluate the compliance rules")
    p.add_argument("action", choices=["run"])
    p.add_argument("--as-of", help="judge at this date (YYYY-MM-DD; default today)")
    p.add_argument("--version", help="standards version (default: newest in effect)")
    p.add_argument("--floor", type=int, help="only what a change to this floor touches")
    p.add_argument("--actor", default="cli")


def after_prepare(engine: object) -> None:
    """Load the standards, add the demo's leases and approved uses, evaluate once."""
    assert isinstance(engine, Engine)
    with Session(engine) as session, session.begin():
        standards.load_version(session, NATIONAL)
        demo = session.execute(
            text("SELECT EXISTS (SELECT 1 FROM buildings WHERE source = 'demo generator')")
        ).scalar_one()
        if demo:
            standards.load_version(session, DEMO)
            compliance.seed_demo(session)
        evaluated = session.execute(select(ComplianceEvaluation.id).limit(1)).first()
        has_register = session.execute(text("SELECT EXISTS (SELECT 1 FROM rooms)")).scalar_one()
        if evaluated is None and has_register:
            result = compliance.run_full(session)
            cli._say(f"compliance: {result.summary()}")


cli.EXTRA_PARSERS.append(_parser)
cli.AFTER_PREPARE.append(after_prepare)
