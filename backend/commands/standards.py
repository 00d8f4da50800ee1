"""``officemap standards load|list``: load a version of the standards tables without a release."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

import backend.cli as cli
from backend.db.migrate import upgrade
from backend.services import standards


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
            names = args.version or [s.version for s in standards.read_manifest(manifest)]
            for name in names:
                loaded = standards.load_version(session, name, manifest=manifest, actor=args.actor)
                cli._say(f"standards {name}: {'loaded' if loaded else 'already loaded'}")
        engine.dispose()
    return 0


def _parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("standards", help="load or list versions of the standards tables")
    p.add_argument("action", choices=["load", "list"])
    p.add_argument(
        "--version",
        action="append",
        help="version id from the manifest (repeatable; default: every version)",
    )
    p.add_argument("--manifest", help="manifest.json (default: data/standards/manifest.json)")
    p.add_argument("--actor", default="cli", help="who loads it (recorded in the audit trail)")


cli.EXTRA_PARSERS.append(_parser)
