"""The scope matrix on the newer surfaces: asset lifecycle (maintenance, disposals, titles,
leases), reallocation (space requests, plans, the asset pool, entitlement), supervision
(inspections, checks, the ledger, 问责, assessments), what-if scenarios, reconciliation and
the per-object history — every role × in/out of scope × list, by-id, history and write.

The world is ``test_scope_matrix``'s (agency B's building BB in city 1 holds rooms of
agency A; A's building BA in city 2 holds a room of B), with one record of each kind on
each building (or of each agency). What each caller may see is written out by hand.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from backend import timekeeping
from backend.audit import service as audit
from tests.api.test_scope_matrix import (
    CASES,
    MARK,
    MISSING,
    VIEWERS,
    World,
    client_for,
    masked,
    same_as_missing,
    world,  # noqa: F401 - the fixture
)

# building records are seen with the building seen whole (its region or managing agency)
WHOLE = {"officer_A": {"BA"}, "officer_B": {"BB"}, "region": {"BB"}}
# agency records (requests, plans): of a scoped agency or an agency in a scoped region
AGENCIES = {"officer_A": {"A"}, "officer_B": {"B"}, "region": {"B"}}
OF_BUILDING = {"BB": ("B", "county1"), "BA": ("A", "county2")}


@pytest.fixture
def records(world: World, db: Session) -> World:  # noqa: F811
    from backend.allocation.models import AllocationPlan, PoolEntry, SpaceRequest
    from backend.lifecycle.models import Disposal, MaintenanceRequest, Title

    w = world
    today = timekeeping.today()
    for bkey, (agency, county) in OF_BUILDING.items():
        common = {
            "building_id": w.ids[f"building:{bkey}"],
            "region_adcode": w.adcodes[county],
            "agency_id": w.ids[f"agency:{agency}"],
            "created_by": MARK,
        }
        rows = {
            "maintenance": MaintenanceRequest(**common, year=today.year, work=f"{MARK} work",
                                              status="requested"),
            "disposal": Disposal(**common, kind="sale", status="proposed"),
            "title": Title(**common, certificate_no=f"{MARK}-{bkey}", holder=f"{MARK}-holder",
                           certified_area_m2=Decimal("3600"), status="current"),
        }  # fmt: skip
        for kind, row in rows.items():
            db.add(row)
            db.flush()
            w.ids[f"{kind}:{bkey}"] = row.id
            audit.record(db, actor=MARK, action=f"{kind}.touch", object_type=kind, object_id=row.id)
    for agency, county in (("A", "county2"), ("B", "county1")):
        req = SpaceRequest(
            agency_id=w.ids[f"agency:{agency}"], region_adcode=w.adcodes[county],
            offices=[{"rank_code": "section_head", "count": 1}], rooms=[], releases=[],
            created_by=MARK, reason=f"{MARK} {{{{7*7}}}} </script> =1+1",
        )  # fmt: skip
        db.add(req)
        db.flush()
        plan = AllocationPlan(
            request_id=req.id, agency_id=req.agency_id, region_adcode=req.region_adcode,
            route="rent", assignments=[], releases=[], rehousing=[], area_m2=18,
            approved_by=MARK,
        )  # fmt: skip
        db.add(plan)
        db.flush()
        w.ids[f"space_request:{agency}"] = req.id
        w.ids[f"allocation_plan:{agency}"] = plan.id
    # the asset pool: B's idle office on BB's floor 3, A's idle office in BB (region: city 1)
    for key, agency in (("RB3a", "B"), ("RAidle", "A")):
        e = PoolEntry(
            room_id=w.ids[f"room:{key}"], region_adcode=w.adcodes["county1"],
            released_from_agency_id=w.ids[f"agency:{agency}"], released_on=today,
        )  # fmt: skip
        db.add(e)
        db.flush()
        w.ids[f"pool:{key}"] = e.id
    db.flush()
    return w


def same_as_missing_in_body(c: Any, method: str, url: str, id_: int, body: Any) -> Any:
    """A write naming the hidden object ``id_`` in its body answers like one naming none."""
    import json

    hidden = c.request(method, url, json=body)
    missing = c.request(
        method, url, json=json.loads(re.sub(rf"\b{id_}\b", str(MISSING), json.dumps(body)))
    )
    assert masked(hidden, id_) == masked(missing, MISSING), (method, url, hidden.text)
    assert MARK not in hidden.text
    return hidden


def _ids(body: Any) -> set[int]:
    items = body["items"] if isinstance(body, dict) else body
    return {int(x["id"]) for x in items}


def _world_keys(w: World, kind: str, got: set[int]) -> set[str]:
    return {k.split(":")[1] for k, i in w.ids.items() if k.startswith(kind + ":") and i in got}


BUILDING_RECORDS = {
    "maintenance": ("/api/v1/maintenance", "/api/v1/maintenance/{id}",
                    [("POST", "/api/v1/maintenance/{id}/reject", {"note": "x"}),
                     ("POST", "/api/v1/maintenance/{id}/approve",
                      {"approval_ref": "x", "contractor": "x", "cost_estimate_yuan": "1",
                       "planned_start": "2026-01-01", "planned_end": "2026-01-02"})]),
    "disposal": ("/api/v1/disposals", "/api/v1/disposals/{id}",
                 [("POST", "/api/v1/disposals/{id}/approve", {"approval_ref": "x"})]),
    "title": ("/api/v1/titles", "/api/v1/titles/{id}",
              [("POST", "/api/v1/titles/{id}/transfer",
                {"certificate_no": f"{MARK}-new", "certified_area_m2": "1", "holder": "x"})]),
}  # fmt: skip


@pytest.mark.parametrize(("viewer", "role"), CASES)
def test_building_records(viewer: str, role: str, client_as: Any, records: World) -> None:
    v, w = VIEWERS[viewer], records
    c = client_for(client_as, w, v, role)
    for kind, (lst, one, writes) in BUILDING_RECORDS.items():
        got = _ids(c.get(lst, params={"limit": 1000}).json())
        assert _world_keys(w, kind, got) == WHOLE[viewer], (kind, got)
        for bkey in ("BB", "BA"):
            id_ = w.ids[f"{kind}:{bkey}"]
            urls = [one.format(id=id_), one.format(id=id_) + "/history"]
            if bkey in WHOLE[viewer]:
                for url in urls:
                    assert c.get(url).status_code == 200, url
                continue
            for url in urls:
                assert same_as_missing(c, "GET", url, id_).status_code == 404
            for method, path, body in writes:
                for if_match in ('"1"', '"9"'):
                    r = same_as_missing(
                        c, method, path.format(id=id_), id_, json=body,
                        headers={"If-Match": if_match},
                    )  # fmt: skip
                    assert r.status_code in (403, 404), (path, r.text)
    # the yearly maintenance plan lists only buildings seen whole
    plan = c.get("/api/v1/maintenance/plan", params={"year": timekeeping.today().year})
    assert plan.status_code == 200, plan.text
    names = re.findall(rf"{MARK}-[乙甲]楼", plan.text)
    want = {"BB": f"{MARK}-乙楼", "BA": f"{MARK}-甲楼"}
    assert set(names) <= {want[b] for b in WHOLE[viewer]}


@pytest.mark.parametrize(("viewer", "role"), CASES)
def test_requests_plans_pool_and_entitlement(
    viewer: str, role: str, client_as: Any, records: World
) -> None:
    v, w = VIEWERS[viewer], records
    c = client_for(client_as, w, v, role)
    got = _ids(c.get("/api/v1/space-requests", params={"limit": 1000}).json())
    assert _world_keys(w, "space_request", got) == AGENCIES[viewer]
    for agency in ("A", "B"):
        rid, pid = w.ids[f"space_request:{agency}"], w.ids[f"allocation_plan:{agency}"]
        aid = w.ids[f"agency:{agency}"]
        if agency in AGENCIES[viewer]:
            r = c.get(f"/api/v1/space-requests/{rid}")
            assert r.status_code == 200
            assert r.json()["reason"].endswith("{{7*7}} </script> =1+1")  # stored as text
            assert c.get(f"/api/v1/allocation-plans/{pid}").status_code == 200
            continue
        same_as_missing(c, "GET", f"/api/v1/space-requests/{rid}", rid)
        same_as_missing(c, "GET", f"/api/v1/space-requests/{rid}/candidates", rid)
        same_as_missing(c, "GET", f"/api/v1/allocation-plans/{pid}", pid)
        for if_match in ('"1"', '"9"'):
            same_as_missing(c, "POST", f"/api/v1/allocation-plans/{pid}/execute", pid,
                            headers={"If-Match": if_match})  # fmt: skip
        same_as_missing_in_body(
            c, "POST", "/api/v1/allocation-plans", rid,
            {"request_id": rid, "route": "rent", "area_m2": 1},
        )  # fmt: skip
        if f"agency:{agency}" not in v.sees:
            same_as_missing(c, "GET", f"/api/v1/agencies/{aid}/entitlement", aid)
            same_as_missing_in_body(
                c, "POST", "/api/v1/space-requests", aid,
                {"agency_id": aid, "offices": [{"rank_code": "section_head", "count": 1}]},
            )  # fmt: skip
    pool = c.get("/api/v1/asset-pool", params={"limit": 1000})
    assert pool.status_code == 200
    items = [
        x for x in pool.json()["items"] if x["id"] in {w.ids["pool:RB3a"], w.ids["pool:RAidle"]}
    ]
    # in a scoped region (city 1 holds both), or released by a scoped agency
    want = {
        "officer_A": {"RAidle"},
        "officer_B": {"RB3a"},
        "region": {"RB3a", "RAidle"},
    }[viewer]
    assert _world_keys(w, "pool", {x["id"] for x in items}) == want
    assert pool.json()["numberMatched"] >= len(items)


def test_matching_uses_only_space_in_scope(client_as: Any, records: World) -> None:
    """Province-wide matching by a region planner: the requests and the vacant rooms of
    other regions are not considered, and nothing outside the scope is named."""
    w = records
    c = client_as("planner", regions=[w.adcodes["city1"]])
    r = c.post("/api/v1/allocation-matchings", json={})
    assert r.status_code == 200, r.text
    body = r.json()
    mine = {x["request_id"] for x in body["matched"]} | set(body["unmatched"])
    assert w.ids["space_request:A"] not in mine
    hidden = {w.ids["building:BA"]}
    assert not ({x["building_id"] for x in body["matched"]} & hidden)
    # a hidden request named explicitly answers like a missing one
    hidden_request = w.ids["space_request:A"]
    same_as_missing_in_body(
        c, "POST", "/api/v1/allocation-matchings", hidden_request,
        {"request_ids": [hidden_request]},
    )  # fmt: skip


LEASES = {
    # L1: A's room RA (in BB) lent; L2: A's whole building BA rented out
    "officer_A": {"L1", "L2"},
    "officer_B": set(),
    "region": {"L1"},
}


@pytest.mark.parametrize(("viewer", "role"), CASES)
def test_leases(viewer: str, role: str, client_as: Any, records: World) -> None:
    v, w = VIEWERS[viewer], records
    c = client_for(client_as, w, v, role)
    got = _ids(c.get("/api/v1/leases", params={"limit": 1000}).json())
    assert _world_keys(w, "lease", got) == LEASES[viewer]
    for key in ("L1", "L2"):
        id_ = w.ids[f"lease:{key}"]
        if key in LEASES[viewer]:
            continue
        for url in (f"/api/v1/leases/{id_}", f"/api/v1/leases/{id_}/history",
                    f"/api/v1/history/lease/{id_}"):  # fmt: skip
            same_as_missing(c, "GET", url, id_)
        for if_match in ('"1"', '"9"'):
            h = {"If-Match": if_match}
            same_as_missing(c, "PATCH", f"/api/v1/leases/{id_}", id_, json={"note": "x"}, headers=h)
            same_as_missing(c, "POST", f"/api/v1/leases/{id_}/approve", id_,
                            json={"approval_ref": "x"}, headers=h)  # fmt: skip
            same_as_missing(c, "POST", f"/api/v1/leases/{id_}/end", id_, json={}, headers=h)


@pytest.mark.parametrize(("viewer", "role"), CASES)
def test_object_history(viewer: str, role: str, client_as: Any, records: World) -> None:
    """``/history/{kind}/{id}``: a hidden object's history answers like a missing one's."""
    v, w = VIEWERS[viewer], records
    c = client_for(client_as, w, v, role)
    for key, id_ in w.ids.items():
        kind = key.split(":")[0]
        if kind not in ("building", "floor", "room", "occupancy", "agency"):
            continue
        url = f"/api/v1/history/{kind}/{id_}"
        if key in v.sees:
            r = c.get(url)
            assert r.status_code == 200, (url, r.text)
        else:
            same_as_missing(c, "GET", url, id_)


SUP = {"officer_A": {"BA"}, "officer_B": {"BB"}, "region": {"BB"}}


@pytest.mark.parametrize(("viewer", "role"), [c for c in CASES if c[1] in ("inspector",
                                              "agency_officer", "planner", "leader")])  # fmt: skip
def test_supervision_records(viewer: str, role: str, client_as: Any, records: World,
                             db: Session) -> None:  # fmt: skip
    v, w = VIEWERS[viewer], records
    supervise(w, db)
    c = client_for(client_as, w, v, role)
    want = SUP[viewer]
    checks = {
        "inspection": ("/api/v1/inspections", "/api/v1/inspections/{id}", ("admin", "inspector", "leader")),
        "rectification": ("/api/v1/rectifications", None, ("admin", "inspector", "leader", "agency_officer", "planner")),
        "accountability": ("/api/v1/accountability", "/api/v1/accountability/{id}", ("admin", "inspector", "leader")),
    }  # fmt: skip
    for kind, (lst, one, readers) in checks.items():
        r = c.get(lst, params={"limit": 1000})
        if role not in readers:
            assert r.status_code == 403, (kind, r.text)
            continue
        assert r.status_code == 200, (kind, r.text)
        got = _ids(r.json())
        assert _world_keys(w, kind, got) == want, (kind, got)
        if one:
            for b in {"BB", "BA"} - want:
                id_ = w.ids[f"{kind}:{b}"]
                same_as_missing(c, "GET", one.format(id=id_), id_)
    if role in ("admin", "inspector", "leader"):
        for b in {"BB", "BA"} - want:
            i = w.ids[f"inspection:{b}"]
            same_as_missing(c, "GET", f"/api/v1/inspections/{i}/checks", i)
    # assessments by agency name only agencies the caller may see
    r = c.get("/api/v1/assessments", params={"level": "agency"})
    if r.status_code == 200:
        hidden = {n for k, n in (("agency:A", f"{MARK}-甲单位"), ("agency:B", f"{MARK}-乙单位"))
                  if k not in v.sees}  # fmt: skip
        for u in r.json()["units"]:
            assert u["name"] not in hidden, u
            if u["key"] in (w.ids["agency:A"], w.ids["agency:B"]):
                assert f"agency:{'A' if u['key'] == w.ids['agency:A'] else 'B'}" in v.sees, u


def supervise(w: World, db: Session) -> None:
    """An inspection organised in each county, a check, a ledger item and a 问责 record per
    building (OF_BUILDING); their ids in ``w.ids`` as ``<kind>:<building>``."""
    from backend.supervision.models import (
        AccountabilityRecord,
        Inspection,
        InspectionCheck,
        Rectification,
    )

    today = timekeeping.today()
    for bkey, (agency, county) in OF_BUILDING.items():
        i = Inspection(
            kind="annual", title=f"{MARK}-检查{bkey}", region_adcode=w.adcodes[county],
            scope_agencies=[w.ids[f"agency:{agency}"]], starts_on=today, ends_on=today, created_by=MARK,
        )  # fmt: skip
        db.add(i)
        db.flush()
        chk = InspectionCheck(
            inspection_id=i.id, building_id=w.ids[f"building:{bkey}"],
            region_adcode=w.adcodes[county], agency_id=w.ids[f"agency:{agency}"],
            checked_on=today, inspector=MARK, outcome="confirmed",
        )  # fmt: skip
        db.add(chk)
        # a finding of the building's own agency: B's over-standard office RB1 in BB,
        # A's unapproved rent of its whole building BA (lease L2)
        finding = next(
            fid
            for fid, (_rule, _kind, key, _b) in w.findings.items()
            if key == {"BB": "room:RB1", "BA": "lease:L2"}[bkey]
        )
        rect = Rectification(
            finding_id=finding, problem=f"{MARK} problem", responsible_agency_id=w.ids[f"agency:{agency}"],
            responsible_person="x", deadline=today, region_adcode=w.adcodes[county],
            agency_id=w.ids[f"agency:{agency}"], building_id=w.ids[f"building:{bkey}"], created_by=MARK,
        )  # fmt: skip
        acc = AccountabilityRecord(
            person_name=f"{MARK}-p", agency_id=w.ids[f"agency:{agency}"],
            region_adcode=w.adcodes[county], finding_ids=[finding], measure="talk",
            decided_on=today, issuing_body="x", created_by=MARK,
        )  # fmt: skip
        db.add_all([rect, acc])
        db.flush()
        for kind, obj in (("inspection", i), ("inspection_check", chk), ("rectification", rect),
                          ("accountability", acc)):  # fmt: skip
            w.ids[f"{kind}:{bkey}"] = obj.id
    db.flush()


# ----------------------------------------------------------------------------- what-if
def test_scenarios_of_a_wider_scope_are_not_listed(client_as: Any, client: Any) -> None:
    """A province-wide scenario's figures (counts of findings over the whole province) were
    listed to every signed-in caller, an agency officer included."""
    r = client.post("/api/v1/whatif/scenarios", json={"name": f"{MARK} province"})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    for role, kw in (
        ("agency_officer", {"agencies": [1]}),
        ("planner", {"regions": [330100]}),
        ("leader", {"regions": [330100]}),
    ):
        c = client_as(role, **kw)
        listed = c.get("/api/v1/whatif/scenarios").json()
        assert sid not in {s["id"] for s in listed}, role
        same_as_missing(c, "GET", f"/api/v1/whatif/scenarios/{sid}", sid)
        same_as_missing(c, "GET", f"/api/v1/whatif/scenarios/{sid}/export.xlsx", sid)
    # a caller whose scope covers the scenario's sees it
    assert sid in {s["id"] for s in client.get("/api/v1/whatif/scenarios").json()}


# ----------------------------------------------------------------------------- reconciliation
@pytest.mark.parametrize(("viewer", "role"), CASES)
def test_reconciliation(viewer: str, role: str, client_as: Any, records: World) -> None:
    """账账/账证 mismatches name only objects the caller may see; the Excel too."""
    v, w = VIEWERS[viewer], records
    c = client_for(client_as, w, v, role)
    r = c.get("/api/v1/reconciliation")
    assert r.status_code == 200, r.text
    body = r.json()
    hidden_names = {
        n
        for k, n in (
            ("agency:A", f"{MARK}-甲单位"),
            ("agency:B", f"{MARK}-乙单位"),
            ("building:BB", f"{MARK}-乙楼"),
            ("building:BA", f"{MARK}-甲楼"),
        )
        if k not in v.sees
    }
    text = r.text
    for n in hidden_names:
        assert n not in text, n
    titles = {m["object_id"] for m in body["mismatches"] if m["object_type"] == "title"}
    for b in ("BB", "BA"):
        if b not in WHOLE[viewer]:
            assert w.ids[f"title:{b}"] not in titles
    x = c.get("/api/v1/reconciliation", params={"format": "xlsx"})
    if x.status_code == 200 and x.headers["content-type"].startswith("application/vnd"):
        ws = load_workbook(io.BytesIO(x.content), read_only=True).worksheets[0]
        cells = {str(val) for row in ws.iter_rows(values_only=True) for val in row if val}
        assert not any(n in cell for n in hidden_names for cell in cells)
