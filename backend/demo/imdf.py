"""The real PolyMap IMDF venue in the demo province, moved rigidly next to the provincial seat.

See ``data/demo/polymap-imdf/ATTRIBUTION.md``. Areas are measured in the venue's own GK zone
(where it was surveyed); the geometry is shifted as a whole onto the demo site.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from backend import reference
from backend.demo.regions import Region
from backend.demo.rows import Agency, Buffers, to_hex
from backend.settings import DATA_DIR
from gis.area import area_method, round_area, storey_building_area
from gis.crs import gk3_zone_crs, transformer
from gis.io.imdf import read_imdf_folder


@dataclass(frozen=True)
class Relocation:
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
class Venue:
    """The IMDF venue being added and where and to whom it goes."""

    data: Any  # gis.io.imdf venue
    outline_of: dict[str, Any]  # level id → valid outline
    repaired: set[str]  # level ids whose outline make_valid had to repair
    units_by_level: dict[str, list[Any]]
    codes: dict[str, str | None]  # IMDF category → space code
    move: Relocation
    crs_method: str  # area method of the source GK zone
    agency: Agency
    adcode: int

    @property
    def method(self) -> str:
        return self.crs_method + " (surveyed position; relocated rigidly for the demo)"


def add_venue(
    buf: Buffers,
    ids: dict[str, int],
    regions: list[Region],
    by_region: dict[int, list[Agency]],
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
    move, src_crs = venue_relocation(data, outline_of, p_seat)
    venue = Venue(
        data=data,
        outline_of=outline_of,
        repaired={lv.id for lv in data.levels if not shapely.is_valid(lv.outline)},
        units_by_level=units_by_level,
        codes=reference.imdf_category_map(),
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
        add_building(buf, ids, venue, bid, levels)


def venue_relocation(
    data: Any, outline_of: dict[str, Any], p_seat: tuple[float, float]
) -> tuple[Relocation, str]:
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
    return Relocation(src_tr, back, sx, sy, tx, ty), src_crs


def add_building(
    buf: Buffers, ids: dict[str, int], venue: Venue, bid: str, levels: list[Any]
) -> None:
    """One venue building; its floors are its distinct level ordinals, bottom up."""
    building_id = ids["building"]
    ids["building"] += 1
    data = venue.data
    fp = shapely.union_all(data.footprints.get(bid) or [venue.outline_of[lv.id] for lv in levels])
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
            to_hex(np.array([fp_multi]))[0],
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
        add_floor(buf, ids, venue, building_id, rank_i + 1, same_ordinal)


def add_floor(
    buf: Buffers,
    ids: dict[str, int],
    venue: Venue,
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
            to_hex(np.array([venue.move.relocate(outline)]))[0],
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
        add_rooms(buf, ids, venue, building_id, floor_id, units)


def add_rooms(
    buf: Buffers,
    ids: dict[str, int],
    venue: Venue,
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
                to_hex(np.array([multi]))[0],
                float(a),
                round_area(float(a)),
                venue.method,
                venue.agency.id,
                venue.adcode,
            )
        )
