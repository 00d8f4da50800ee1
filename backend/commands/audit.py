"""``officemap audit verify``: recompute the hash chain and name any tampered event."""

from __future__ import annotations

import argparse

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

import backend.cli as cli
from backend.services import audit


@cli.command("audit")
def cmd_audit(args: argparse.Namespace) -> int:
    with cli.database_url() as url:
        engine = create_engine(url)
        try:
            with Session(engine) as session:
                result = audit.verify(session)
        finally:
            engine.dispose()
    for event_id, reason in result.broken:
        print(f"TAMPERED event {event_id}: {reason}")
    verdict = "intact" if result.ok else f"{len(result.broken)} problem(s)"
    print(f"audit chain: {result.checked} events checked, {verdict}")
    return 0 if result.ok else 1


def _parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("audit", help="audit trail: verify the hash chain")
    p.add_argument("action", choices=["verify"])


cli.EXTRA_PARSERS.append(_parser)
