"""Agencies written through the API; campaigns from launch to verified; completeness."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import Agency, AuditEvent
from tests.stocktake import ledgers as L
from tests.stocktake.test_ledger_import import post


def _agency_body(n: int, **kw: Any) -> dict[str, Any]:
    return {
        "name": f"API测试单位{n}",
        "credit_code": L.code(100 + n),
        "level": "county",
        "region_adcode": 330106,
        **kw,
    }


def test_agency_create_then_update_with_if_match_and_audit(client: Any, db: Session) -> None:
    r = client.post(
        "/api/v1/agencies",
        json=_agency_body(
            1,
            approved_office_area_m2="500.00",
            staffing=[{"rank_code": "county_head", "quota": 1, "headcount": 1}],
        ),
    )
    assert r.status_code == 201, r.json()
    a = r.json()
    assert r.headers["ETag"] == '"1"' and a["staffing"][0]["rank_code"] == "county_head"
    url = f"/api/v1/agencies/{a['id']}"  # updates: the managing office's PATCH and PUT staffing
    body = {"approved_office_area_m2": "600.00"}
    assert client.patch(url, json=body).status_code == 428
    assert client.patch(url, json=body, headers={"If-Match": '"7"'}).status_code == 412
    r = client.patch(url, json=body, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.json()
    assert r.headers["ETag"] == '"2"'
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(a["id"]))))
    assert {"agency.create", "agency.update"} <= actions


def test_agency_bad_input(client: Any, db: Session) -> None:
    bad = _agency_body(2, credit_code=L.bad_checksum(L.code(102)))
    r = client.post("/api/v1/agencies", json=bad)
    assert r.status_code == 422 and r.json()["details"]["problem"] == "checksum"
    r = client.post(
        "/api/v1/agencies",
        json=_agency_body(3, staffing=[{"rank_code": "minister", "quota": 1, "headcount": 1}]),
    )
    assert r.status_code == 422  # not a county rank
    r = client.post("/api/v1/agencies", json=_agency_body(4, unknown_field=1))
    assert r.status_code == 422
    assert db.scalars(select(Agency).where(Agency.name.like("API测试单位%"))).first() is None


def test_reference_figures_only_by_admin_or_planner(client_as: Any, db: Session) -> None:
    county = db.scalars(select(Agency.id).where(Agency.level == "county")).first()
    officer = client_as("agency_officer", agencies=[county])
    body = _agency_body(6, region_adcode=330106, approved_office_area_m2="10.00")
    assert officer.post("/api/v1/agencies", json=body).status_code == 403  # the managing office
    planner_far = client_as("planner", regions=[330106])
    r = planner_far.post("/api/v1/agencies", json=_agency_body(7, approved_office_area_m2="10.00"))
    assert r.status_code == 201
    inspector = client_as("inspector", regions=[330000])
    assert inspector.post("/api/v1/agencies", json=_agency_body(8)).status_code == 403


def test_agency_out_of_scope_is_404(client_as: Any, db: Session) -> None:
    far = db.scalars(select(Agency.id).where(Agency.region_adcode.between(330200, 330299))).first()
    planner = client_as("planner", regions=[330100])
    r = planner.patch(
        f"/api/v1/agencies/{far}",
        json={"approved_office_area_m2": "1"},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 404
    r = planner.post("/api/v1/agencies", json=_agency_body(5, region_adcode=330203))
    assert r.status_code == 404


def _launch(client: Any) -> dict[str, Any]:
    r = client.post(
        "/api/v1/campaigns",
        json={"name": "2026年西湖区清查", "region_adcode": 330106, "deadline": "2026-12-31"},
    )
    assert r.status_code == 201, r.json()
    return r.json()


def test_campaign_launch_to_verified(client: Any, client_as: Any, db: Session) -> None:
    assert post(client, L.workbook()).status_code == 201
    c = _launch(client)
    agencies = client.get(f"/api/v1/campaigns/{c['id']}/agencies").json()
    mine = next(a for a in agencies if a["credit_code"] == L.code(1))
    assert mine["status"] == "not_started" and mine["status_zh"] == "未填报"
    aid = mine["agency_id"]
    officer = client_as("agency_officer", agencies=[aid])
    other_officer = client_as(
        "agency_officer", agencies=[next(a["agency_id"] for a in agencies if a["agency_id"] != aid)]
    )
    url = f"/api/v1/campaigns/{c['id']}/agencies/{aid}/status"
    # another agency's officer does not even see it
    assert (
        other_officer.post(
            url, json={"status": "submitted"}, headers={"If-Match": '"1"'}
        ).status_code
        == 404
    )
    # an officer cannot verify
    r = officer.post(url, json={"status": "in_progress"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["status_zh"] == "填报中"
    assert (
        officer.post(url, json={"status": "verified"}, headers={"If-Match": '"2"'}).status_code
        == 409
    )
    r = officer.post(url, json={"status": "submitted"}, headers={"If-Match": '"2"'})
    assert r.status_code == 200 and r.json()["signed_by"].startswith("test-agency_officer")
    planner = client_as("planner", regions=[330100])
    assert (
        officer.post(
            url, json={"status": "returned", "reason": "x"}, headers={"If-Match": '"3"'}
        ).status_code
        == 403
    )
    assert (
        planner.post(url, json={"status": "returned"}, headers={"If-Match": '"3"'}).status_code
        == 422
    )
    r = planner.post(
        url,
        json={"status": "returned", "reason": "房间面积与图纸不符"},
        headers={"If-Match": '"3"'},
    )
    assert r.status_code == 200 and r.json()["reason"] == "房间面积与图纸不符"
    r = officer.post(url, json={"status": "submitted"}, headers={"If-Match": '"4"'})
    assert r.status_code == 200 and r.json()["reason"] is None
    assert (
        planner.post(url, json={"status": "verified"}, headers={"If-Match": '"4"'}).status_code
        == 412
    )
    r = planner.post(url, json={"status": "verified"}, headers={"If-Match": '"5"'})
    assert r.status_code == 200 and r.json()["status_zh"] == "已核实"
    # the officer sees the campaign (through their agency) but only their agency in it
    seen = officer.get(f"/api/v1/campaigns/{c['id']}/agencies").json()
    assert [a["agency_id"] for a in seen] == [aid]
    comp = client.get(f"/api/v1/campaigns/{c['id']}/completeness", params={"region": 330106}).json()
    row = next(x for x in comp if x["agency_id"] == aid)
    assert row["status"] == "verified" and row["rooms_declared"] == 3 and row["buildings"] == 2
    assert row["buildings_located"] == 1 and "1 处房屋坐标" in row["owes"]
    x = client.get(f"/api/v1/campaigns/{c['id']}/completeness.xlsx")
    assert x.status_code == 200
    ws = load_workbook(io.BytesIO(x.content))["尚欠事项"]
    assert ws["A1"].value == "行政区划代码" and ws.max_row == len(comp) + 1
    layer = client.get(f"/api/v1/campaigns/{c['id']}/completeness/map").json()
    assert layer["type"] == "FeatureCollection" and layer["features"][0]["properties"][
        "colour"
    ].startswith("#")
    events = set(db.scalars(select(AuditEvent.action).where(AuditEvent.action.like("campaign.%"))))
    assert {
        "campaign.create",
        "campaign.submitted",
        "campaign.returned",
        "campaign.verified",
    } <= events


def test_campaign_roles_and_scope(client: Any, client_as: Any) -> None:
    body = {"name": "x", "region_adcode": 330106, "deadline": "2026-12-31"}
    assert (
        client_as("agency_officer", agencies=[24]).post("/api/v1/campaigns", json=body).status_code
        == 403
    )
    assert (
        client_as("leader", regions=[330000]).post("/api/v1/campaigns", json=body).status_code
        == 403
    )
    assert (
        client_as("planner", regions=[330200]).post("/api/v1/campaigns", json=body).status_code
        == 404
    )
    c = _launch(client)
    outsider = client_as("planner", regions=[330200])
    assert outsider.get(f"/api/v1/campaigns/{c['id']}").status_code == 404
    assert outsider.get(f"/api/v1/campaigns/{c['id']}/completeness").status_code == 404
    assert c["id"] not in [x["id"] for x in outsider.get("/api/v1/campaigns").json()]
    assert client.get("/api/v1/campaigns/999999/agencies").status_code == 404
