"""Attacking the scope: the residual leaks of issue 9 and the newer surfaces.

Built on the interleaved world of ``test_scope_matrix`` (agency B's building BB holds rooms
of agency A; A's building BA holds a room of B; a region caller whose city holds BB only).
Each test drives a path the way an attacker would and checks that nothing outside the
caller's scope shows: not in a list, a by-id read, a figure's breakdown, a group's name, a
tile's geometry, an export's cells, the audit trail or an error's body.

Decisions written down here (and in ``backend/services/scope.py``):
- a person's "multiple offices" finding is visible with its person (the main agency) or
  with the office it is placed on; its figures (number of offices, excess m²) are the
  person's, but its list of offices names only rooms the caller may see — the others stay
  in the list as ``{"hidden": true}`` so the count still agrees. Its room / floor / building
  are shown (and drawn on the map) only when the caller may see them.
- a building seen only because it houses one of the caller's rooms shows the floors that
  hold such a room (outline, level, storey: what draws the room in its place), not its
  other floors.
- roll-ups grouped by agency or building name only groups the caller may see; findings of
  the others are counted under one group with ``key`` null (其他 / others).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend import timekeeping
from backend.audit import service as audit
from backend.compliance import service as compliance
from backend.db.compliance import ComplianceFinding
from backend.db.models import Occupancy
from backend.maps import tiles
from tests.api.test_scope_matrix import (
    CASES,
    MARK,
    MISSING,
    VIEWERS,
    World,
    all_findings,
    client_for,
    decode,
    masked,
    same_as_missing,
    tile_xy,
    world,  # noqa: F401 - the fixture
)

Z = 16


# ----------------------------------------------------------------------------- the world, plus
@pytest.fixture
def people(world: World, db: Session) -> Iterator[World]:  # noqa: F811
    """Two people with an office in each of two scopes (the "multiple offices" rule):
    A's section head MARK-RA2 also holds RAidle (A's room in B's building BB), and B's
    section head MARK-RB1 also holds RA2 (A's room in A's building BA)."""
    w = world
    for person, agency, room in (("RA2", "A", "RAidle"), ("RB1", "B", "RA2")):
        o = Occupancy(
            room_id=w.ids[f"room:{room}"],
            agency_id=w.ids[f"agency:{agency}"],
            person_name=f"{MARK}-{person}",
            person_id=f"{MARK}-{person}",
            rank_code="section_head",
            start_date=dt.date(2021, 1, 1),
        )
        db.add(o)
        db.flush()
        w.ids[f"occupancy:{person}x"] = o.id
    floors = [i for k, i in w.ids.items() if k.startswith("floor:")]
    compliance.evaluate(db, compliance.target_for_floors(db, floors), as_of=timekeeping.today())
    for f in db.scalars(
        select(ComplianceFinding).where(
            ComplianceFinding.rule_code == "multiple_offices",
            ComplianceFinding.object_id.in_([f"{MARK}-RA2", f"{MARK}-RB1"]),
            ComplianceFinding.status != "closed",
        )
    ):
        w.ids[f"person:{f.object_id.removeprefix(MARK + '-')}"] = f.id
    assert {"person:RA2", "person:RB1"} <= set(w.ids), w.ids
    tiles.invalidate()
    yield w
    tiles.invalidate()


# who sees which person finding (by the main agency or by the office it is placed on)
PERSONS_SEEN = {
    "officer_A": {"RA2"},  # A's person
    "officer_B": {"RB1"},  # B's person (placed on RA2, which B may not see)
    "region": {"RA2"},  # placed on RAidle in BB
}
# B's person placed on A's room RA2: the first wall shows it to A's officer (the office it
# names is A's); the second wall's coarser policy (the finding's region or agency) does not
PERSONS_MAY = {"officer_A": {"RB1"}, "officer_B": set(), "region": set()}


def _visible(v: Any, prefix: str, w: World) -> set[int]:
    return {w.ids[k] for k in v.sees if k.startswith(prefix)}


def _exposed_rooms(f: dict[str, Any]) -> set[int]:
    d = f.get("details") or {}
    out = {f.get("room_id"), d.get("main_room_id")}
    out |= {o.get("room_id") for o in d.get("offices", [])}
    return {int(x) for x in out if x is not None}


@pytest.mark.parametrize(("viewer", "role"), CASES)
def test_multiple_offices_finding_names_only_visible_offices(
    viewer: str, role: str, client_as: Any, people: World, db: Session
) -> None:
    """Residual leak of issue 9: the finding listed the person's offices in other scopes
    (room and agency ids, areas) and was drawn on a room the caller may not see."""
    v, w = VIEWERS[viewer], people
    c = client_for(client_as, w, v, role)
    rooms = _visible(v, "room:", w)
    floors = _visible(v, "floor:", w)
    buildings = _visible(v, "building:", w)
    person_findings = {k.split(":")[1]: i for k, i in w.ids.items() if k.startswith("person:")}
    listed = {f["id"]: f for f in all_findings(c, rule="multiple_offices")}
    seen = {p for p, fid in person_findings.items() if fid in listed}
    assert PERSONS_SEEN[viewer] <= seen <= PERSONS_SEEN[viewer] | PERSONS_MAY[viewer]
    for p in seen:
        fid = person_findings[p]
        for f in (listed[fid], c.get(f"/api/v1/compliance/findings/{fid}").json()):
            assert _exposed_rooms(f) <= rooms, (p, f)
            assert f["floor_id"] is None or f["floor_id"] in floors, (p, f)
            assert f["building_id"] is None or f["building_id"] in buildings, (p, f)
            offices = f["details"]["offices"]
            assert len(offices) == f["measured"] == 2  # the count is the person's
            for o in offices:
                if o.get("hidden"):
                    assert set(o) == {"hidden"}, o
                else:
                    assert o["room_id"] in rooms
    for p, fid in person_findings.items():
        if p not in seen:
            same_as_missing(c, "GET", f"/api/v1/compliance/findings/{fid}", fid)
    # the map draws a person finding only on a room the caller may see
    real_room = dict(
        db.execute(
            select(ComplianceFinding.id, ComplianceFinding.room_id).where(
                ComplianceFinding.id.in_(list(person_findings.values()))
            )
        ).all()
    )
    for lon, lat in w.origin.values():
        x, y = tile_xy(lon, lat)
        for z, xx, yy in ((Z, x, y), (12, x >> 4, y >> 4)):
            r = c.get(f"/tiles/compliance/{z}/{xx}/{yy}.pbf")
            feats = decode(r.content).get("compliance", {"features": []})["features"]
            for feat in feats:
                fid = int(feat["id"])
                if fid in person_findings.values():
                    assert real_room[fid] in rooms, (z, fid, feat["properties"])
                room = feat["properties"].get("room_id")
                if fid in person_findings.values() and room is not None:
                    assert int(room) in rooms, (z, fid, room)
    # the findings export names no hidden room, floor or building
    for b in (w.ids["building:BB"], w.ids["building:BA"]):
        r = c.get("/api/v1/exports/findings.xlsx", params={"rule": "multiple_offices"})
        assert r.status_code == 200, r.text
        hidden_names = {
            f"{MARK}-{k.split(':')[1]}" for k in w.ids if k.startswith("room:") and k not in v.sees
        }
        # columns: agency, building, floor, room number (object_id is the person's key)
        cells = {str(x) for row in _sheet(r.content) for x in row[5:9] if x is not None}
        assert not (cells & hidden_names), (b, cells & hidden_names)
        hidden_buildings = {
            n for k, n in (("building:BB", f"{MARK}-乙楼"), ("building:BA", f"{MARK}-甲楼"))
            if k not in v.sees
        }  # fmt: skip
        assert not (cells & hidden_buildings)


def _sheet(body: bytes) -> list[tuple[Any, ...]]:
    ws = load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
    return [tuple(r) for r in ws.iter_rows(values_only=True)][1:]


@pytest.mark.parametrize(("viewer", "role"), CASES)
def test_multiple_offices_in_the_ogc_findings_collection(
    viewer: str, role: str, client_as: Any, people: World
) -> None:
    """The OGC findings collection places a finding on its room: never a hidden one, and
    its room / floor / building properties name only what the caller may see."""
    v, w = VIEWERS[viewer], people
    c = client_for(client_as, w, v, role)
    rooms = _visible(v, "room:", w)
    floors = _visible(v, "floor:", w)
    buildings = _visible(v, "building:", w)
    r = c.get(
        "/ogc/collections/findings/items",
        params={"limit": 10000, "filter": "rule_code='multiple_offices'"},
    )
    assert r.status_code == 200, r.text
    persons = {i for k, i in w.ids.items() if k.startswith("person:")}
    for feat in r.json()["features"]:
        if int(feat["id"]) not in persons:
            continue
        p = feat["properties"]
        assert p["room_id"] is None or p["room_id"] in rooms, p
        assert p["floor_id"] is None or p["floor_id"] in floors, p
        assert p["building_id"] is None or p["building_id"] in buildings, p


# ----------------------------------------------------------------------------- roll-ups
@pytest.mark.parametrize(("viewer", "role"), CASES)
def test_compliance_summary_names_only_visible_groups(
    viewer: str, role: str, client_as: Any, people: World
) -> None:
    """Residual leak of issue 9: the summary grouped by agency named an agency the caller
    may not see (the region caller sees A's rooms in BB, not agency A)."""
    v, w = VIEWERS[viewer], people
    c = client_for(client_as, w, v, role)
    live = [f for f in all_findings(c) if f["status"] in ("open", "rectifying")]
    for level, kind in (("agency", "agency:"), ("building", "building:")):
        r = c.get("/api/v1/compliance/summary", params={"level": level})
        assert r.status_code == 200, r.text
        groups = r.json()["groups"]
        world_ids = {i for k, i in w.ids.items() if k.startswith(kind)}
        visible = _visible(v, kind, w)
        for g in groups:
            if g["key"] in world_ids:
                assert g["key"] in visible, (level, g)
            if g["key"] is None:
                assert g["name"] in ("其他", None), g
            elif g["key"] in world_ids and g["key"] not in visible:
                raise AssertionError((level, g))
        named = {g["name"] for g in groups if g["key"] in world_ids}
        hidden = {f"{MARK}-乙单位", f"{MARK}-甲单位", f"{MARK}-乙楼", f"{MARK}-甲楼"}
        hidden -= {
            n
            for k, n in (
                ("agency:B", f"{MARK}-乙单位"),
                ("agency:A", f"{MARK}-甲单位"),
                ("building:BB", f"{MARK}-乙楼"),
                ("building:BA", f"{MARK}-甲楼"),
            )
            if k in v.sees
        }
        assert not (named & hidden), (level, named & hidden)
        assert not any(g["name"] in hidden for g in groups), level
        # the groups still add up to the list (nothing dropped, only not named)
        field = "agency_id" if level == "agency" else "building_id"
        if len(groups) < 500:
            total = sum(g["open_or_rectifying"] for g in groups)
            assert total == len([f for f in live if f[field] is not None]), level


# ----------------------------------------------------------------------------- floors
def test_building_seen_through_one_room_shows_only_that_floor(
    client_as: Any,
    world: World,  # noqa: F811
) -> None:
    """Residual leak of issue 9: A's officer, who has rooms on BB's floor 2 only, saw BB's
    floors 1 and 3 (outlines, building areas, plan hashes)."""
    w = world
    v = VIEWERS["officer_A"]
    c = client_for(client_as, w, v, "agency_officer")
    bb = w.ids["building:BB"]
    listed = {f["id"] for f in c.get(f"/api/v1/buildings/{bb}/floors").json()["features"]}
    assert listed == {w.ids["floor:BB2"]}
    listed = {f["id"] for f in c.get(f"/api/v1/floors?building={bb}").json()["features"]}
    assert listed == {w.ids["floor:BB2"]}
    for level in (1, 3):
        fid = w.ids[f"floor:BB{level}"]
        for url in (
            f"/api/v1/floors/{fid}",
            f"/api/v1/floors/{fid}?as_of={timekeeping.today().isoformat()}",
            f"/api/v1/map/floors/{fid}/rooms",
        ):
            same_as_missing(c, "GET", url, fid)
    # the building page lists only floor 2
    page = c.get(f"/map/buildings/{bb}")
    assert page.status_code == 200
    for level in (1, 3):
        assert f'"id": {w.ids[f"floor:BB{level}"]},' not in page.text.replace("&#34;", '"')
    # the OGC floors collection
    r = c.get(
        "/ogc/collections/floors/items", params={"limit": 10000, "filter": f"building_id={bb}"}
    )
    assert r.status_code == 200, r.text
    assert {int(f["id"]) for f in r.json()["features"]} == {w.ids["floor:BB2"]}
    # B's officer, who manages BB, sees all three
    cb = client_for(client_as, w, VIEWERS["officer_B"], "agency_officer")
    listed = {f["id"] for f in cb.get(f"/api/v1/buildings/{bb}/floors").json()["features"]}
    assert listed == {w.ids[f"floor:BB{lv}"] for lv in (1, 2, 3)}


# ----------------------------------------------------------------------------- audit
SUPERVISION_KINDS = ("inspection", "inspection_check", "rectification", "accountability")


@pytest.fixture
def supervised(world: World, db: Session) -> World:  # noqa: F811
    """An inspection organised in each county, a check, a ledger item and a 问责 record per
    building, and an audit event about each."""
    from tests.api.test_scope_surfaces import OF_BUILDING, supervise

    w = world
    supervise(w, db)
    for bkey in OF_BUILDING:
        for kind in SUPERVISION_KINDS:
            audit.record(db, actor=MARK, action=f"{kind}.touch", object_type=kind,
                         object_id=w.ids[f"{kind}:{bkey}"])  # fmt: skip
    db.flush()
    return w


# which supervision rows each caller may see: the region caller sees what is in city1
# (BB's); an agency caller the rows naming their agency
SUPERVISION_SEEN = {
    "officer_A": {"BA"},
    "officer_B": {"BB"},
    "region": {"BB"},
}


@pytest.mark.parametrize(("viewer", "role"), [c for c in CASES if c[1] == "inspector"])
def test_audit_events_of_supervision_records_follow_the_record(
    viewer: str, role: str, client_as: Any, supervised: World
) -> None:
    """Residual leak of issue 9 (the other way round): events about inspections, checks,
    ledger items and 问责 were visible to admins only; an inspector sees those of the
    records they may see, and a hidden record's events answer like a missing one's."""
    v, w = VIEWERS[viewer], supervised
    c = client_for(client_as, w, v, role)
    for kind in SUPERVISION_KINDS:
        got = {
            e["object_id"]
            for e in c.get(f"/api/v1/audit?actor={MARK}&object_type={kind}&limit=1000").json()[
                "items"
            ]
        }
        want = {str(w.ids[f"{kind}:{b}"]) for b in SUPERVISION_SEEN[viewer]}
        assert got == want, (kind, got, want)
        for b in {"BB", "BA"} - SUPERVISION_SEEN[viewer]:
            id_ = w.ids[f"{kind}:{b}"]
            same_as_missing(c, "GET", f"/api/v1/audit?object_type={kind}&object_id={id_}", id_)


# ----------------------------------------------------------------------------- allocation
def test_a_plan_shows_the_requester_no_other_agencys_people(
    client_as: Any,
    world: World,  # noqa: F811
    db: Session,
) -> None:
    """置换 plans name the other agency's people who move (occupancy, rank, rooms): the
    managing office sees them; the requesting agency's officer sees only the rooms it gets
    and gives, and how many people of the other agency move — not who they are."""
    from backend.allocation.models import AllocationPlan, SpaceRequest

    w = world
    a, b = w.ids["agency:A"], w.ids["agency:B"]
    req = SpaceRequest(agency_id=a, region_adcode=w.adcodes["county2"], offices=[
        {"rank_code": "section_head", "count": 1}], rooms=[], releases=[w.ids["room:RA2"]],
        created_by=MARK)  # fmt: skip
    db.add(req)
    db.flush()
    occ = w.ids["occupancy:RBA"]
    plan = AllocationPlan(
        request_id=req.id, agency_id=a, region_adcode=w.adcodes["county2"], route="swap",
        assignments=[{"room_id": w.ids["room:RBA"], "rank_code": "section_head"}],
        releases=[w.ids["room:RA2"]],
        rehousing=[{"occupancy_id": occ, "agency_id": b, "rank_code": "section_head",
                    "from_room_id": w.ids["room:RBA"], "to_room_id": w.ids["room:RA2"]}],
        area_m2=25, approved_by=MARK,
    )  # fmt: skip
    db.add(plan)
    db.flush()
    officer = client_for(client_as, w, VIEWERS["officer_A"], "agency_officer")
    r = officer.get(f"/api/v1/allocation-plans/{plan.id}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["assignments"] == [{"room_id": w.ids["room:RBA"], "rank_code": "section_head",
                                    "post_title": None, "subcategory": None}]  # fmt: skip
    assert str(occ) not in r.text.replace(str(plan.id), "")
    assert body["rehousing"] == []
    assert body["people_rehoused_hidden"] == 1
    # the managing office sees who moves
    planner = client_as("planner", regions=[w.adcodes["county2"]])
    full = planner.get(f"/api/v1/allocation-plans/{plan.id}").json()
    assert [x["occupancy_id"] for x in full["rehousing"]] == [occ]
    assert full["people_rehoused_hidden"] == 0
    # B's officer (the other agency) does not see A's plan at all
    ob = client_for(client_as, w, VIEWERS["officer_B"], "agency_officer")
    same_as_missing(ob, "GET", f"/api/v1/allocation-plans/{plan.id}", plan.id)


