"""One scope, everywhere: object type × role × in/out of scope × every path that returns it.

A small world where scopes interleave inside one building: agency B's building BB holds a
room of agency A (and an idle office of A); A's building BA holds a room of B. Callers:
A's officer, B's officer and a region-scoped caller whose city contains BB but not A's
county. What each may see is written out by hand below (never computed with the scope
module under test), then every route and method is asked: lists, by-id reads, history
(``as_of``), vector tiles (decoded), map aggregates, floor roll-ups, exports (read back
with openpyxl), the audit trail, findings and writes. Nothing outside the scope may show,
and an object outside the scope answers exactly like one that does not exist (status and
body, with the id masked).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import mapbox_vector_tile
import pytest
import shapely
from geoalchemy2 import WKTElement
from openpyxl import load_workbook
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend import timekeeping
from backend.audit import service as audit
from backend.compliance import service as compliance
from backend.db.compliance import ComplianceFinding, Lease
from backend.db.models import Agency, AgencyStaffing, Building, Floor, Occupancy, Room
from backend.maps import tiles
from gis.area import round_area

MISSING = 2_000_000_001
MARK = "SCOPEMATRIX"
Z = 16  # the world sits in the middle of one z16 tile (≈ 530 m at these latitudes)


# ----------------------------------------------------------------------------- the world
@dataclass
class World:
    origin: dict[str, tuple[float, float]]  # building key → lon/lat of its south-west corner
    ids: dict[str, int] = field(default_factory=dict)  # key → id (agencies, buildings, …)
    adcodes: dict[str, int] = field(default_factory=dict)
    # finding id → rule, object type, world key of the object, building id
    findings: dict[int, tuple[str, str, str, int | None]] = field(default_factory=dict)
    bbox: str = ""

    def key_of(self, id_: int, prefix: str) -> str:
        return next(k for k, v in self.ids.items() if v == id_ and k.startswith(prefix))


def _tile_centre(lon: float, lat: float) -> tuple[float, float]:
    n = 2**Z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    c_lon = (x + 0.5) / n * 360 - 180
    c_lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 0.5) / n))))
    return c_lon, c_lat


def _free_site(db: Session, county: int, lon: float, lat: float) -> tuple[float, float]:
    """The centre of a z16 tile inside ``county`` with no building within ~400 m."""
    for k in range(200):
        ring, step = divmod(k, 8)
        angle = step * math.pi / 4
        x, y = _tile_centre(
            lon + 0.01 * ring * math.cos(angle), lat + 0.01 * ring * math.sin(angle)
        )
        ok = db.execute(
            text(
                "SELECT ST_Contains(boundary, ST_SetSRID(ST_MakePoint(:x, :y), 4490)) "
                "AND NOT EXISTS (SELECT 1 FROM buildings WHERE footprint && "
                "ST_MakeEnvelope(:x - 0.004, :y - 0.004, :x + 0.004, :y + 0.004, 4490)) "
                "FROM regions WHERE adcode = :c"
            ),
            {"x": x, "y": y, "c": county},
        ).scalar()
        if ok:
            return x, y
    raise AssertionError(f"no free site in county {county}")


def tile_xy(lon: float, lat: float) -> tuple[int, int]:
    n = 2**Z
    return (
        int((lon + 180) / 360 * n),
        int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n),
    )


def _box(origin: tuple[float, float], x0: float, y0: float, x1: float, y1: float) -> WKTElement:
    lon0, lat0 = origin
    m_lat = 1 / 111_320
    m_lon = 1 / (111_320 * math.cos(math.radians(lat0)))
    box = shapely.box(lon0 + x0 * m_lon, lat0 + y0 * m_lat, lon0 + x1 * m_lon, lat0 + y1 * m_lat)
    return WKTElement(shapely.multipolygons([box]).wkt, srid=4490)


# rooms: key → (building, floor level, agency, category, raw m², occupant rank or None)
ROOMS: dict[str, tuple[str, int, str, str | None, float, str | None]] = {
    "RB1": ("BB", 1, "B", "office", 30.0, "section_head"),  # over standard (B)
    "RB1b": ("BB", 1, "B", "office", 18.0, "section_head"),
    "RA": ("BB", 2, "A", "office", 24.0, "section_head"),  # A's room in B's building, over
    "RB2": ("BB", 2, "B", "office", 27.0, "section_head"),  # over standard (B)
    "RB2u": ("BB", 2, "B", None, 15.0, None),  # no category (data quality)
    "RAidle": ("BB", 2, "A", "office", 20.0, None),  # A's idle office in B's building
    "RB3a": ("BB", 3, "B", "office", 16.0, None),  # floor 3: all idle → idle_floor
    "RB3b": ("BB", 3, "B", "office", 17.0, None),
    "RA2": ("BA", 1, "A", "office", 18.0, "section_head"),
    "RBA": ("BA", 1, "B", "office", 25.0, "section_head"),  # B's room in A's building, over
}


@pytest.fixture
def world(db: Session) -> Iterator[World]:
    tiles.invalidate()
    tiles.clear_cache()
    # two counties of two different cities
    counties = db.execute(
        text("""
        SELECT DISTINCT ON (parent_adcode) adcode, parent_adcode,
               ST_X(ST_PointOnSurface(boundary)), ST_Y(ST_PointOnSurface(boundary))
        FROM regions WHERE level = 'county' AND boundary IS NOT NULL
        ORDER BY parent_adcode, adcode LIMIT 2""")
    ).all()
    (c1, city1, lon1, lat1), (c2, city2, lon2, lat2) = counties
    assert city1 != city2
    w = World(origin={"BB": _free_site(db, c1, lon1, lat1), "BA": _free_site(db, c2, lon2, lat2)})
    w.adcodes = {"county1": c1, "city1": city1, "county2": c2, "city2": city2}
    a = Agency(name=f"{MARK}-甲单位", level="county", region_adcode=c2)
    b = Agency(name=f"{MARK}-乙单位", level="county", region_adcode=c1)
    a.approved_office_area_m2 = b.approved_office_area_m2 = Decimal("10")
    db.add_all([a, b])
    db.flush()
    agencies = {"A": a, "B": b}
    w.ids |= {"agency:A": a.id, "agency:B": b.id}
    for ag in (a, b):
        db.add(AgencyStaffing(agency_id=ag.id, rank_code="section_head", quota=1, headcount=1))
    buildings = {
        "BB": Building(name=f"{MARK}-乙楼", region_adcode=c1, agency_id=b.id),
        "BA": Building(name=f"{MARK}-甲楼", region_adcode=c2, agency_id=a.id),
    }
    floors: dict[tuple[str, int], Floor] = {}
    for key, bld in buildings.items():
        bld.footprint = _box(w.origin[key], 0, 0, 60, 20)
        bld.ownership, bld.status = "owned", "in_use"
        db.add(bld)
        db.flush()
        w.ids[f"building:{key}"] = bld.id
        for level in sorted({r[1] for r in ROOMS.values() if r[0] == key}):
            f = Floor(
                building_id=bld.id,
                level=level,
                name=f"{level}F",
                outline=_box(w.origin[key], 0, 0, 60, 20),
                outline_area_raw=1200.0,
                building_area_m2=Decimal("1200"),
                valid_from=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
            )
            db.add(f)
            db.flush()
            floors[(key, level)] = f
            w.ids[f"floor:{key}{level}"] = f.id
    occupancies: dict[str, Occupancy] = {}
    for i, (key, (bkey, level, ag, cat, raw, rank)) in enumerate(ROOMS.items()):
        room = Room(
            floor_id=floors[(bkey, level)].id,
            building_id=buildings[bkey].id,
            number=f"{MARK}-{key}",
            category=cat,
            subcategory="office.staff_office" if cat == "office" else None,
            geom=_box(w.origin[bkey], 1 + (i % 5) * 6, 1, 5 + (i % 5) * 6, 5.5),
            usable_area_raw=raw,
            usable_area_m2=round_area(raw),
            area_method="test",
            agency_id=agencies[ag].id,
        )
        db.add(room)
        db.flush()
        w.ids[f"room:{key}"] = room.id
        if rank:
            o = Occupancy(
                room_id=room.id,
                agency_id=agencies[ag].id,
                person_name=f"{MARK}-{key}",
                person_id=f"{MARK}-{key}",
                rank_code=rank,
                start_date=dt.date(2020, 1, 1),
            )
            db.add(o)
            db.flush()
            occupancies[key] = o
            w.ids[f"occupancy:{key}"] = o.id
    # leases: one of A's room in B's building, one of A's whole building
    l1 = Lease(
        room_id=w.ids["room:RA"], agency_id=a.id, kind="lend", start_date=dt.date(2025, 1, 1)
    )
    l2 = Lease(building_id=buildings["BA"].id, agency_id=a.id, kind="rent_out",
               start_date=dt.date(2025, 1, 1))  # fmt: skip
    db.add_all([l1, l2])
    db.flush()
    w.ids |= {"lease:L1": l1.id, "lease:L2": l2.id}
    target = compliance.target_for_floors(db, [f.id for f in floors.values()])
    target = compliance.Target(
        floors=target.floors,
        agencies=target.agencies,
        persons=target.persons,
        buildings=tuple(sorted({*(target.buildings or ()), buildings["BA"].id})),
    )
    compliance.evaluate(db, target, as_of=timekeeping.today())
    for f in db.scalars(
        select(ComplianceFinding).where(
            ComplianceFinding.status != "closed",
            (ComplianceFinding.building_id.in_([bld.id for bld in buildings.values()]))
            | ComplianceFinding.agency_id.in_([a.id, b.id]),
        )
    ):
        w.findings[f.id] = (f.rule_code, f.object_type, _finding_key(w, f), f.building_id)
    rules = {r for r, *_ in w.findings.values()}
    assert {
        "office_over_standard",
        "agency_over_approved",
        "idle_room",
        "idle_floor",
        "unapproved_lease",
        "data_quality.uncategorised",
    } <= rules, rules
    # one audited write about every object of the world
    for key, id_ in w.ids.items():
        kind = key.split(":")[0]
        audit.record(db, actor=MARK, action=f"{kind}.touch", object_type=kind, object_id=id_)
    for fid in w.findings:
        audit.record(
            db, actor=MARK, action="finding.touch", object_type="compliance_finding", object_id=fid
        )
    db.flush()
    tiles.invalidate()
    yield w
    tiles.invalidate()
    tiles.clear_cache()


def _finding_key(w: World, f: ComplianceFinding) -> str:
    if f.object_type == "room":
        return w.key_of(int(f.object_id), "room:")
    if f.object_type == "floor":
        return w.key_of(int(f.object_id), "floor:")
    if f.object_type == "agency":
        return w.key_of(int(f.object_id), "agency:")
    if f.object_type == "lease":
        return w.key_of(int(f.object_id), "lease:")
    if f.object_type == "occupancy":
        return w.key_of(int(f.object_id), "occupancy:")
    raise AssertionError(f"unexpected finding on {f.object_type}")


# ----------------------------------------------------------------------------- who sees what
@dataclass(frozen=True)
class Viewer:
    """A caller's scope and, written out by hand, the world's objects it may see."""

    name: str
    regions: tuple[str, ...]  # keys of World.adcodes
    agencies: tuple[str, ...]  # "A" / "B"
    sees: frozenset[str]  # world keys: "agency:A", "building:BB", "room:RA", …


def _rooms(*keys: str) -> set[str]:
    return {f"room:{k}" for k in keys}


def _occ(*keys: str) -> set[str]:
    return {f"occupancy:{k}" for k in keys if ROOMS[k][5]}


ALL_ROOMS = set(ROOMS)
A_ROOMS = {k for k, r in ROOMS.items() if r[2] == "A"}
B_ROOMS = ALL_ROOMS - A_ROOMS
BB_ROOMS = {k for k, r in ROOMS.items() if r[0] == "BB"}
BB_FLOORS = {"floor:BB1", "floor:BB2", "floor:BB3"}

VIEWERS = {
    # A's officer: A, its rooms (also the two in B's building), the buildings housing them
    # with the floors holding its rooms (BB is B's: only its floor 2, where A's rooms are),
    # A's occupancies, A's leases; nothing of B's
    "officer_A": Viewer(
        "officer_A",
        (),
        ("A",),
        frozenset(
            {"agency:A", "building:BB", "building:BA", "floor:BA1", "floor:BB2", "lease:L1"}
            | {"lease:L2"}
            | _rooms(*A_ROOMS)
            | _occ(*A_ROOMS)
        ),
    ),
    # B's officer: B, its rooms (also the one in A's building), both buildings; no lease
    "officer_B": Viewer(
        "officer_B",
        (),
        ("B",),
        frozenset(
            {"agency:B", "building:BB", "building:BA", "floor:BA1", *BB_FLOORS}
            | _rooms(*B_ROOMS)
            | _occ(*B_ROOMS)
        ),
    ),
    # city of BB: B (its county is inside), BB whole with A's rooms in it; not A, not BA
    "region": Viewer(
        "region",
        ("city1",),
        (),
        frozenset(
            {"agency:B", "building:BB", *BB_FLOORS, "lease:L1"}
            | _rooms(*BB_ROOMS)
            | _occ(*BB_ROOMS)
        ),
    ),
}
# floors seen whole (floor findings): the building in a scoped region or managed by a
# scoped agency — housing one room is not enough
WHOLE_FLOORS = {
    "officer_A": {"floor:BA1"},
    "officer_B": BB_FLOORS,
    "region": BB_FLOORS,
}


def visible_findings(w: World, v: Viewer) -> set[int]:
    out = set()
    for fid, (_rule, kind, key, _b) in w.findings.items():
        if key in (WHOLE_FLOORS[v.name] if kind == "floor" else v.sees):
            out.add(fid)
    return out


ROLES_FOR = {
    "officer_A": ("agency_officer", "inspector"),
    "officer_B": ("agency_officer",),
    "region": ("planner", "leader", "surveyor", "inspector", "agency_officer"),
}
CASES = [(v, role) for v, roles in ROLES_FOR.items() for role in roles]


def client_for(client_as: Any, w: World, v: Viewer, role: str) -> Any:
    return client_as(
        role,
        regions=[w.adcodes[r] for r in v.regions],
        agencies=[w.ids[f"agency:{a}"] for a in v.agencies],
    )


# ----------------------------------------------------------------------------- helpers
def masked(resp: Any, *ids: int) -> tuple[int, str]:
    """Status and body with the given ids masked (so a hidden and a missing id compare)."""
    body = resp.text
    for i in ids:
        body = re.sub(rf"\b{i}\b", "<id>", body)
    return resp.status_code, body


def same_as_missing(c: Any, method: str, url: str, id_: int, **kw: Any) -> Any:
    """``url`` (naming the hidden object ``id_``) answers exactly as for a missing object."""
    hidden = c.request(method, url, **kw)
    missing = c.request(method, re.sub(rf"\b{id_}\b", str(MISSING), url), **kw)
    assert masked(hidden, id_) == masked(missing, MISSING), (method, url, hidden.text)
    assert MARK not in hidden.text
    return hidden


def decode(content: bytes) -> dict[str, Any]:
    return mapbox_vector_tile.decode(content) if content else {}


def sheet(body: bytes) -> list[tuple[Any, ...]]:
    ws = load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
    return [tuple(r) for r in ws.iter_rows(values_only=True)][1:]


def world_keys(w: World, ids: set[int], prefix: str) -> set[str]:
    by_id = {v: k for k, v in w.ids.items() if k.startswith(prefix)}
    return {by_id[i] for i in ids if i in by_id}


def all_findings(c: Any, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        page = c.get(
            "/api/v1/compliance/findings", params={**params, "limit": 10000, "offset": len(out)}
        ).json()
        out += page["findings"]
        if len(out) >= page["numberMatched"]:
            return out


# ----------------------------------------------------------------------------- the matrix
@pytest.mark.parametrize(("viewer", "role"), CASES)
def test_by_id_reads_and_history(
    viewer: str, role: str, client_as: Any, world: World, db: Session
) -> None:
    v, w = VIEWERS[viewer], world
    c = client_for(client_as, w, v, role)
    day = timekeeping.today().isoformat()
    paths = {
        "agency": ["/api/v1/agencies/{id}"],
        "building": [
            "/api/v1/buildings/{id}",
            "/api/v1/buildings/{id}?as_of=" + day,
            "/api/v1/buildings/{id}/floors",
            "/map/buildings/{id}",
        ],
        "floor": [
            "/api/v1/floors/{id}",
            "/api/v1/floors/{id}?as_of=" + day,
            "/api/v1/map/floors/{id}/rooms",
        ],
        "room": ["/api/v1/rooms/{id}", "/api/v1/rooms/{id}?as_of=" + day],
        "occupancy": ["/api/v1/occupancies/{id}"],
    }
    checked = 0
    for key, id_ in w.ids.items():
        kind = key.split(":")[0]
        for path in paths.get(kind, []):
            url = path.format(id=id_)
            if key in v.sees:
                r = c.get(url)
                assert r.status_code == 200, (viewer, role, url, r.text)
            else:
                assert same_as_missing(c, "GET", url, id_).status_code == 404, url
            checked += 1
    for fid in w.findings:
        url = f"/api/v1/compliance/findings/{fid}"
        if fid in visible_findings(w, v):
            assert c.get(url).status_code == 200
        else:
            assert same_as_missing(c, "GET", url, fid).status_code == 404
    assert checked > 40


REGIONS_SEEN = {
    "officer_A": {"county2"},  # the region of the caller's agency
    "officer_B": {"county1"},
    "region": {"city1", "county1"},  # the subtree (and its ancestors, for navigation)
}


@pytest.mark.parametrize(("viewer", "role"), CASES)
def test_regions_and_region_roll_ups(viewer: str, role: str, client_as: Any, world: World) -> None:
    v, w = VIEWERS[viewer], world
    c = client_for(client_as, w, v, role)
    unknown = 990101  # a well-formed adcode no region has
    for key in ("county1", "county2", "city1", "city2"):
        adcode = w.adcodes[key]
        for path in ("/api/v1/regions/{a}", "/api/v1/compliance/summary?region={a}"):
            r = c.get(path.format(a=adcode))
            if key in REGIONS_SEEN[viewer]:
                assert r.status_code == 200, (key, path, r.text)
            else:
                missing = c.get(path.format(a=unknown))
                assert r.status_code == 404, (key, path)
                assert masked(r, adcode) == masked(missing, unknown)


@pytest.mark.parametrize(("viewer", "role"), CASES)
def test_lists_and_roll_ups(viewer: str, role: str, client_as: Any, world: World) -> None:
    v, w = VIEWERS[viewer], world
    c = client_for(client_as, w, v, role)
    day = timekeeping.today().isoformat()

    def ids(url: str, key: str = "features") -> set[int]:
        r = c.get(url)
        assert r.status_code == 200, (url, r.text)
        return {int(f["id"]) for f in r.json()[key]}

    want = {kind: {k for k in v.sees if k.startswith(kind + ":")} for kind in
            ("agency", "building", "floor", "room", "occupancy")}  # fmt: skip
    assert world_keys(w, ids(f"/api/v1/agencies?q={MARK}&limit=10000"), "agency:") == want["agency"]
    for extra in ("", f"&as_of={day}"):
        got = ids(f"/api/v1/buildings?q={MARK}&limit=10000{extra}")
        assert world_keys(w, got, "building:") == want["building"], extra
    seen_floors: set[str] = set()
    seen_rooms: set[str] = set()
    for bkey in ("BB", "BA"):
        b = w.ids[f"building:{bkey}"]
        for extra in ("", f"&as_of={day}"):
            seen_floors |= world_keys(
                w, ids(f"/api/v1/floors?building={b}&limit=10000{extra}"), "floor:"
            )
            seen_rooms |= world_keys(
                w, ids(f"/api/v1/rooms?building={b}&limit=10000{extra}"), "room:"
            )
        # roll-up: a floor counts only the rooms the caller may see
        r = c.get(f"/api/v1/buildings/{b}/floors")
        if f"building:{bkey}" not in v.sees:
            assert r.status_code == 404
            continue
        for f in r.json()["features"]:
            fkey = w.key_of(int(f["id"]), "floor:")
            mine = [
                k for k, room in ROOMS.items()
                if (room[0], room[1]) == (bkey, int(fkey[-1])) and f"room:{k}" in v.sees
            ]  # fmt: skip
            assert f["properties"]["rooms"] == len(mine), (fkey, mine)
            usable = f["properties"]["usable_area_m2"]
            expected = sum(ROOMS[k][4] for k in mine)
            assert (usable or 0) == pytest.approx(expected), (fkey, usable)
            # the building page's floor table agrees
            table = c.get(f"/api/v1/map/floors/{f['id']}/rooms").json()
            assert {x["number"] for x in table["rooms"]} == {f"{MARK}-{k}" for k in mine}
            assert table["totals"]["usable_area_m2"] == pytest.approx(expected)
    assert seen_floors == want["floor"]
    assert seen_rooms == want["room"]
    occ: set[int] = set()
    for key, id_ in w.ids.items():
        if key.startswith("room:"):
            occ |= {o["id"] for o in c.get(f"/api/v1/occupancies?room={id_}").json()["items"]}
    occ |= {
        o["id"]
        for a in ("A", "B")
        for o in c.get(f"/api/v1/occupancies?agency={w.ids['agency:' + a]}&limit=10000").json()[
            "items"
        ]
    }
    assert world_keys(w, occ, "occupancy:") == want["occupancy"]
    # findings: the list, by building and by agency
    listed = {
        f["id"]
        for p in (
            {"building": w.ids["building:BB"]},
            {"building": w.ids["building:BA"]},
            {"agency": w.ids["agency:A"]},
            {"agency": w.ids["agency:B"]},
        )
        for f in all_findings(c, **p)
    }
    assert listed & set(w.findings) == visible_findings(w, v)


@pytest.mark.parametrize(("viewer", "role"), CASES)
def test_tiles(viewer: str, role: str, client_as: Any, world: World) -> None:
    v, w = VIEWERS[viewer], world
    c = client_for(client_as, w, v, role)
    findings_seen: set[int] = set()
    for bkey, (lon, lat) in w.origin.items():
        x, y = tile_xy(lon, lat)
        got: dict[str, set[int]] = {}
        for layer in ("buildings", "floors", "rooms", "compliance"):
            r = c.get(f"/tiles/{layer}/{Z}/{x}/{y}.pbf")
            assert r.status_code == 200
            feats = decode(r.content).get(layer, {"features": []})["features"]
            got[layer] = {int(f["id"]) for f in feats}
        assert world_keys(w, got["buildings"], "building:") == {
            k for k in v.sees if k == f"building:{bkey}"
        }
        # floors are seen with their building seen whole, or holding a room of the
        # caller's agency (their rooms are counted per caller)
        assert world_keys(w, got["floors"], "floor:") == {
            k for k in v.sees if k.startswith(f"floor:{bkey}")
        }
        assert world_keys(w, got["rooms"], "room:") == {
            f"room:{k}" for k in ROOMS if ROOMS[k][0] == bkey and f"room:{k}" in v.sees
        }
        findings_seen |= got["compliance"]
    # the compliance layer shows exactly the visible open findings drawn in the world
    drawable = {
        fid
        for fid in visible_findings(w, v)
        if w.findings[fid][1] != "agency"  # agency findings have no place on the map
    }
    assert findings_seen & set(w.findings) == drawable


@pytest.mark.parametrize(("viewer", "role"), CASES)
def test_map_aggregates_agree_with_the_findings_list(
    viewer: str, role: str, client_as: Any, world: World
) -> None:
    v, w = VIEWERS[viewer], world
    c = client_for(client_as, w, v, role)
    live = [f for f in all_findings(c) if f["status"] in ("open", "rectifying")]
    over = round(sum(f["excess_m2"] for f in live if f["rule_code"] == "office_over_standard"), 2)
    summary = c.get("/api/v1/map/summary").json()
    assert summary["over_standard_m2"] == pytest.approx(over, abs=0.01)
    assert summary["open_findings"] == len(live)
    for level in ("county", "city"):
        stats = c.get(f"/api/v1/map/region-stats?level={level}").json()["regions"]
        total = sum(r["over_standard_m2"] or 0 for r in stats)
        assert total == pytest.approx(over, abs=0.01 * max(1, len(stats))), level
    # the world's part: over-standard m² of the rooms each caller may see
    mine = sum(
        ROOMS[k][4] - 18
        for k in ROOMS
        if ROOMS[k][4] > 18 and ROOMS[k][5] and f"room:{k}" in v.sees
    )
    world_over = sum(
        f["excess_m2"]
        for f in live
        if f["id"] in w.findings and f["rule_code"] == "office_over_standard"
    )
    assert world_over == pytest.approx(mine)
    # vacancy bins and clusters over the world's sites
    for bkey, (lon, lat) in w.origin.items():
        bbox = f"{lon - 0.003},{lat - 0.003},{lon + 0.003},{lat + 0.003}"
        bins = c.get(f"/api/v1/map/vacancy-bins?z=12&bbox={bbox}").json()["bins"]
        idle = sum(
            ROOMS[k][4]
            for k in ROOMS
            if ROOMS[k][0] == bkey and ROOMS[k][3] == "office" and not ROOMS[k][5]
            and f"room:{k}" in v.sees
        )  # fmt: skip
        assert sum(b[2] for b in bins) == pytest.approx(idle), bkey
        clusters = c.get(f"/api/v1/map/building-clusters?z=18&bbox={bbox}").json()
        assert clusters["buildings"] == (1 if f"building:{bkey}" in v.sees else 0)
    points = c.get("/api/v1/map/building-points").json()["points"]
    assert world_keys(w, {p[0] for p in points}, "building:") == {
        k for k in v.sees if k.startswith("building:")
    }
    # compliance roll-up per rule agrees with the list
    totals = c.get("/api/v1/compliance/summary").json()["rules"]
    by_rule = {t["rule_code"]: t["open"] + t["rectifying"] for t in totals}
    for rule in {f["rule_code"] for f in live}:
        assert by_rule[rule] == sum(1 for f in live if f["rule_code"] == rule), rule


@pytest.mark.parametrize(("viewer", "role"), CASES)
def test_exports(viewer: str, role: str, client_as: Any, world: World) -> None:
    v, w = VIEWERS[viewer], world
    c = client_for(client_as, w, v, role)
    for bkey in ("BB", "BA"):
        b = w.ids[f"building:{bkey}"]
        r = c.get("/api/v1/exports/register.xlsx", params={"building": b})
        assert r.status_code == 200, r.text
        rows = sheet(r.content)
        assert {row[5] for row in rows} == {
            f"{MARK}-{k}" for k in ROOMS if ROOMS[k][0] == bkey and f"room:{k}" in v.sees
        }
        r = c.get("/api/v1/exports/findings.xlsx", params={"building": b})
        assert r.status_code == 200, r.text
        got = {row[0] for row in sheet(r.content)}
        want = {fid for fid in visible_findings(w, v) if w.findings[fid][3] == b}
        assert got == want == {f["id"] for f in all_findings(c, building=b)}


@pytest.mark.parametrize(("viewer", "role"), [c for c in CASES if c[1] == "inspector"])
def test_audit_trail(viewer: str, role: str, client_as: Any, world: World) -> None:
    v, w = VIEWERS[viewer], world
    c = client_for(client_as, w, v, role)
    events = c.get(f"/api/v1/audit?actor={MARK}&limit=10000").json()["items"]
    seen = {(e["object_type"], e["object_id"]) for e in events}
    want = {(k.split(":")[0], str(i)) for k, i in w.ids.items() if k in v.sees}
    want |= {("compliance_finding", str(f)) for f in visible_findings(w, v)}
    assert seen == want
    # asking by a hidden object's id answers like asking for a missing one
    for key, id_ in w.ids.items():
        if key not in v.sees:
            kind = key.split(":")[0]
            same_as_missing(c, "GET", f"/api/v1/audit?object_type={kind}&object_id={id_}", id_)


WRITES = [
    ("PATCH", "/api/v1/buildings/{id}", "building", {"name": "x"}),
    ("PATCH", "/api/v1/buildings/{id}", "building", {"agency_id": MISSING - 1}),
    ("PATCH", "/api/v1/floors/{id}", "floor", {"storey_height_m": "3.1"}),
    ("PATCH", "/api/v1/rooms/{id}", "room", {"number": "x"}),
    ("PATCH", "/api/v1/rooms/{id}", "room", {"agency_id": MISSING - 1}),
    ("PATCH", "/api/v1/occupancies/{id}", "occupancy", {"end_date": "2019-12-31"}),
    ("PATCH", "/api/v1/occupancies/{id}", "occupancy", {"end_date": "2020-01-02"}),
    ("PUT", "/api/v1/agencies/{id}/staffing", "agency", {"staffing": []}),
    ("PUT", "/api/v1/agencies/{id}/staffing", "agency",
     {"staffing": [{"rank_code": "a", "quota": 1, "headcount": 1}] * 2}),
    ("POST", "/api/v1/occupancies", "room",
     {"room_id": "{id}", "agency_id": "{agency}", "rank_code": "x", "start_date": "2020-01-01"}),
    ("PATCH", "/api/v1/compliance/findings/{id}", "finding", {"status": "closed"}),
]  # fmt: skip


@pytest.mark.parametrize(("viewer", "role"), CASES)
def test_writes_to_hidden_objects_answer_like_missing_ones(
    viewer: str, role: str, client_as: Any, world: World, db: Session
) -> None:
    v, w = VIEWERS[viewer], world
    c = client_for(client_as, w, v, role)
    mine = w.ids[f"agency:{v.agencies[0]}"] if v.agencies else w.ids["agency:B"]
    checked = 0
    for method, path, kind, body in WRITES:
        targets = (
            [(f, f) for f in w.findings if f not in visible_findings(w, v)]
            if kind == "finding"
            else [(k, i) for k, i in w.ids.items() if k.startswith(kind + ":") and k not in v.sees]
        )
        for _key, id_ in targets:
            for if_match in ('"1"', '"7"'):
                if "{id}" in path:
                    url, payload = path.format(id=id_), body
                else:
                    url = path
                    payload = {
                        k: (id_ if val == "{id}" else mine if val == "{agency}" else val)
                        for k, val in body.items()
                    }
                hidden = c.request(method, url, json=payload, headers={"If-Match": if_match})
                url_m = url.replace(str(id_), str(MISSING))
                payload_m = {k: (MISSING if val == id_ else val) for k, val in payload.items()}
                missing = c.request(method, url_m, json=payload_m, headers={"If-Match": if_match})
                assert masked(hidden, id_) == masked(missing, MISSING), (role, method, url, payload)
                assert hidden.status_code in (403, 404), (role, method, url, hidden.text)
                checked += 1
    assert checked > 20
    # nothing was written
    assert not db.execute(
        select(Room.id).where(Room.number == "x", Room.id.in_(list(w.ids.values())))
    ).first()


def test_admin_sees_the_whole_world(client: Any, world: World) -> None:
    """The matrix can fail: an unrestricted caller sees every object and finding."""
    for key, id_ in world.ids.items():
        kind = key.split(":")[0]
        if kind in ("agency", "building", "floor", "room", "occupancy"):
            plural = {"agency": "agencies", "occupancy": "occupancies"}.get(kind, kind + "s")
            assert client.get(f"/api/v1/{plural}/{id_}").status_code == 200, key
    listed = {
        f["id"]
        for b in ("BB", "BA")
        for f in all_findings(client, building=world.ids[f"building:{b}"])
    }
    listed |= {
        f["id"] for a in ("A", "B") for f in all_findings(client, agency=world.ids[f"agency:{a}"])
    }
    assert set(world.findings) <= listed


# ----------------------------------------------------------------------------- issue 9's cases
def _demo_officer(db: Session) -> tuple[int, str]:
    agency = db.execute(text("SELECT agencies[1] FROM users WHERE username = 'officer'")).scalar()
    return int(agency), "officer"


def test_issue9_officer_room_placed_in_another_agencys_building(
    client: Any, app: Any, db: Session
) -> None:
    """Issue 9: after one of their rooms was placed in another agency's building, the demo
    officer saw that building's other findings in the compliance tiles, aggregates that
    disagreed with the findings API, and floor roll-ups of other agencies' rooms."""
    from fastapi.testclient import TestClient

    from tests.conftest import bearer

    officer_agency, name = _demo_officer(db)
    # a building of another agency, with office findings of that agency on several floors
    row = db.execute(
        text("""
        SELECT r.id, r.building_id FROM rooms r
        JOIN floors f ON f.id = r.floor_id AND f.valid_to IS NULL
        JOIN buildings b ON b.id = r.building_id
        WHERE b.agency_id <> :a AND r.agency_id = b.agency_id AND r.category = 'office'
          AND NOT EXISTS (SELECT 1 FROM rooms x WHERE x.building_id = b.id AND x.agency_id = :a)
          AND (SELECT count(*) FROM compliance_findings c
               WHERE c.building_id = b.id AND c.status <> 'closed'
                 AND c.rule_code = 'office_over_standard') >= 2
        ORDER BY r.id LIMIT 1"""),
        {"a": officer_agency},
    ).one()
    room, building = row
    tiles.invalidate()
    # placed the way it is done: the admin edits the room's agency through the API
    etag = client.get(f"/api/v1/rooms/{room}").headers["ETag"]
    r = client.patch(
        f"/api/v1/rooms/{room}", json={"agency_id": officer_agency}, headers={"If-Match": etag}
    )
    assert r.status_code == 200, r.text
    floor_of_room = db.execute(
        text("SELECT floor_id FROM rooms WHERE id = :r"), {"r": room}
    ).scalar()
    compliance.evaluate_floor(db, floor_of_room, as_of=timekeeping.today())
    tiles.invalidate()
    with TestClient(app, headers=bearer(name)) as officer:
        mine = {f["id"]: f for f in all_findings(officer) if f["status"] in ("open", "rectifying")}
        assert all(
            f["agency_id"] == officer_agency or f["object_type"] != "room" for f in mine.values()
        )
        # compliance tiles over the building: only findings the list shows
        lon, lat = db.execute(
            text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(footprint) p "
                 "FROM buildings WHERE id = :b) s"), {"b": building},
        ).one()  # fmt: skip
        for z in (12, 16, 18):
            n = 2**z
            x = int((lon + 180) / 360 * n)
            y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
            feats = decode(officer.get(f"/tiles/compliance/{z}/{x}/{y}.pbf").content).get(
                "compliance", {"features": []}
            )["features"]
            assert {int(f["id"]) for f in feats} <= set(mine), z
        # the aggregates count what the findings API shows
        over = round(
            sum(f["excess_m2"] for f in mine.values() if f["rule_code"] == "office_over_standard"),
            2,
        )
        summary = officer.get("/api/v1/map/summary").json()
        assert summary["over_standard_m2"] == pytest.approx(over, abs=0.01)
        stats = officer.get("/api/v1/map/region-stats?level=county").json()["regions"]
        assert sum(s["over_standard_m2"] or 0 for s in stats) == pytest.approx(over, abs=0.05)
        # floors of the building: only the floor of the officer's room, counting that room
        # (the building is seen only through it: its other floors are not shown)
        floors = officer.get(f"/api/v1/buildings/{building}/floors").json()["features"]
        assert [f["id"] for f in floors] == [floor_of_room]
        assert floors[0]["properties"]["rooms"] == 1


