"""``officemap import-plan FILE --building ID --level N --crs EPSG:…``: the upload pipeline.

Runs as the local ``system`` principal (an operator on the server): the same validation,
areas and one-transaction commit as ``POST /api/v1/buildings/{id}/floors/{level}/plan``.
Exit status: 0 imported / dry run passed / replayed, 1 rejected, 2 refused before parsing.
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


def import_plan(
    file: Annotated[Path, typer.Argument(help=".geojson, .zip (Shapefile or IMDF), .gpkg or .dxf")],
    building: Annotated[int, typer.Option(help="building id 楼栋")],
    level: Annotated[int, typer.Option(help="floor level 楼层")],
    crs: Annotated[str, typer.Option(help="EPSG:4490/4326 or a GK zone EPSG:4491–4554")],
    mapping: Annotated[
        str | None, typer.Option(help="JSON object (or @file): fields and layers")
    ] = None,
    georef: Annotated[
        str | None,
        typer.Option(help="JSON object (or @file): origin/rotation/scale or control points"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="validate only; store nothing")
    ] = False,
    repair: Annotated[bool, typer.Option("--repair", help="make invalid geometries valid")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    carry_over: Annotated[
        str | None,
        typer.Option(
            help='re-survey: JSON (or @file) {"<old room id>": <new feature index> or "end"} '
            "for rooms whose occupants/leases/uses match no new room"
        ),
    ] = None,
) -> None:
    """Validate and import a surveyor's floor plan (平面图入库). Exit 0 imported/dry run
    passed/replayed, 1 rejected, 2 refused before parsing."""
    principal = Principal(
        username=f"cli:{getpass.getuser()}", roles=frozenset({"admin"}), scope=Scope.everything()
    )
    try:
        req = plans.PlanRequest(
            building_id=building,
            level=level,
            filename=file.name,
            data=file.read_bytes(),
            crs=crs,
            mapping=_json_arg("mapping", mapping),
            georef=_json_arg("georef", georef),
            dry_run=dry_run,
            repair=repair,
            carry_over=_json_arg("carry_over", carry_over),
        )
        with database_engine() as engine, Session(engine) as session, session.begin():
            outcome = plans.import_plan(session, req, principal=principal, scope=principal.scope)
    except DomainError as exc:
        body = {"code": exc.code, "message": exc.message, "details": exc.details}
        print(json.dumps(body, ensure_ascii=False) if as_json else f"refused: {exc.message}")
        raise typer.Exit(2) from exc
    if as_json:
        print(json.dumps(outcome.report, ensure_ascii=False, default=str))
    else:
        _print_report(outcome)
    exit_with(0 if outcome.accepted else 1)
