"""``officemap import-ledger FILE [--dry-run] [--json]``: the stock-take ledger import.

Runs as the local ``system`` principal (an operator on the server): the same checks and
all-or-nothing commit as ``POST /api/v1/imports/ledger``.
Exit status: 0 imported / unchanged / dry run passed, 1 rejected, 2 refused before parsing.
"""

from __future__ import annotations

import argparse
import getpass
import json
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

import backend.cli as cli
from backend.accounts.access import Principal
from backend.services.errors import DomainError
from backend.services.scope import Scope
from backend.stocktake import service


def _print_report(status: str, r: dict[str, Any]) -> None:
    print(f"{status}: {r['error_count']} errors, {r['warning_count']} warnings")
    for s in r["sheets"]:
        print(
            f"  {s['sheet']} ({s['kind']}): {s['rows_read']} rows read, {s['created']} created, "
            f"{s['updated']} updated, {s['unchanged']} unchanged"
        )
    for kind in ("errors", "warnings"):
        for i in r[kind]:
            where = f"{i['sheet']}!{i['column'] or ''}{i['row'] or ''}"
            print(f"  {kind[:-1]} {i['code']} at {where}: {i['message_zh']}")


def _mapping(value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    if value.startswith("@"):
        value = Path(value[1:]).read_text(encoding="utf-8")
    parsed = json.loads(value)
    if not isinstance(parsed, dict):
        raise SystemExit("--mapping must be a JSON object")
    return parsed


@cli.command("import-ledger")
def cmd_import_ledger(args: argparse.Namespace) -> int:
    path = Path(args.file)
    principal = Principal(
        username=f"cli:{getpass.getuser()}", roles=frozenset({"admin"}), scope=Scope.everything()
    )
    req = service.LedgerRequest(
        filename=path.name,
        data=path.read_bytes(),
        dry_run=args.dry_run,
        mapping=_mapping(args.mapping),
    )
    try:
        with cli.database_url() as url:
            engine = create_engine(url)
            try:
                with Session(engine) as session, session.begin():
                    outcome = service.import_ledger(session, req, principal=principal)
            finally:
                engine.dispose()
    except DomainError as exc:
        body = {"code": exc.code, "message": exc.message, "details": exc.details}
        print(json.dumps(body, ensure_ascii=False) if args.json else f"refused: {exc.message}")
        return 2
    if args.json:
        print(json.dumps(outcome.report, ensure_ascii=False, default=str))
    else:
        _print_report(outcome.status, outcome.report)
    return 1 if outcome.status == "rejected" else 0


def _parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("import-ledger", help="import a stock-take ledger workbook (清查台账)")
    p.add_argument("file", help=".xlsx workbook or .csv (UTF-8 or GBK)")
    p.add_argument("--dry-run", action="store_true", help="check and report only; store nothing")
    p.add_argument("--mapping", help='JSON (or @file): {"columns": {…}, "sheets": {…}}')
    p.add_argument("--json", action="store_true", help="print the report as JSON")


cli.EXTRA_PARSERS.append(_parser)