def _hidden_occupancy(db: Session, officer_agency: int) -> tuple[int, dt.date]:
    row = db.execute(
        text("""
        SELECT o.id, o.start_date FROM occupancies o JOIN rooms r ON r.id = o.room_id
        WHERE o.agency_id <> :a AND r.agency_id IS DISTINCT FROM :a
        ORDER BY o.id LIMIT 1"""),
        {"a": officer_agency},
    ).one()
    return int(row[0]), row[1]


def test_issue9_occupancy_patch_does_not_reveal_a_hidden_start_date(app: Any, db: Session) -> None:
    """Issue 9: PATCH /occupancies/{id} of another agency answered 422 or 404 depending on
    the hidden record's start date, which a bisection of end dates recovered."""
    from fastapi.testclient import TestClient

    from tests.conftest import bearer

    officer_agency, name = _demo_officer(db)
    occ, start = _hidden_occupancy(db, officer_agency)
    answers = set()
    with TestClient(app, headers=bearer(name)) as officer:
        # the bisection as it was done: end dates around the hidden start date
        lo, hi = dt.date(2000, 1, 1), dt.date(2030, 1, 1)
        for _ in range(13):
            mid = lo + (hi - lo) / 2
            r = officer.patch(
                f"/api/v1/occupancies/{occ}",
                json={"end_date": mid.isoformat()},
                headers={"If-Match": '"1"'},
            )
            answers.add(masked(r, occ))
            lo, hi = (mid, hi) if r.status_code == 422 else (lo, mid)
        for day in (start - dt.timedelta(days=1), start, start + dt.timedelta(days=1)):
            r = officer.patch(
                f"/api/v1/occupancies/{occ}",
                json={"end_date": day.isoformat()},
                headers={"If-Match": '"1"'},
            )
            answers.add(masked(r, occ))
        missing = officer.patch(
            f"/api/v1/occupancies/{MISSING}",
            json={"end_date": "2000-01-01"},
            headers={"If-Match": '"1"'},
        )
    assert answers == {masked(missing, MISSING)}
    assert missing.status_code == 404
    still = db.execute(select(Occupancy.end_date).where(Occupancy.id == occ)).scalar()
    assert still is None or still != dt.date(2000, 1, 1)


