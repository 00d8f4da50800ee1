"""Excel exports open and read back with openpyxl: Chinese headers, the rows of the register."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook
from sqlalchemy.orm import Session

from backend.compliance import service as compliance
from backend.exports.service import FINDING_HEADERS, REGISTER_HEADERS
from tests.backend.test_compliance import AS_OF, add_room, make_site, occupy


def _sheet(body: bytes) -> list[tuple[Any, ...]]:
    wb = load_workbook(io.BytesIO(body), read_only=True)
    ws = wb.worksheets[0]
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def test_register_xlsx(client: Any, db: Session) -> None:
    site = make_site(db)
    over = add_room(db, site, 20.0)
    occupy(db, over, site.agency, "section_head")
    shared = add_room(db, site, 18.0)
    occupy(db, shared, site.agency, "below_section")
    occupy(db, shared, site.agency, "below_section")
    add_room(db, site, 30.0, category="service", subcategory="service.meeting")
    compliance.evaluate_floor(db, site.floor.id, as_of=AS_OF)
    r = client.get("/api/v1/exports/register.xlsx", params={"building": site.building.id})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    rows = _sheet(r.content)
    assert list(rows[0]) == REGISTER_HEADERS
    assert rows[0][0] == "单位" and rows[0][8] == "使用面积(m²)"
    body = {row[5]: row for row in rows[1:]}
    assert set(body) == {over.number, shared.number, "102"}
    a = body[over.number]
    assert (a[0], a[1], a[3], a[4], a[6], a[8]) == (
        site.agency.name,
        "县级",
        "测试楼",
        "1F",
        "办公室用房",
        20.0,
    )
    assert (a[10], a[11]) == ("正科级", 18.0)
    assert "办公室面积超标" in a[12]
    s = body[shared.number]
    assert (s[8], s[10], s[11]) == (18.0, "科级以下、科级以下", 18.0)
    assert "办公室面积超标" not in s[12]
    meeting = body["102"]
    assert (meeting[6], meeting[9], meeting[11]) == ("服务用房", None, None)


def test_findings_xlsx(client: Any, db: Session) -> None:
    site = make_site(db)
    room = add_room(db, site, 19.5)
    occupy(db, room, site.agency, "section_head")
    compliance.evaluate_floor(db, site.floor.id, as_of=AS_OF)
    r = client.get(
        "/api/v1/exports/findings.xlsx",
        params={"building": site.building.id, "rule": "office_over_standard"},
    )
    assert r.status_code == 200, r.text
    rows = _sheet(r.content)
    assert list(rows[0]) == FINDING_HEADERS
    (row,) = rows[1:]
    assert row[1] == "办公室面积超标" and row[2] == "office_over_standard"
    assert (row[5], row[6], row[8]) == (site.agency.name, "测试楼", room.number)
    assert (row[10], row[11], row[12], row[13], row[14]) == (19.5, 18.0, "m²", 1.5, 8.33)
    assert row[15] == "cn-2014+demo-illustration" and row[17] == "待整改"
    everything = _sheet(client.get("/api/v1/exports/findings.xlsx").content)
    assert len(everything) > 100  # the demo province's findings


# text an editor or a file can set, which a spreadsheet would otherwise run or mangle
HOSTILE = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
    '=HYPERLINK("http://evil.example","点我")',
    "=cmd|' /C calc'!A0",
    "{{7*7}}",
    "<script>alert(1)</script>",
]


def _xml_cells(body: bytes) -> list[Any]:
    """The <c> elements of the first sheet, and a check that no cell holds a formula."""
    import zipfile
    from xml.etree import ElementTree

    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        sheet = next(n for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
        root = ElementTree.fromstring(z.read(sheet))
    assert root.findall(".//m:f", ns) == []  # no formula anywhere
    return root.findall(".//m:c", ns)


def _assert_text_cells(body: bytes, expected: set[str]) -> None:
    """Each hostile value is in a string cell, reads back exactly, and keeps its quote prefix."""
    _xml_cells(body)
    wb = load_workbook(io.BytesIO(body))
    cells = {c.value: c for row in wb.worksheets[0].iter_rows() for c in row}
    for value in expected:
        cell = cells.get(value)
        assert cell is not None, (value, sorted(str(v) for v in cells)[:50])
        assert cell.data_type == "s", value
        if value[:1] in "=+-@\t\r＝":
            assert cell.quotePrefix, value


def test_hostile_text_is_written_as_text_never_a_formula(client: Any, db: Session) -> None:
    """Names and numbers set through the API come out of both workbooks as text."""
    site = make_site(db)
    rooms = [add_room(db, site, 20.0 + k) for k in range(len(HOSTILE))]
    db.flush()
    for room, value in zip(rooms, HOSTILE, strict=True):
        tag = client.get(f"/api/v1/rooms/{room.id}").headers["ETag"]
        r = client.patch(
            f"/api/v1/rooms/{room.id}", json={"number": value}, headers={"If-Match": tag}
        )
        assert r.status_code == 200, r.text
        occ = client.post(
            "/api/v1/occupancies",
            json={
                "room_id": room.id,
                "agency_id": site.agency.id,
                "rank_code": "section_head",
                "start_date": "2020-01-01",
                "person_name": value,
                "person_id": f"X-{room.id}",  # an office needs the person's key
            },
        )
        assert occ.status_code == 201, occ.text
    tag = client.get(f"/api/v1/buildings/{site.building.id}").headers["ETag"]
    r = client.patch(
        f"/api/v1/buildings/{site.building.id}",
        json={"name": "=1+1 大楼"},
        headers={"If-Match": tag},
    )
    assert r.status_code == 200, r.text
    tag = client.get(f"/api/v1/floors/{site.floor.id}").headers["ETag"]
    r = client.patch(
        f"/api/v1/floors/{site.floor.id}", json={"name": "@1F"}, headers={"If-Match": tag}
    )
    assert r.status_code == 200, r.text
    site.agency.name = "-单位+1"
    db.flush()
    compliance.evaluate_floor(db, site.floor.id, as_of=AS_OF)

    register = client.get("/api/v1/exports/register.xlsx", params={"building": site.building.id})
    assert register.status_code == 200, register.text
    values = {v.strip() if v.startswith(("\t", "\r")) else v for v in HOSTILE}
    _assert_text_cells(register.content, {*values, "=1+1 大楼", "@1F", "-单位+1"})

    findings = client.get("/api/v1/exports/findings.xlsx", params={"building": site.building.id})
    assert findings.status_code == 200, findings.text
    _assert_text_cells(findings.content, {"=1+1 大楼", "@1F", "-单位+1", "=1+1"})


def test_csv_fields_are_neutralised() -> None:
    from backend.exports.workbook import csv_field

    for value in HOSTILE:
        out = csv_field(value)
        assert out.startswith("'") or not value.startswith(("=", "+", "-", "@", "\t", "\r", "＝"))
    assert csv_field("办公室 101") == "办公室 101" and csv_field(-3) == -3
