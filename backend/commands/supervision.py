"""``officemap supervision flag-overdue [--today YYYY-MM-DD]``: the daily overdue flag."""

from __future__ import annotations

import argparse
import datetime as dt

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

import backend.cli as cli
from backend.supervision import clock, ledger


@cli.command("supervision")
def cmd_supervision(args: argparse.Namespace) -> int:
    today = dt.date.fromisoformat(args.today) if args.today else clock.today()
    with cli.database_url() as url:
        engine = create_engine(url)
        try:
            with Session(engine) as session, session.begin():
                result = ledger.flag_overdue(session, today=today, actor="system")
        finally:
            engine.dispose()
    print(
        f"rectification ledger as of {today}: {result['flagged']} newly overdue, "
        f"{result['cleared']} flags cleared"
    )
    return 0


def _parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("supervision", help="supervision: flag overdue rectifications (daily)")
    p.add_argument("action", choices=["flag-overdue"])
    p.add_argument("--today", help="judge as of this day (default: today, China Standard Time)")


cli.EXTRA_PARSERS.append(_parser)
