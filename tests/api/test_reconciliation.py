"""GET /api/v1/reconciliation: 账账 and 账证 mismatches with both figures, per agency;
账实 reported as not done; the Excel export keeps formula-like text as text."""

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
    assert body["checks"]["physical"]["done"] is False and body["checks"]["ledger"]["done"]
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