def test_issue9_plan_dry_run_refuses_another_agencys_id(app: Any, db: Session) -> None:
    """Issue 9: an officer's plan dry run accepted another agency's id for its rooms."""
    from fastapi.testclient import TestClient

    from tests.api.test_plan_upload import post
    from tests.backend.test_plans_support import demo_site, feature_collection, rooms_in
    from tests.conftest import bearer

    officer_agency, name = _demo_officer(db)
    site = demo_site(db)
    # the officer's agency manages the building, so it is in their scope whole (a building
    # seen only through one of their rooms is not theirs to re-survey: 404, test_scope_attack)
    managing = db.execute(
        select(Building.agency_id).where(Building.id == site.building_id)
    ).scalar_one()
    db.execute(
        text("UPDATE buildings SET agency_id = :a WHERE id = :b"),
        {"a": officer_agency, "b": site.building_id},
    )
    other = db.execute(
        select(Agency.id)
        .where(Agency.id.not_in([officer_agency, managing or 0]))
        .order_by(Agency.id)
        .limit(1)
    ).scalar_one()
    rooms = rooms_in(site, 6)
    reports = {}
    for label, agency in (("other", other), ("unknown", MISSING), ("mine", officer_agency)):
        props = [
            {"number": f"1{k:02d}", "category": "office.staff_office", "agency_id": str(agency)}
            for k in range(6)
        ]
        with TestClient(app, headers=bearer(name)) as officer:
            r = post(officer, site, feature_collection(rooms, props), crs=site.crs, dry_run="true")
        assert r.status_code == 200, r.text
        reports[label] = r.json()

    def agency_ids(rep: dict[str, Any]) -> list[Any]:
        return [room["agency_id"] for room in rep["rooms"]]

    assert other not in agency_ids(reports["other"])
    assert agency_ids(reports["other"]) == agency_ids(reports["unknown"])
    warn = [
        re.sub(r"'\d+'", "'<id>'", x["message"])
        for x in reports["other"]["warnings"]
        if x["code"] == "unknown_agency"
    ]
    warn_unknown = [
        re.sub(r"'\d+'", "'<id>'", x["message"])
        for x in reports["unknown"]["warnings"]
        if x["code"] == "unknown_agency"
    ]
    assert warn and warn == warn_unknown
    assert agency_ids(reports["mine"]) == [officer_agency] * 6


