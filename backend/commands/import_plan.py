"""``officemap import-plan FILE --building ID --level N --crs EPSG:…``: the upload pipeline.

Runs as the local ``system`` principal (an operator on the server): the same validation,
areas and one-transaction commit as ``POST /api/v1/buildings/{id}/floors/{level}/plan``.
Exit status: 0 imported / dry run passed / replayed, 1 rejected, 2 refused before parsing.
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
from backend.plans import service as plans
from backend.services.errors import DomainError
from backend.services.scope import Scope


def _json_arg(name: str, value: str | None) -> dict[str, Any] | None:
    """A JSON object given inline or as @file."""
    if value and value.startswith("@"):
        value = Path(value[1:]).read_text(encoding="utf-8")
    return plans.parse_json_field(name, value)


def _print_report(outcome: plans.PlanOutcome) -> None:
    r = outcome.report
    floor = r.get("floor") or {}
    print(
        f"{outcome.status}: {len(r.get('rooms') or [])} rooms, "
        f"usable {floor.get('usable_area_m2')} m², building area {floor.get('building_area_m2')} m²"
        + (f", floor version {floor.get('version')}" if floor.get("version") else "")
    )
    for kind in ("errors", "warnings"):
        for issue in r.get(kind) or []:
            where = f" feature {issue['feature']}" if issue.get("feature") is not None else ""
            at = f" at {issue['location']}" if issue.get("location") else ""
            print(f"  {kind[:-1]} {issue['code']}{where}{at}: {issue['message']}")


@cli.command("import-plan")
def cmd_import_plan(args: argparse.Namespace) -> int:
    path = Path(args.file)
    principal = Principal(
        username=f"cli:{getpass.getuser()}",
        roles=frozenset({"admin"}),
        scope=Scope.everything(),
    )
    try:
        req = plans.PlanRequest(
            building_id=args.building,
            level=args.level,
            filename=path.name,
            data=path.read_bytes(),
            crs=args.crs,
            mapping=_json_arg("mapping", args.mapping),
            georef=_json_arg("georef", args.georef),
            dry_run=args.dry_run,
            repair=args.repair,
            carry_over=_json_arg("carry_over", args.carry_over),
        )
        with cli.database_url() as url:
            engine = create_engine(url)
            try:
                with Session(engine) as session, session.begin():
                    outcome = plans.import_plan(
                        session, req, principal=principal, scope=principal.scope
                    )
            finally:
                engine.dispose()
    except DomainError as exc:
        body = {"code": exc.code, "message": exc.message, "details": exc.details}
        print(json.dumps(body, ensure_ascii=False) if args.json else f"refused: {exc.message}")
        return 2
    if args.json:
        print(json.dumps(outcome.report, ensure_ascii=False, default=str))
    else:
        _print_report(outcome)
    return 0 if outcome.accepted else 1


def _parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("import-plan", help="validate and import a surveyor's floor plan")
    p.add_argument("file", help=".geojson, .zip (Shapefile or IMDF), .gpkg or .dxf")
    p.add_argument("--building", type=int, required=True)
    p.add_argument("--level", type=int, required=True)
    p.add_argument("--crs", required=True, help="EPSG:4490/4326 or a GK zone EPSG:4491–4554")
    p.add_argument("--mapping", help="JSON object (or @file): fields and layers")
    p.add_argument(
        "--georef", help="JSON object (or @file): origin/rotation/scale or control points"
    )
    p.add_argument("--dry-run", action="store_true", help="validate only; store nothing")
    p.add_argument("--repair", action="store_true", help="make invalid geometries valid")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--carry-over",
        help='re-survey: JSON (or @file) {"<old room id>": <new feature index> or "end"} for '
        "rooms whose occupants/leases/uses match no new room",
    )


cli.EXTRA_PARSERS.append(_parser)
