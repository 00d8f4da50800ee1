"""Export → import changes nothing; GBK CSV; the template; the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import Agency
from backend.stocktake.models import BuildingLedger, LedgerOccupant
from tests.stocktake import ledgers as L
from tests.stocktake.test_ledger_import import counts, post


def _no_changes(report: dict[str, Any]) -> None:
    assert report["error_count"] == 0, report["errors"][:5]
    for s in report["sheets"]:
        assert s["created"] == 0 and s["updated"] == 0, (s, report["changes"][:5])


def test_register_export_reads_back_unchanged(client: Any, db: Session) -> None:
    assert post(client, L.workbook()).status_code == 201
    exported = client.get("/api/v1/exports/register.xlsx")
    assert exported.status_code == 200
    before = counts(db)
    r = post(client, exported.content, name="register.xlsx", dry_run=True)
    assert r.status_code == 200, r.json()["errors"][:5]
    report = r.json()
    _no_changes(report)
    kinds = {s["kind"]: s for s in report["sheets"]}
    assert kinds["agencies"]["unchanged"] >= 2 and kinds["occupants"]["unchanged"] == 3
    assert kinds["rooms"]["unchanged"] == 4 and kinds["buildings"]["unchanged"] >= 2
    r = post(client, exported.content, name="register.xlsx")
    assert r.status_code == 200 and r.json()["status"] == "unchanged"
    assert counts(db) == before


def test_template_is_recognised_and_empty(client: Any) -> None:
    t = client.get("/api/v1/imports/ledger/template.xlsx")
    assert t.status_code == 200 and t.content[:2] == b"PK"
    r = post(client, t.content, name="template.xlsx", dry_run=True)
    assert r.status_code == 200, r.json()["errors"]
    assert {s["kind"] for s in r.json()["sheets"]} == {
        "agencies",
        "buildings",
        "rooms",
        "occupants",
    }
    assert all(s["rows_read"] == 0 for s in r.json()["sheets"])


def _csv_gbk(rows: list[list[Any]]) -> bytes:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    for row in rows:
        w.writerow(row)
    return buf.getvalue().encode("gbk")


def test_gbk_csv(client: Any, db: Session) -> None:
    rows = [
        ["西湖区测试局单位信息表"],
        ["统一社会信用代码", "单位名称", "单位级别", "行政区划代码", "核定面积"],
        [L.code(5), "西湖区ＧＢＫ测试局", "县级", "330106", "１,２００．５０平方米"],
        ["合计", "", "", "", "1200.5"],
    ]
    r = post(client, _csv_gbk(rows), name="单位.csv")
    assert r.status_code == 201, r.json()["errors"]
    assert r.json()["source"]["encoding"] == "GB18030"
    a = db.scalars(select(Agency).where(Agency.credit_code == L.code(5))).one()
    assert a.name == "西湖区ＧＢＫ测试局" and str(a.approved_office_area_m2) == "1200.50"


def test_officer_cannot_set_reference_figures(client_as: Any, db: Session) -> None:
    officer = client_as("agency_officer", agencies=[24])
    before = counts(db)
    r = post(officer, L.workbook(buildings=None, rooms=None, occupants=None))
    assert r.status_code == 422
    assert {"agency_not_writable"} <= {e["code"] for e in r.json()["errors"]}
    assert counts(db) == before


def test_out_of_scope_agency_is_not_writable(client: Any, client_as: Any, db: Session) -> None:
    assert post(client, L.workbook()).status_code == 201
    planner = client_as("planner", regions=[330200])  # 宁波: the file's agencies are in 杭州
    before = counts(db)
    r = post(planner, L.workbook())
    assert r.status_code == 422
    codes = {e["code"] for e in r.json()["errors"]}
    assert "agency_not_writable" in codes
    assert counts(db) == before


def test_leader_may_not_import(client_as: Any) -> None:
    r = post(client_as("leader", regions=[330000]), L.workbook(), dry_run=True)
    assert r.status_code == 403


def test_cli_import_ledger(
    tmp_path: Path, database_url: str, monkeypatch: Any, capsys: Any
) -> None:
    from backend import cli
    from backend.settings import database_settings

    f = tmp_path / "台账.xlsx"
    f.write_bytes(L.workbook())
    monkeypatch.setenv("OFFICEMAP_DATABASE_URL", database_url)
    database_settings.cache_clear()
    try:
        assert cli.main(["import-ledger", str(f), "--dry-run", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["status"] == "dry_run"
        assert {s["kind"]: s["created"] for s in report["sheets"]}["occupants"] == 3
        bad = tmp_path / "x.xlsm"
        bad.write_bytes(b"PK")
        assert cli.main(["import-ledger", str(bad)]) == 2
    finally:
        database_settings.cache_clear()


def test_occupants_match_plan_rooms_and_mismatch_finding(client: Any, db: Session) -> None:
    """A plan uploaded later is matched on building + floor + room number; 账实不符 beyond the
    tolerance becomes a finding, which closes when the ledger is corrected."""
    from backend.stocktake import service
    from backend.stocktake.models import LedgerRoom

    assert post(client, L.workbook()).status_code == 201
    room = db.scalars(select(LedgerRoom).where(LedgerRoom.number == "301")).one()
    # a surveyed room of the same number on a current floor of that building
    from sqlalchemy import text

    fid = db.execute(
        text("INSERT INTO floors (building_id, level, version) VALUES (:b, 3, 1) RETURNING id"),
        {"b": room.building_id},
    ).scalar_one()
    db.execute(
        text(
            "INSERT INTO rooms (floor_id, building_id, number, geom, usable_area_raw, "
            "usable_area_m2, area_method) VALUES (:f, :b, '301', "
            "ST_GeomFromText('MULTIPOLYGON(((120.13 30.28,120.1301 30.28,120.1301 30.2801,120.13 30.28)))', 4490),"
            " 21.0, 21.00, 'test')"
        ),
        {"f": fid, "b": room.building_id},
    )
    assert service.reconcile(db, buildings=[room.building_id]) == 1  # 18.50 vs 21.00
    f = db.execute(
        text(
            "SELECT measured, allowed, status FROM compliance_findings "
            "WHERE rule_code = 'ledger.area_mismatch' AND object_id = :o"
        ),
        {"o": str(room.id)},
    ).one()
    assert (str(f[0]), str(f[1]), f[2]) == ("21.00", "18.50", "open")
    rows = [(b, fl, n, c, "21.2" if n == "301" else a, ag) for b, fl, n, c, a, ag in L.ROOMS]
    r = post(client, L.workbook(rooms=rows))
    assert r.status_code == 201 and r.json()["totals"]["rooms"]["updated"] == 1
    status = db.execute(
        text(
            "SELECT status FROM compliance_findings WHERE rule_code = 'ledger.area_mismatch' "
            "AND object_id = :o ORDER BY id DESC LIMIT 1"
        ),
        {"o": str(room.id)},
    ).scalar_one()
    assert status == "closed"
    assert db.scalars(select(LedgerOccupant)).first() is not None


def test_plan_upload_matches_declared_rooms(client: Any, db: Session) -> None:
    """Declared rooms without geometry get it by plan upload (building + floor + number);
    a recorded area off the surveyed one by more than the tolerance is 账实不符."""
    from openpyxl import Workbook
    from sqlalchemy import text

    from tests.api.test_plan_upload import plan
    from tests.api.test_plan_upload import post as post_plan
    from tests.backend.test_plans_support import demo_site

    site = demo_site(db)
    wb = Workbook()
    ws = wb.active
    ws.title = "房间台账"
    ws.append(["房屋编号", "楼层", "房间号", "用房类别", "账面面积（㎡）"])
    ws.append([site.building_id, f"{site.level}层", "100", "一般工作人员办公室", "18.00"])
    ws.append([site.building_id, site.level, "101", "一般工作人员办公室", "25.00"])
    r = post(client, L.save(wb))
    assert r.status_code == 201, r.json()["errors"]
    _, data = plan(site)
    up = post_plan(client, site, data, crs=site.crs)
    assert up.status_code == 201, up.text
    found = db.execute(
        text(
            "SELECT l.number, f.measured, f.allowed FROM compliance_findings f "
            "JOIN ledger_rooms l ON l.id::text = f.object_id "
            "WHERE f.rule_code = 'ledger.area_mismatch' AND f.status = 'open' AND l.building_id = :b"
        ),
        {"b": site.building_id},
    ).all()
    assert [(n, str(a)) for n, _, a in found] == [("101", "25.00")]


def test_scoped_round_trip_keeps_what_the_caller_cannot_see(
    client: Any, client_as: Any, db: Session
) -> None:
    """A planner of one district exports and re-imports: nothing changes, and the using
    agency from another city (invisible to them) is neither exported nor removed."""
    from backend.stocktake.models import BuildingAgency

    far = ("宁波某局", L.code(9, 330203), "县级", 330203, None, None, {}, {})
    b = [(*L.BUILDINGS[0][:2], L.code(1), *L.BUILDINGS[0][3:])]
    data = L.workbook(agencies=[*L.AGENCIES, far], buildings=b, rooms=None, occupants=None)
    wb_users = L.with_users(data, {"测试综合楼": f"{L.code(1)}、{L.code(9, 330203)}"})
    assert post(client, wb_users).status_code == 201
    planner = client_as("planner", regions=[330106])
    exported = planner.get("/api/v1/exports/register.xlsx", params={"region": 330106}).content
    assert L.code(9, 330203).encode() not in exported
    r = post(planner, exported, name="register.xlsx")
    assert r.status_code == 200, r.json()["errors"][:3]
    _no_changes(r.json())
    building = db.scalars(select(BuildingLedger.building_id)).first()
    users = set(
        db.scalars(select(BuildingAgency.agency_id).where(BuildingAgency.building_id == building))
    )
    assert len(users) == 2