# ----------------------------------------------------------------------------- time
def test_active_on_day_is_one_rule_in_python_and_sql(db: Session) -> None:
    """``officemap_active_on`` (SQL) and ``is_active_on`` (Python) agree on every boundary."""
    d = dt.date
    start, end = d(2025, 1, 10), d(2025, 1, 20)
    for e in (None, end, start):
        for day in (start - dt.timedelta(days=1), start, d(2025, 1, 15), end - dt.timedelta(days=1),
                    end, end + dt.timedelta(days=1)):  # fmt: skip
            sql = db.execute(
                text("SELECT officemap_active_on(:s, :e, :d)"), {"s": start, "e": e, "d": day}
            ).scalar()
            assert sql is timekeeping.is_active_on(start, e, day), (e, day)
    # vacated on the day: not active that day (history, compliance, maps and exports agree)
    assert not timekeeping.is_active_on(start, end, end)
    plan = "\n".join(
        r[0]
        for r in db.execute(
            text(
                "EXPLAIN SELECT 1 FROM occupancies o WHERE officemap_active_on(o.start_date, "
                "o.end_date, DATE '2025-01-01')"
            )  # fmt: skip
        )
    )
    assert "officemap_active_on" not in plan  # inlined: plain comparisons


def test_today_is_china_standard_time() -> None:
    late_utc = dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC)  # 00:30 on 1 Dec in Beijing
    assert timekeeping.today(late_utc) == dt.date(2026, 12, 1)
    assert timekeeping.end_of_day(dt.date(2026, 12, 1)).utcoffset() == dt.timedelta(hours=8)


