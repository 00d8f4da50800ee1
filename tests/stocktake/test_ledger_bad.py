"""Hostile and broken ledgers: each is refused or rejected with its reason, nothing stored."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy.orm import Session

from tests.stocktake import ledgers as L
from tests.stocktake.test_ledger_import import counts, post


def _rejected(client: Any, db: Session, data: bytes, code: str, **kw: Any) -> dict[str, Any]:
    before = counts(db)
    r = post(client, data, **kw)
    assert r.status_code == 422, r.json()
    body = r.json()
    assert body["code"] == "ledger_rejected" and body["status"] == "rejected"
    assert code in {e["code"] for e in body["errors"]}, body["errors"]
    assert counts(db) == before
    return body


def test_wrong_checksum(client: Any, db: Session) -> None:
    rows = [(*L.AGENCIES[0][:1], L.bad_checksum(L.code(1)), *L.AGENCIES[0][2:]), L.AGENCIES[1]]
    body = _rejected(client, db, L.workbook(agencies=rows), "credit_code_checksum")
    e = next(e for e in body["errors"] if e["code"] == "credit_code_checksum")
    assert (e["sheet"], e["row"], e["column"]) == ("单位", 5, "A")
    assert "校验位" in e["message_zh"]


def test_unknown_rank(client: Any, db: Session) -> None:
    occ = [
        *L.OCCUPANTS[:2],
        ("P009", "赵六", "队长", "大队长", "测试综合楼", 3, "301", "2024.3.1", "否"),
    ]
    body = _rejected(client, db, L.workbook(occupants=occ), "unknown_rank")
    e = next(e for e in body["errors"] if e["code"] == "unknown_rank")
    assert (e["sheet"], e["row"], e["column"]) == ("使用人", 6, "D")


def test_duplicate_room(client: Any, db: Session) -> None:
    rooms = [*L.ROOMS, ("测试综合楼", "3", "301", "会议室", "20", L.code(1))]
    body = _rejected(client, db, L.workbook(rooms=rooms), "duplicate_room")
    e = next(e for e in body["errors"] if e["code"] == "duplicate_room")
    assert e["row"] == 8 and e["sheet"] == "房间"


def test_unparsable_area(client: Any, db: Session) -> None:
    rooms = [*L.ROOMS[:3], ("测试附楼", "1", "102", "会议室", "约二十平方", L.code(1))]
    body = _rejected(client, db, L.workbook(rooms=rooms), "not_a_number")
    e = next(e for e in body["errors"] if e["code"] == "not_a_number")
    assert (e["row"], e["column"]) == (7, "A")


def test_formula_without_cached_value(client: Any, db: Session) -> None:
    rooms = [*L.ROOMS[:3], ("测试附楼", "1", "102", "会议室", "=A4*2", L.code(1))]
    body = _rejected(client, db, L.workbook(rooms=rooms), "formula_without_value")
    e = next(e for e in body["errors"] if e["code"] == "formula_without_value")
    assert (e["row"], e["column"]) == (7, "A")


def test_formula_with_cached_value_is_read(client: Any, db: Session) -> None:
    rooms = [*L.ROOMS[:3], ("测试附楼", "1", "102", "会议室", "=A4*2", L.code(1))]
    data = L.with_cached_values(L.workbook(rooms=rooms), {"A7": "37"})
    r = post(client, data, dry_run=True)
    assert r.status_code == 200, r.json()["errors"]


def test_unknown_agency_reference_and_region(client: Any, db: Session) -> None:
    rows = [L.AGENCIES[0], ("某局", L.code(7), "县级", 999999, None, None, {}, {})]
    body = _rejected(client, db, L.workbook(agencies=rows), "unknown_region")
    assert "unknown_agency" in {e["code"] for e in body["errors"]}  # 附楼 room of code(2)


def _zip(parts: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, body in parts.items():
            z.writestr(name, body)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("台账.xlsm", 415, "macro_or_binary_workbook"),
        ("台账.xls", 415, "macro_or_binary_workbook"),
        ("台账.ods", 415, "unsupported_format"),
    ],
)
def test_refused_by_extension(client: Any, db: Session, name: str, status: int, code: str) -> None:
    before = counts(db)
    r = post(client, L.workbook(), name=name)
    assert r.status_code == status and r.json()["details"]["code"] == code
    assert r.json()["message_zh"]
    assert counts(db) == before


def test_macro_parts_in_xlsx_refused(client: Any, db: Session) -> None:
    src = zipfile.ZipFile(io.BytesIO(L.workbook()))
    parts = {i.filename: src.read(i) for i in src.infolist()}
    parts["xl/vbaProject.bin"] = b"\x00" * 100
    r = post(client, _zip(parts))
    assert r.status_code == 415 and r.json()["details"]["code"] == "macro_workbook"


def test_encrypted_workbook_refused(client: Any, db: Session) -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4000  # an encrypted package is OLE
    r = post(client, ole)
    assert r.status_code == 415 and r.json()["details"]["code"] == "encrypted_workbook"


def test_zip_bomb_refused_before_parsing(client: Any, db: Session) -> None:
    src = zipfile.ZipFile(io.BytesIO(L.workbook()))
    parts = {i.filename: src.read(i) for i in src.infolist()}
    parts["xl/worksheets/sheet1.xml"] = b"<a>" + b" " * (60 * 2**20) + b"</a>"
    before = counts(db)
    r = post(client, _zip(parts))
    assert r.status_code == 413 and r.json()["details"]["code"] == "zip_bomb"
    assert counts(db) == before


def test_not_a_workbook(client: Any, db: Session) -> None:
    r = post(client, b"just text, not a zip")
    assert r.status_code == 415


def test_oversize_refused(client: Any, db: Session, monkeypatch: Any) -> None:
    from backend.settings import ledger_settings

    monkeypatch.setattr(ledger_settings(), "max_bytes", 1000)
    r = post(client, L.workbook())
    assert r.status_code == 413


def test_no_ledger_sheet(client: Any, db: Session) -> None:
    wb = Workbook()
    wb.active.append(["随便", "什么"])
    _rejected(client, db, L.save(wb), "no_ledger_sheet")


def test_text_with_markup_and_formula_prefix_is_data(client: Any, db: Session) -> None:
    from sqlalchemy import select

    from backend.db.models import Agency

    rows = [
        ("<script>alert(1)</script>{{7*7}}", L.code(1), "县级", 330106, None, None, {}, {}),
        ("=1+1", L.code(2), "县级", 330106, None, None, {}, {}),
    ]
    wb = Workbook()
    wb.remove(wb.active)
    L.agencies_sheet(wb, rows)
    wb["单位"]["B6"].data_type = "s"  # typed as text ('=1+1), not a formula
    r = post(client, L.save(wb))
    assert r.status_code == 201, r.json()["errors"]
    stored = set(
        db.scalars(select(Agency.name).where(Agency.credit_code.in_([L.code(1), L.code(2)])))
    )
    assert stored == {"<script>alert(1)</script>{{7*7}}", "=1+1"}
    # and exported as text, never a live formula
    body = client.get("/api/v1/exports/register.xlsx", params={"region": 330106}).content
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(body))["单位"]
    cells = [c for row in ws.iter_rows() for c in row if c.value == "=1+1"]
    assert cells and all(c.data_type == "s" for c in cells)
