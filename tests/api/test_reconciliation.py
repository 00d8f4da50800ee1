"""GET /api/v1/reconciliation: 账账, 账实 and 账证 mismatches with both figures, per agency;
账实 on the stock-take's figures (a ledger imported through the API against the demo's
surveyed rooms); the Excel export keeps formula-like text as text."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend import timekeeping


def test_reconciliation_lists_both_figures_per_agency(
    client: Any, client_as: Any, db: Session
) -> None:
    d = timekeeping.today()
    occ = db.execute(
        text(
            "SELECT o.room_id, o.agency_id, r.region_adcode, r.building_id FROM occupancies o "
            "JOIN rooms r ON r.id = o.room_id AND r.agency_id = o.agency_id "
            "JOIN floors f ON f.id = r.floor_id AND f.valid_to IS NULL "
            "WHERE o.start_date <= :d AND (o.end_date IS NULL OR o.end_date > :d) "
            "ORDER BY o.id LIMIT 1"
        ),
        {"d": d},
    ).one()
    other = db.execute(
        text("SELECT id FROM agencies WHERE id <> :a ORDER BY id LIMIT 1"), {"a": occ.agency_id}
    ).scalar_one()
    # the register moves the room to another agency; the agency's people still sit there
    db.execute(
        text("UPDATE rooms SET agency_id = :o WHERE id = :r"), {"o": other, "r": occ.room_id}
    )
    db.execute(
        text("UPDATE buildings SET name = '=HYPERLINK(\"x\")' WHERE id = :b"),
        {"b": occ.building_id},
    )
    floors_m2 = float(
        db.execute(
            text(
                "SELECT sum(building_area_m2) FROM floors WHERE building_id = :b AND valid_to IS NULL"
            ),
            {"b": occ.building_id},
        ).scalar_one()
    )
    title = client.post(
        "/api/v1/titles",
        json={
            "building_id": occ.building_id,
            "certificate_no": "=1+1",  # a formula if written raw
            "certified_area_m2": f"{floors_m2 + 500:.2f}",
            "holder": "@SUM(A1)",
        },
    )
    assert title.status_code == 201, title.text
    db.execute(  # the register's certificate number drifts from the certificate
        text("UPDATE buildings SET building_certificate_no = '-2' WHERE id = :b"),
        {"b": occ.building_id},
    )
    region = occ.region_adcode // 100 * 100
    r = client.get("/api/v1/reconciliation", params={"region": region})
    assert r.status_code == 200, r.text
    body = r.json()
    assert all(c["done"] for c in body["checks"].values())
    ledger = [
        m for m in body["mismatches"] if m["check"] == "ledger" and m["object_id"] == occ.room_id
    ]
    assert len(ledger) == 1 and ledger[0]["agency_id"] == occ.agency_id
    other_name = db.execute(
        text("SELECT name FROM agencies WHERE id = :o"), {"o": other}
    ).scalar_one()
    assert other_name in ledger[0]["register_figure"]
    kinds = {
        m["kind"]: m
        for m in body["mismatches"]
        if m["check"] == "title" and m["building_id"] == occ.building_id
    }
    area = kinds["certified_area"]
    assert area["register_m2"] == floors_m2 and area["other_m2"] == floors_m2 + 500
    assert area["difference_m2"] == -500
    assert kinds["certificate_no"]["register_figure"] == "-2"
    assert kinds["certificate_no"]["other_figure"] == "=1+1"
    summary = {a["agency_id"]: a for a in body["agencies"]}
    assert summary[occ.agency_id]["ledger"] >= 1
    # an independent count of the ledger mismatches in the region
    expected = db.execute(
        text(
            "SELECT count(DISTINCT (o.agency_id, r.id)) FROM occupancies o JOIN rooms r ON r.id = o.room_id "
            "JOIN floors f ON f.id = r.floor_id AND f.valid_to IS NULL JOIN buildings b ON b.id = r.building_id "
            "WHERE o.start_date <= :d AND (o.end_date IS NULL OR o.end_date > :d) "
            "AND r.agency_id IS DISTINCT FROM o.agency_id AND b.status <> 'disposed' "
            "AND r.region_adcode BETWEEN :lo AND :hi"
        ),
        {"d": d, "lo": region, "hi": region + 99},
    ).scalar_one()
    assert sum(m["check"] == "ledger" for m in body["mismatches"]) == expected
    # the export: the same rows, formula-like text kept as text
    x = client.get("/api/v1/reconciliation", params={"region": region, "format": "xlsx"})
    assert x.status_code == 200 and x.headers["content-type"].startswith(
        "application/vnd.openxmlformats"
    )
    wb = load_workbook(io.BytesIO(x.content))
    rows = list(wb["不一致清单"].iter_rows(values_only=True))
    assert len(rows) == 1 + len(body["mismatches"])
    cells = [c for row in wb["不一致清单"].iter_rows() for c in row if c.value in ("=1+1", "-2")]
    assert cells and all(c.data_type == "s" for c in cells)
    names = [c for row in wb["不一致清单"].iter_rows() for c in row if c.value == '=HYPERLINK("x")']
    assert names and all(c.data_type == "s" for c in names)
    # scope: a planner of another city sees none of it
    outside = 330100 if region != 330100 else 330200
    seen = client_as("planner", regions=[outside]).get("/api/v1/reconciliation").json()
    assert all(m["object_id"] != occ.room_id for m in seen["mismatches"] if m["check"] == "ledger")
    assert all(m["building_id"] != occ.building_id for m in seen["mismatches"])
    assert client.get("/api/v1/reconciliation", params={"region": "=1"}).status_code == 422


def _ledger_workbook(rooms: list[tuple[Any, ...]], building: tuple[Any, ...]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "房屋台账"
    ws.append(["房屋编号", "房屋名称", "管理单位统一社会信用代码", "证载面积"])
    ws.append(list(building))
    rs = wb.create_sheet("房间台账")
    rs.append(["房屋编号", "楼层", "房间号", "用房类别", "账面面积（㎡）"])
    for row in rooms:
        rs.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_physical_compares_the_stock_take_with_the_survey(
    client: Any, client_as: Any, db: Session
) -> None:
    """账实: a ledger imported through the API over a surveyed demo building — one room as
    surveyed, one recorded 5 m² smaller, one the survey lacks, and a recorded 证载面积 far
    from the floors' building areas; a current title then differs from that record (账证)."""
    from tests.stocktake.test_ledger_import import post as post_ledger

    site = db.execute(
        text(
            "SELECT b.id, b.name, b.region_adcode, a.id AS agency_id, a.credit_code "
            "FROM buildings b JOIN agencies a ON a.id = b.agency_id "
            "WHERE b.status <> 'disposed' AND a.credit_code IS NOT NULL AND EXISTS ("
            "  SELECT 1 FROM floors f JOIN rooms r ON r.floor_id = f.id "
            "  WHERE f.building_id = b.id AND f.valid_to IS NULL AND r.number IS NOT NULL) "
            "ORDER BY b.id LIMIT 1"
        )
    ).one()
    rooms = db.execute(
        text(
            "SELECT f.level, r.number, r.usable_area_m2 FROM rooms r "
            "JOIN floors f ON f.id = r.floor_id AND f.valid_to IS NULL "
            "WHERE r.building_id = :b AND r.number IS NOT NULL AND r.category = 'office' "
            "ORDER BY f.level, r.id LIMIT 2"
        ),
        {"b": site.id},
    ).all()
    assert len(rooms) == 2
    floors_m2 = float(
        db.execute(
            text(
                "SELECT sum(building_area_m2) FROM floors WHERE building_id = :b "
                "AND valid_to IS NULL"
            ),
            {"b": site.id},
        ).scalar_one()
    )
    (lv1, same, a1), (lv2, off, a2) = rooms
    recorded_off = float(a2) - 5
    workbook = _ledger_workbook(
        [
            (site.id, lv1, same, "一般工作人员办公室", f"{float(a1):.2f}"),
            (site.id, lv2, off, "一般工作人员办公室", f"{recorded_off:.2f}"),
            (site.id, lv1, "{{7*7}}", "一般工作人员办公室", "20.00"),  # the survey lacks it
        ],
        (site.id, site.name, site.credit_code, f"{floors_m2 + 300:.2f}"),
    )
    imported = post_ledger(client, workbook)
    assert imported.status_code == 201, imported.json()["errors"][:5]
    title = client.post(
        "/api/v1/titles",
        json={
            "building_id": site.id,
            "certificate_no": "浙(2026)测试不动产权第0000001号",
            "certified_area_m2": f"{floors_m2:.2f}",
            "holder": "机关事务管理局",
        },
    )
    assert title.status_code == 201, title.text
    region = site.region_adcode // 100 * 100
    body = client.get("/api/v1/reconciliation", params={"region": region}).json()
    assert body["checks"]["physical"]["done"] is True
    mine = [m for m in body["mismatches"] if m["building_id"] == site.id]
    physical = {(m["kind"], m["object_type"]): m for m in mine if m["check"] == "physical"}
    ledger_ids = dict(
        db.execute(
            text("SELECT number, id FROM ledger_rooms WHERE building_id = :b"), {"b": site.id}
        ).all()
    )
    area = physical[("room_area", "ledger_room")]
    assert area["object_id"] == ledger_ids[off]
    assert area["register_m2"] == float(a2) and area["other_m2"] == round(recorded_off, 2)
    assert area["difference_m2"] == 5.0
    missing = physical[("room_not_surveyed", "ledger_room")]
    assert missing["object_id"] == ledger_ids["{{7*7}}"] and missing["other_m2"] == 20.0
    assert all(
        m["object_id"] != ledger_ids[same]
        for m in mine
        if m["check"] == "physical" and m["object_type"] == "ledger_room"
    )  # the room as surveyed agrees
    building = physical[("building_area", "building")]
    assert building["register_m2"] == floors_m2 and building["other_m2"] == floors_m2 + 300
    assert building["difference_m2"] == -300
    titles = {m["kind"]: m for m in mine if m["check"] == "title"}
    assert "certified_area" not in titles  # the certificate agrees with the survey
    recorded = titles["recorded_certified_area"]
    assert recorded["register_m2"] == floors_m2 + 300 and recorded["other_m2"] == floors_m2
    # listed per agency: the agency of the ledger rooms and of the building
    summary = {a["agency_id"]: a for a in body["agencies"]}
    assert summary[site.agency_id]["physical"] >= 1
    expected = sum(
        m["check"] == "physical" and m["agency_id"] == site.agency_id for m in body["mismatches"]
    )
    assert summary[site.agency_id]["physical"] == expected
    # exported: the 账实 rows and the per-agency column
    x = client.get("/api/v1/reconciliation", params={"region": region, "format": "xlsx"})
    wb = load_workbook(io.BytesIO(x.content))
    rows = list(wb["不一致清单"].iter_rows(values_only=True))
    assert sum(r[0] == "账实" for r in rows) == sum(
        m["check"] == "physical" for m in body["mismatches"]
    )
    header = next(wb["按单位汇总"].iter_rows(values_only=True))
    assert "账实不一致" in header
    # scope: an officer of another agency and a planner of another city see none of it
    outside = 330100 if region != 330100 else 330200
    for other in (
        client_as("planner", regions=[outside]),
        client_as("agency_officer", agencies=[site.agency_id + 1]),
    ):
        seen = other.get("/api/v1/reconciliation").json()
        assert all(m["building_id"] != site.id for m in seen["mismatches"])
