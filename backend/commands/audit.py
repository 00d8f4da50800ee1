"""``officemap audit verify [--head FILE] | head``: check the keyed chain, export its head."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from backend.audit import service as audit
from backend.commands.common import database_engine, exit_with

app = typer.Typer(
    help="Audit trail: verify the keyed hash chain, export its head. 审计链:校验与导出链头。",
    no_args_is_help=True,
)


@app.command()
def verify(
    head: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="a head exported earlier by `audit head`"),
    ] = None,
) -> None:
    """Recompute hashes, links and MACs (key: OFFICEMAP_AUDIT_KEY or the state folder's
    audit-key); with --head FILE also check that the exported head is still there unchanged
    (detects truncation). Exit 1 naming tampered events. 校验审计链。"""
    exit_with(_verify(head))


def _verify(head_file: Path | None) -> int:
    head: dict[str, Any] | None = None
    if head_file is not None:
        try:
            head = json.loads(head_file.read_text())
            if not isinstance(head, dict) or "id" not in head or "mac" not in head:
                raise ValueError("needs the fields id and mac")
        except (OSError, ValueError) as exc:
            print(f"officemap: cannot read the exported head {head_file}: {exc}", file=sys.stderr)
            return 2
    with database_engine() as engine, Session(engine) as session:
        result = audit.verify(session, head=head)
    for event_id, reason in result.broken:
        print(f"TAMPERED event {event_id}: {reason}")
    verdict = "intact" if result.ok else f"{len(result.broken)} problem(s)"
    extra = f", {result.unkeyed} from before the keyed chain" if result.unkeyed else ""
    against = f", checked against the head exported at event {head['id']}" if head else ""
    print(f"audit chain: {result.checked} events checked{extra}{against}, {verdict}")
    return 0 if result.ok else 1


@app.command("head")
def export_head() -> None:
    """Print the newest event's id, hash and MAC as JSON, to keep outside the database.
    输出链头(JSON),存于库外。"""
    with database_engine() as engine, Session(engine) as session:
        print(json.dumps(audit.export_head(session), indent=2))
