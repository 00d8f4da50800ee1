"""``officemap audit verify [--head FILE] | head``: check the keyed chain, export its head."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

import backend.cli as cli
from backend.audit import service as audit


@cli.command("audit")
def cmd_audit(args: argparse.Namespace) -> int:
    head = None
    if args.action == "verify" and args.head:
        try:
            head = json.loads(Path(args.head).read_text())
            if not isinstance(head, dict) or "id" not in head or "mac" not in head:
                raise ValueError("needs the fields id and mac")
        except (OSError, ValueError) as exc:
            print(f"officemap: cannot read the exported head {args.head}: {exc}", file=sys.stderr)
            return 2
    with cli.database_url() as url:
        engine = create_engine(url)
        try:
            with Session(engine) as session:
                if args.action == "head":
                    print(json.dumps(audit.export_head(session), indent=2))
                    return 0
                result = audit.verify(session, head=head)
        finally:
            engine.dispose()
    for event_id, reason in result.broken:
        print(f"TAMPERED event {event_id}: {reason}")
    verdict = "intact" if result.ok else f"{len(result.broken)} problem(s)"
    extra = f", {result.unkeyed} from before the keyed chain" if result.unkeyed else ""
    against = f", checked against the head exported at event {head['id']}" if head else ""
    print(f"audit chain: {result.checked} events checked{extra}{against}, {verdict}")
    return 0 if result.ok else 1


def _parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "audit",
        help="audit trail: verify the keyed hash chain, export its head",
        description=(
            "verify: recompute hashes, links and MACs (key: OFFICEMAP_AUDIT_KEY or the state "
            "folder's audit-key); with --head FILE also check that the exported head is still "
            "there unchanged (detects truncation). head: print the newest event's id, hash and "
            "MAC as JSON, to keep outside the database."
        ),
    )
    p.add_argument("action", choices=["verify", "head"])
    p.add_argument("--head", metavar="FILE", help="a head exported earlier by `audit head`")


cli.EXTRA_PARSERS.append(_parser)
