"""``officemap compliance run``; after the demo loads: standards, demo leases, a full run."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from backend.commands.common import database_engine, iso_date, say
from backend.compliance import service as compliance
from backend.compliance import standards
from backend.db.compliance import ComplianceEvaluation
from backend.db.migrate import upgrade

NATIONAL = "cn-2014"
DEMO = "cn-2014+demo-illustration"

app = typer.Typer(help="Evaluate the compliance rules. 合规检查。", no_args_is_help=True)


@app.command()
def run(
    as_of: Annotated[
        str | None, typer.Option(help="judge at this date (YYYY-MM-DD; default today)")
    ] = None,
    version: Annotated[
        str | None, typer.Option(help="standards version (default: newest in effect)")
    ] = None,
    floor: Annotated[
        int | None, typer.Option(help="only what a change to this floor touches")
    ] = None,
    actor: Annotated[str, typer.Option(help="recorded in the audit trail")] = "cli",
) -> None:
    """Evaluate every rule over the register (or what one floor touches). 执行合规检查。"""
    day = iso_date(as_of)
    with database_engine() as engine:
        upgrade(engine)
        with Session(engine) as session, session.begin():
            if floor:
                result = compliance.evaluate_floor(
                    session, floor, as_of=day, version=version, actor=actor
                )
            else:
                result = compliance.run_full(session, as_of=day, version=version, actor=actor)
        say(f"compliance: {result.summary()}")
        for rule, count in sorted(result.counts.items()):
            print(f"{rule}\t{count}")
        for rule, why in sorted(result.not_configured.items()):
            print(f"{rule}\tnot configured: {why}")


def after_prepare(engine: Engine) -> None:
    """Load the standards, add the demo's leases and approved uses, evaluate once."""
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
            say(f"compliance: {result.summary()}")
