"""``officemap standards load|list``: load a version of the standards tables without a release."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import timekeeping
from backend.commands.common import database_engine, say
from backend.compliance import service as compliance
from backend.compliance import standards
from backend.db.migrate import upgrade
from backend.db.models import Room
from backend.services.errors import InvalidInput

app = typer.Typer(
    help="Load or list versions of the standards tables. 配置标准:加载或列出版本。",
    no_args_is_help=True,
)


@app.command("list")
def list_versions() -> None:
    """List the versions loaded. 列出已加载的版本。"""
    with database_engine() as engine:
        upgrade(engine)
        with Session(engine) as session, session.begin():
            for v in standards.list_versions(session):
                print(f"{v['version']}\t{v['effective_date']}\t{v['title']}")


@app.command()
def load(
    version: Annotated[
        list[str] | None,
        typer.Option(
            help="version id from the manifest (repeatable; default: every version not labelled "
            "an illustration — demo figures are loaded only by name)"
        ),
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(help="manifest.json (default: data/standards/manifest.json)"),
    ] = None,
    actor: Annotated[str, typer.Option(help="who loads it (recorded in the audit trail)")] = "cli",
) -> None:
    """Load versions of the standards tables; re-evaluate compliance if the standard in
    effect changes. 加载标准版本。"""
    manifest = manifest or standards.STANDARDS_DIR / "manifest.json"
    with database_engine() as engine:
        upgrade(engine)
        with Session(engine) as session, session.begin():
            names = version or standards.default_versions(standards.read_manifest(manifest))
            in_effect = _in_effect(session)
            for name in names:
                loaded = standards.load_version(session, name, manifest=manifest, actor=actor)
                say(f"standards {name}: {'loaded' if loaded else 'already loaded'}")
            if (
                _in_effect(session) != in_effect
                and session.execute(select(Room.id).limit(1)).first()
            ):
                # a new standard in effect changes findings everywhere: the batch run
                result = compliance.run_full(session, actor=actor)
                say(f"compliance under {result.standard_version}: {result.summary()}")


def _in_effect(session: Session) -> str | None:
    try:
        return standards.resolve_version(session, timekeeping.today())
    except InvalidInput:
        return None
