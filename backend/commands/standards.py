"""``officemap standards load|list``: load a version of the standards tables without a release."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

import backend.cli as cli
from backend import timekeeping
from backend.compliance import service as compliance
from backend.compliance import standards
from backend.db.migrate import upgrade
from backend.db.models import Room
from backend.services.errors import InvalidInput


@cli.command("standards")
def cmd_standards(args: argparse.Namespace) -> int:
    manifest = Path(args.manifest) if args.manifest else standards.STANDARDS_DIR / "manifest.json"
    with cli.database_url() as url:
        engine = create_engine(url)
        upgrade(engine)
        with Session(engine) as session, session.begin():
            if args.action == "list":
                for v in standards.list_versions(session):
                    print(f"{v['version']}\t{v['effective_date']}\t{v['title']}")
                return 0
            names = args.version or standards.default_versions(standards.read_manifest(manifest))
            in_effect = _in_effect(session)
            for name in names:
                loaded = standards.load_version(session, name, manifest=manifest, actor=args.actor)
                cli._say(f"standards {name}: {'loaded' if loaded else 'already loaded'}")
            if (
                _in_effect(session) != in_effect
                and session.execute(select(Room.id).limit(1)).first()
            ):
                # a new standard in effect changes findings everywhere: the batch run
                result = compliance.run_full(session, actor=args.actor)
                cli._say(f"compliance under {result.standard_version}: {result.summary()}")
        engine.dispose()
    return 0


def _in_effect(session: Session) -> str | None:
    try:
        return standards.resolve_version(session, timekeeping.today())
    except InvalidInput:
        return None


def _parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("standards", help="load or list versions of the standards tables")
    p.add_argument("action", choices=["load", "list"])
    p.add_argument(
        "--version",
        action="append",
        help="version id from the manifest (repeatable; default: every version not labelled "
        "an illustration — demo figures are loaded only by name)",
    )
    p.add_argument("--manifest", help="manifest.json (default: data/standards/manifest.json)")
    p.add_argument("--actor", default="cli", help="who loads it (recorded in the audit trail)")


cli.EXTRA_PARSERS.append(_parser)
