"""``officemap regions load-townships``: township regions (乡镇、街道) from the shipped code file.

Also runs after the schema is prepared (``serve``, ``demo``), for the counties the register
holds; idempotent.
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

import backend.cli as cli
from backend.stocktake import regions


def load(engine: object) -> None:
    """Add the township regions of the counties held (an AFTER_PREPARE hook)."""
    assert isinstance(engine, Engine)
    with Session(engine) as session, session.begin():
        added = regions.load_townships(session)
    if added:
        print(
            f"officemap: {added} township regions added ({regions.TOWNSHIPS_SOURCE})",
            file=sys.stderr,
        )


@cli.command("regions")
def cmd_regions(args: argparse.Namespace) -> int:
    with cli.database_url() as url:
        engine = create_engine(url)
        try:
            load(engine)
        finally:
            engine.dispose()
    return 0


def _parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("regions", help="region codes: load the township level (乡镇、街道)")
    p.add_argument("action", choices=["load-townships"])


cli.EXTRA_PARSERS.append(_parser)
if load not in cli.AFTER_PREPARE:
    cli.AFTER_PREPARE.append(load)