# ----------------------------------------------------------------------------- writes
@pytest.mark.parametrize("role", ["surveyor", "planner"])
def test_a_building_seen_through_one_room_is_not_theirs_to_edit(
    role: str,
    client_as: Any,
    world: World,  # noqa: F811
    db: Session,
) -> None:
    """An editor scoped to agency A sees B's building BB through A's rooms in it. Seeing is
    not managing: renaming BB, handing it to A (then seen whole), changing its floors'
    storey heights or re-surveying its floor 2 (replacing B's rooms there) answer like
    for a missing building or floor, and nothing changes. A's own building BA is theirs."""
    w = world
    c = client_as(role, agencies=[w.ids["agency:A"]])
    bb, ba = w.ids["building:BB"], w.ids["building:BA"]
    before = db.execute(
        text("SELECT name, agency_id, version FROM buildings WHERE id = :b"), {"b": bb}
    ).one()
    for body in ({"name": f"{MARK}-x"}, {"agency_id": w.ids["agency:A"]}):
        same_as_missing(
            c, "PATCH", f"/api/v1/buildings/{bb}", bb, json=body, headers={"If-Match": '"1"'}
        )
    floor = w.ids["floor:BB2"]  # holds A's rooms: A's officer sees it, it is still B's
    same_as_missing(
        c, "PATCH", f"/api/v1/floors/{floor}", floor,
        json={"storey_height_m": "2.0"}, headers={"If-Match": '"1"'},
    )  # fmt: skip
    for dry in ("false", "true"):
        hidden = c.post(
            f"/api/v1/buildings/{bb}/floors/2/plan",
            files={"file": ("plan.geojson", b'{"type": "FeatureCollection", "features": []}')},
            data={"dry_run": dry},
            headers={"If-Match": '"1"'},
        )
        missing = c.post(
            f"/api/v1/buildings/{MISSING}/floors/2/plan",
            files={"file": ("plan.geojson", b'{"type": "FeatureCollection", "features": []}')},
            data={"dry_run": dry},
            headers={"If-Match": '"1"'},
        )
        assert masked(hidden, bb) == masked(missing, MISSING), (dry, hidden.text)
        assert hidden.status_code in (403, 404), (dry, hidden.text)
        if role == "surveyor":
            assert hidden.status_code == 404
    after = db.execute(
        text("SELECT name, agency_id, version FROM buildings WHERE id = :b"), {"b": bb}
    ).one()
    assert after == before
    assert db.execute(
        text("SELECT storey_height_m IS DISTINCT FROM 2.0 FROM floors WHERE id = :f"),
        {"f": floor},
    ).scalar()
    # their own agency's building (the world's evaluation left its temporary table behind,
    # owned by the test's owner connection: the request's re-evaluation makes its own)
    db.execute(text("DROP TABLE IF EXISTS cf_new"))
    etag = c.get(f"/api/v1/buildings/{ba}").headers["ETag"]
    r = c.patch(
        f"/api/v1/buildings/{ba}", json={"name": f"{MARK}-甲楼2"}, headers={"If-Match": etag}
    )
    assert r.status_code == 200, r.text


