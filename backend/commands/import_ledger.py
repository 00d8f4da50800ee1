"""``officemap import-ledger FILE [--dry-run] [--json]``: the stock-take ledger import.

Runs as the local ``system`` principal (an operator on the server): the same checks and
all-or-nothing commit as ``POST /api/v1/imports/ledger``.
Exit status: 0 imported / unchanged / dry run passed, 1 rejected, 2 refused before parsing.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from backend.accounts.access import Principal
from backend.commands.common import database_engine, exit_with
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


def import_ledger(
    file: Annotated[Path, typer.Argument(help=".xlsx workbook or .csv (UTF-8 or GBK)")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="check and report only; store nothing")
    ] = False,
    mapping: Annotated[
        str | None, typer.Option(help='JSON (or @file): {"columns": {…}, "sheets": {…}}')
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Import a stock-take ledger workbook (清查台账). Exit 0 imported/dry run passed,
    1 rejected, 2 refused before parsing."""
    exit_with(_import(file, dry_run=dry_run, mapping=mapping, as_json=as_json))


def _import(path: Path, *, dry_run: bool, mapping: str | None, as_json: bool) -> int:
    principal = Principal(
        username=f"cli:{getpass.getuser()}", roles=frozenset({"admin"}), scope=Scope.everything()
    )
    req = service.LedgerRequest(
        filename=path.name, data=path.read_bytes(), dry_run=dry_run, mapping=_mapping(mapping)
    )
    try:
        with database_engine() as engine, Session(engine) as session, session.begin():
            outcome = service.import_ledger(session, req, principal=principal)
    except DomainError as exc:
        body = {"code": exc.code, "message": exc.message, "details": exc.details}
        print(json.dumps(body, ensure_ascii=False) if as_json else f"refused: {exc.message}")
        return 2
    if as_json:
        print(json.dumps(outcome.report, ensure_ascii=False, default=str))
    else:
        _print_report(outcome.status, outcome.report)
    return 1 if outcome.status == "rejected" else 0
