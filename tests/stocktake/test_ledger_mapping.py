"""Header variants and the upload's mapping; coordinates in a Gauss–Krüger zone."""

from __future__ import annotations

import json
from typing import Any

from openpyxl import Workbook
from pyproj import Transformer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.db.models import Building
from backend.stocktake.models import BuildingLedger, LedgerRoom
from tests.stocktake import ledgers as L
from tests.stocktake.test_ledger_import import counts, post


def _rooms_with_odd_headers() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["办公楼名称", "所在楼层", "办公室号", "房间用途", "面积（平方米）"])
    ws.append(["测试综合楼", "3", "399", "会议室", "30"])
    return L.save(wb)


def test_mapping_names_unknown_headers(client: Any, db: Session) -> None:
    assert post(client, L.workbook()).status_code == 201
    r = post(client, _rooms_with_odd_headers(), dry_run=True)
    assert r.status_code == 422  # 办公室号 is no known header: the room number is missing
    assert "missing_column" in {e["code"] for e in r.json()["errors"]}
    mapping = json.dumps({"columns": {"办公室号": "number"}})
    r = post(client, _rooms_with_odd_headers(), mapping=mapping)
    assert r.status_code == 201, r.json()["errors"]
    assert db.scalar(select(func.count()).where(LedgerRoom.number == "399")) == 1


def test_mapping_can_ignore_a_sheet_and_bad_mappings_are_refused(client: Any, db: Session) -> None:
    before = counts(db)
    r = post(
        client, L.workbook(), dry_run=True, mapping=json.dumps({"sheets": {"使用人": "ignore"}})
    )
    assert r.status_code == 200 and "occupants" not in {s["kind"] for s in r.json()["sheets"]}
    for bad in ('{"columns": {"x": "no_such_field"}}', '{"other": 1}', "[1]", "{not json"):
        r = post(client, L.workbook(), dry_run=True, mapping=bad)
        assert r.status_code == 422 and r.json()["code"] in ("invalid_input", "invalid_parameter")
    assert counts(db) == before


def test_gauss_kruger_coordinates_and_swapped_lon_lat(client: Any, db: Session) -> None:
    x, y = Transformer.from_crs(4490, 4549, always_xy=True).transform(120.13, 30.28)
    wb = Workbook()
    wb.remove(wb.active)
    L.agencies_sheet(wb)
    ws = wb.create_sheet("房屋")
    ws.append(["房屋名称", "管理单位", "X坐标", "Y坐标", "坐标系", "经度", "纬度"])
    ws.append(["高斯楼", L.code(1), round(x, 3), round(y, 3), "CGCS2000 / EPSG:4549", None, None])
    r = post(client, L.save(wb))
    assert r.status_code == 201, r.json()["errors"]
    b = db.scalars(select(Building).where(Building.name == "高斯楼")).one()
    lon, lat, src = db.execute(
        select(
            func.ST_X(BuildingLedger.location),
            func.ST_Y(BuildingLedger.location),
            BuildingLedger.location_source,
        ).where(BuildingLedger.building_id == b.id)
    ).one()
    assert abs(lon - 120.13) < 1e-6 and abs(lat - 30.28) < 1e-6 and src == "EPSG:4549"
    ws.append(["反了楼", L.code(1), None, None, None, "30.28", "120.13"])
    before = counts(db)
    r = post(client, L.save(wb))
    assert r.status_code == 422
    e = next(e for e in r.json()["errors"] if e["code"] == "location_out_of_range")
    assert "填反" in e["message_zh"] and e["row"] == 3
    assert counts(db) == before