# ----------------------------------------------------------------------------- reconciliation
@pytest.mark.parametrize(("viewer", "role"), CASES)
def test_reconciliation_names_no_hidden_agency(
    viewer: str, role: str, client_as: Any, people: World
) -> None:
    """账账: B's person also sits in A's room RA2 (used by B, allocated to A). A's officer
    sees the mismatch on their room, but not B's name; nobody sees a name they may not."""
    v, w = VIEWERS[viewer], people
    c = client_for(client_as, w, v, role)
    r = c.get("/api/v1/reconciliation")
    assert r.status_code == 200, r.text
    names = {"agency:A": f"{MARK}-甲单位", "agency:B": f"{MARK}-乙单位"}
    for key, name in names.items():
        if key not in v.sees:
            assert name not in r.text, (key, name)
    on_ra2 = [
        m for m in r.json()["mismatches"] if m["object_type"] == "room"
        and m["object_id"] == w.ids["room:RA2"]
    ]  # fmt: skip
    assert bool(on_ra2) == ("room:RA2" in v.sees)
    x = c.get("/api/v1/reconciliation", params={"format": "xlsx"})
    assert x.status_code == 200
    cells = {str(val) for row in _sheet(x.content) for val in row if val is not None}
    for key, name in names.items():
        if key not in v.sees:
            assert not any(name in cell for cell in cells), (key, name)
