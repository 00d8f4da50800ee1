"""``officemap supervision flag-overdue [--today YYYY-MM-DD]``: the daily overdue flag."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.orm import Session

from backend.commands.common import database_engine, iso_date
from backend.supervision import clock, ledger

app = typer.Typer(
    help="Supervision: flag overdue rectifications (daily). 监督:标记逾期整改。",
    no_args_is_help=True,
)


@app.command("flag-overdue")
def flag_overdue(
    today: Annotated[
        str | None,
        typer.Option(help="judge as of this day (default: today, China Standard Time)"),
    ] = None,
) -> None:
    """Stamp and audit each rectification on the day it becomes overdue. 标记逾期整改。"""
    day = iso_date(today) or clock.today()
    with database_engine() as engine, Session(engine) as session, session.begin():
        result = ledger.flag_overdue(session, today=day, actor="system")
    print(
        f"rectification ledger as of {day}: {result['flagged']} newly overdue, "
        f"{result['cleared']} flags cleared"
    )
