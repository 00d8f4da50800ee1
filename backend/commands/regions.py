"""``officemap regions load-townships``: township regions (乡镇、街道) from the shipped code file.

Also runs after the schema is prepared (``serve``, ``demo``), for the counties the register
holds; idempotent.
"""

from __future__ import annotations

import sys

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from backend.commands.common import database_engine
from backend.stocktake import regions

app = typer.Typer(
    help="Region codes: load the township level. 行政区划:加载乡镇、街道。", no_args_is_help=True
)


def load(engine: Engine) -> None:
    """Add the township regions of the counties held (run after the schema is prepared)."""
    with Session(engine) as session, session.begin():
        added = regions.load_townships(session)
    if added:
        print(
            f"officemap: {added} township regions added ({regions.TOWNSHIPS_SOURCE})",
            file=sys.stderr,
        )


@app.command("load-townships")
def load_townships() -> None:
    """Add the township regions (乡镇、街道) of the counties the register holds."""
    with database_engine() as engine:
        load(engine)