def test_occupancy_as_of_its_end_date_is_not_running(client: Any, db: Session) -> None:
    """History and the ledger use the compliance boundary: vacated on D, not occupied on D."""
    room, agency = db.execute(
        text(
            "SELECT r.id, r.agency_id FROM rooms r JOIN agencies a ON a.id = r.agency_id "
            "WHERE a.level = 'county' ORDER BY r.id LIMIT 1"
        )
    ).one()  # a rank of the standards for the agency's level, and the person's key
    occ = client.post(
        "/api/v1/occupancies",
        json={"room_id": room, "agency_id": agency, "rank_code": "below_section",
              "person_id": "T-0002", "start_date": "2025-01-01", "end_date": "2025-06-30"},
    ).json()["id"]  # fmt: skip

    def running(day: str) -> bool:
        items = client.get(f"/api/v1/occupancies?room={room}&as_of={day}").json()["items"]
        return occ in {o["id"] for o in items}

    assert running("2025-01-01") and running("2025-06-29")
    assert not running("2025-06-30") and not running("2024-12-31")


# ----------------------------------------------------------------------------- one home
def test_scope_and_time_rules_have_one_home() -> None:
    """No scope predicate or "today" outside their modules (a second copy is a bug waiting)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "backend"
    offenders = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("migrations/"):
            continue
        src = path.read_text(encoding="utf-8")
        if rel != "services/scope.py" and re.search(
            r"\.(agency_predicate|region_predicate|predicate)\(|_scope_predicate\(scope", src
        ):
            offenders.append(f"{rel}: scope predicate")
        if rel != "timekeeping.py" and re.search(
            r"date\.today\(\)|current_date|ZoneInfo\(|end_date\s*[<>]=?\s*(today|day|:as_of)", src
        ):
            offenders.append(f"{rel}: time rule")
    sql = (root / "compliance" / "sql" / "compliance.sql").read_text(encoding="utf-8")
    assert "start_date <= :as_of" not in sql
    assert not offenders, offenders


def test_audit_no_longer_imports_inventory() -> None:
    """The import cycle audit → inventory → users → audit is gone."""
    import ast
    from pathlib import Path

    src = (Path(__file__).resolve().parents[2] / "backend/audit/service.py").read_text()
    names = {n.module or "" for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Import) for a in n.names
    }
    assert not any("inventory" in n or "users" in n for n in names), names
