"""Ledger import: realistic workbooks in, the report, all-or-nothing, idempotence."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.db.models import Agency, AgencyStaffing, Building
from backend.stocktake.models import BuildingLedger, LedgerOccupant, LedgerRoom
from tests.stocktake import ledgers as L

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def post(
    client: Any, data: bytes, *, name: str = "台账.xlsx", dry_run: bool = False, **extra: str
) -> Any:
    return client.post(
        "/api/v1/imports/ledger",
        files={"file": (name, data, XLSX)},
        data={"dry_run": "true" if dry_run else "false", **extra},
    )


def counts(db: Session) -> tuple[int, ...]:
    return tuple(
        db.execute(select(func.count()).select_from(t)).scalar_one()
        for t in (Agency, Building, LedgerRoom, LedgerOccupant, AgencyStaffing, BuildingLedger)
    )


def test_realistic_workbook_dry_run_then_commit_then_same_again(client: Any, db: Session) -> None:
    data = L.workbook()
    before = counts(db)
    r = post(client, data, dry_run=True)
    assert r.status_code == 200, r.json()["errors"]
    rep = r.json()
    assert rep["status"] == "dry_run", rep["errors"]
    assert counts(db) == before
    by_kind = {s["kind"]: s for s in rep["sheets"]}
    assert by_kind["agencies"]["created"] == 2 and by_kind["agencies"]["rows_read"] == 2
    assert by_kind["buildings"]["created"] == 2
    assert by_kind["rooms"]["created"] == 4
    assert by_kind["occupants"]["created"] == 3
    codes = {w["code"] for w in rep["warnings"]}
    assert "hidden_sheet_ignored" in codes and "location_missing" in codes
    missing = next(w for w in rep["warnings"] if w["code"] == "location_missing")
    assert missing["sheet"] == "房屋" and missing["row"] == 5 and missing["message_zh"]

    r = post(client, data)
    assert r.status_code == 201, r.json()
    assert r.json()["status"] == "imported"
    a = db.scalars(select(Agency).where(Agency.credit_code == L.code(1))).one()
    assert a.approved_office_area_m2 == Decimal("1234.50") and a.level == "county"
    staffing = dict(
        db.execute(
            select(AgencyStaffing.rank_code, AgencyStaffing.quota).where(
                AgencyStaffing.agency_id == a.id
            )
        ).all()
    )
    assert staffing == {
        "county_head": 1,
        "county_deputy": 2,
        "section_head": 3,
        "below_section": 10,
    }
    child = db.scalars(select(Agency).where(Agency.credit_code == L.code(2))).one()
    assert child.parent_id == a.id
    rooms = {r.number: r for r in db.scalars(select(LedgerRoom))}
    assert rooms["302"].recorded_area_m2 == Decimal("24.00")
    assert rooms["B01"].level == -1 and rooms["B01"].subcategory == "ancillary.car_garage"
    assert rooms["101"].level == 1
    occ = {o.person_id: o for o in db.scalars(select(LedgerOccupant))}
    assert occ["P001"].rank_code == "below_section" and occ["P001"].start_date == dt.date(
        2024, 3, 1
    )
    assert occ["P003"].rank_code == "county_head" and occ["P003"].is_concurrent_post
    assert occ["P003"].start_date == dt.date(2024, 3, 1)  # Excel serial 45352
    annex = db.scalars(select(Building).where(Building.name == "测试附楼")).one()
    assert annex.footprint is None  # no invented location
    facts = db.get(BuildingLedger, annex.id)
    assert facts is not None and facts.location is None and facts.issued_on == dt.date(2012, 6, 30)

    after = counts(db)
    r = post(client, data)
    assert r.status_code == 200 and r.json()["status"] == "unchanged", r.json()
    assert all(s["created"] == s["updated"] == 0 for s in r.json()["sheets"])
    assert counts(db) == after
