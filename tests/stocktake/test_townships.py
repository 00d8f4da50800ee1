"""Township regions (乡镇、街道) from the shipped code file; scope ranges reach them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import Agency, Region
from backend.services.scope import Scope, adcode_range, adcode_ranges
from backend.stocktake import regions
from tests.stocktake import ledgers as L
from tests.stocktake.test_ledger_import import post


def test_townships_loaded_under_their_counties(db: Session) -> None:
    t = db.get(Region, 330106004)
    assert t is not None and t.level == "township" and t.parent_adcode == 330106
    n = db.scalar(select(Region.adcode).where(Region.level == "township").limit(1))
    assert n is not None
    assert regions.load_townships(db) == 0  # idempotent
    # only counties the register holds: nothing outside the demo province
    assert db.get(Region, 110101001) is None


def test_scope_ranges_keep_six_digit_behaviour_and_add_townships() -> None:
    assert adcode_range(330100) == (330100, 330199)  # unchanged
    assert adcode_ranges(330100) == [(330100, 330199), (330100000, 330199999)]
    s = Scope(regions=frozenset({330100}))
    assert s.allows_region(330106) and s.allows_region(330106004)
    assert not s.allows_region(330206001) and not s.allows_region(330200)
    t = Scope(regions=frozenset({330106004}))
    assert t.allows_region(330106004) and not t.allows_region(330106)


def test_township_agency_on_its_township_and_scope(
    client: Any, client_as: Any, db: Session
) -> None:
    rows = [
        ("西溪街道办事处", L.code(40), "乡", "330106004000", None, None, {7: 1}, {7: 1}),
        ("西湖区某局", L.code(41), "县级", 330106, None, None, {}, {}),
        ("挂在县上的乡镇", L.code(42), "乡级", 330106, None, None, {}, {}),
    ]
    r = post(client, L.workbook(agencies=rows, buildings=None, rooms=None, occupants=None))
    assert r.status_code == 201, r.json()["errors"]
    warnings = {(w["code"], w["row"]) for w in r.json()["warnings"]}
    assert ("township_agency_on_county", 7) in warnings
    a = db.scalars(select(Agency).where(Agency.credit_code == L.code(40))).one()
    assert a.region_adcode == 330106004 and a.level == "township"
    inside = client_as("planner", regions=[330100])
    outside = client_as("planner", regions=[330200])
    assert inside.get(f"/api/v1/agencies/{a.id}").status_code == 200
    assert outside.get(f"/api/v1/agencies/{a.id}").status_code == 404
    listed = inside.get("/api/v1/agencies", params={"q": "西溪街道", "limit": 50}).json()
    assert a.id in [f["id"] for f in listed["features"]]


def test_address_checked_against_declared_region(client: Any, db: Session) -> None:
    b = [
        ("错址楼", "浙江省杭州市上城区清波街道某路 1 号", L.code(1), None, None, None, None),
        ("对址楼", "杭州市西湖区西溪街道某路 2 号", L.code(1), None, None, None, None),
    ]
    r = post(client, L.workbook(buildings=b, rooms=None, occupants=None), dry_run=True)
    assert r.status_code == 200, r.json()["errors"]
    mismatches = [w for w in r.json()["warnings"] if w["code"] == "address_region_mismatch"]
    assert [w["row"] for w in mismatches] == [4]
    assert "上城区" in mismatches[0]["message_zh"] and mismatches[0]["column"] == "B"


def test_row_level_security_reaches_township_rows(client: Any, db: Session) -> None:
    """The app role's policies see a township agency and its ledger rows under the city."""
    from sqlalchemy import text

    from backend.accounts import users

    rows = [("西溪街道办事处", L.code(40), "乡", "330106004", None, None, {}, {})]
    assert (
        post(
            client, L.workbook(agencies=rows, buildings=None, rooms=None, occupants=None)
        ).status_code
        == 201
    )

    def visible(scope: Scope) -> int:
        db.execute(text("SET LOCAL ROLE officemap_app"))
        users.apply_database_scope(db, scope)
        n = db.execute(
            text("SELECT count(*) FROM agencies WHERE credit_code = :c"), {"c": L.code(40)}
        ).scalar_one()
        db.execute(text("RESET ROLE"))
        return int(n)

    assert visible(Scope(regions=frozenset({330100}))) == 1
    assert visible(Scope(regions=frozenset({330106004}))) == 1
    assert visible(Scope(regions=frozenset({330200}))) == 0
