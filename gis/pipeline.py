"""Plan import as a pipeline of small pure steps, no database:

read → drawing units → validate / repair → CRS hints → project → placement → overlaps and
outline → areas (+ geodesic cross-check) → room numbers → attributes → report.

What the database knows about where the plan goes (the building's region and footprint,
the previous version's outline, name and storey height) comes in a :class:`Site`; the
lookups that need the database or reference data (space categories, agencies in the
caller's scope, ``ST_Area(geography)``) are functions in :class:`Lookups`. Each step
returns its findings; :func:`run` composes them and stops after the first stage that
finds errors. The caller (``backend.plans``) keeps scope, replay and the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gis import validate as v
from gis.area import area_method, planar_areas, round_area, storey_building_area
from gis.crs import CGCS2000, epsg, gk3_zone_crs, reproject
from gis.georef import Similarity, parse_georef
from gis.io import PlanData

GEOGRAPHIC = (4490, 4326)
Issue = v.Issue


# ------------------------------------------------------------------ inputs
@dataclass(frozen=True)
class Thresholds:
    """Validation thresholds (their defaults and environment: ``UploadSettings``)."""

    min_room_m2: float
    max_room_m2: float
    absurd_room_m2: float
    overlap_tolerance_m2: float
    outside_tolerance_m2: float
    georef_max_rms_m: float
    geodesic_tolerance: float
    far_from_building_m: float
    usable_coefficient_min: float | None
    usable_coefficient_max: float | None


@dataclass(frozen=True)
class PlanInput:
    """One upload's choices: level, EPSG code, georef (parsed and as sent), repair."""

    level: int
    crs: int
    georef: Similarity | None = None
    georef_doc: dict[str, Any] | None = None
    repair: bool = False
    storey_height_m: Any = None  # the mapping's value as sent (a number, else ignored)


@dataclass(frozen=True)
class Site:
    """Where the plan goes, as the register knows it (lon/lat geometries)."""

    region: BaseGeometry | None = None
    region_code: int | None = None
    footprint: BaseGeometry | None = None
    default_agency: int | None = None  # the building's managing agency
    previous_outline: BaseGeometry | None = None
    previous_name: str | None = None
    previous_version: int | None = None
    previous_storey_m: Decimal | None = None


@dataclass(frozen=True)
class Lookups:
    """What the pure steps ask of the caller."""

    category: Callable[[str | None, bool], tuple[str | None, str | None]]
    known_agencies: Callable[[set[int]], set[int]]
    geodesic_areas: Callable[[NDArray[np.object_]], NDArray[np.float64]]


# ------------------------------------------------------------------ findings
@dataclass
class Findings:
    """Errors and warnings of one or more steps."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def add(self, issues: list[Issue]) -> Findings:
        """Each issue by its severity."""
        self.errors += [i for i in issues if i.severity == "error"]
        self.warnings += [i for i in issues if i.severity == "warning"]
        return self

    def extend(self, other: Findings) -> None:
        self.errors += other.errors
        self.warnings += other.warnings


@dataclass
class Frame:
    """Room geometries in the metric survey frame and in lon/lat."""

    metric: NDArray[np.object_]
    lonlat: NDArray[np.object_]
    outline_metric: BaseGeometry | None
    outline_lonlat: BaseGeometry | None
    crs: str
    outline_source: str
    georef: Similarity | None = None


@dataclass
class Areas:
    """Planar areas in the survey CRS, cross-checked against the geodesic ones."""

    planar: NDArray[np.float64]
    geodesic: NDArray[np.float64]
    relative: NDArray[np.float64]  # |planar / geodesic - 1|, NaN where geodesic is 0
    worst: float  # the largest relative difference
    method: str  # of each room (notes a georeference)
    outline: float | None = None


@dataclass
class PlanCheck:
    """What the pipeline found: the plan as read, its findings, and when it passed the
    geometry steps, its frame, room rows and floor summary."""

    plan: PlanData
    findings: Findings
    frame: Frame | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    floor: dict[str, Any] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        """The validation report's body: rooms, floor, errors and warnings (sorted)."""
        return {
            "rooms": [_room_report(r) for r in self.rows],
            "floor": self.floor,
            "errors": _issue_dicts(self.findings.errors),
            "warnings": _issue_dicts(self.findings.warnings),
        }


def _order(i: Issue) -> tuple[int, str]:
    return (-1 if i.feature is None else i.feature, i.code)


def _issue_dicts(issues: list[Issue]) -> list[dict[str, Any]]:
    return [i.as_dict() for i in sorted(issues, key=_order)]


def _in_crs(issue: Issue, crs: str) -> Issue:
    issue.details["location_crs"] = crs
    return issue


# ------------------------------------------------------------------ the pipeline
def run(
    read: Callable[[], PlanData],
    inp: PlanInput,
    site: Site,
    thresholds: Thresholds,
    lookups: Lookups,
) -> PlanCheck:
    """Read the plan (``read`` may raise ``gis.io.UploadRefused``) and check it, step by step."""
    plan = read()
    georef, notes = drawing_units(plan, inp)
    plan.warnings += notes.warnings
    plan.errors += notes.errors
    check = PlanCheck(plan, Findings(list(plan.errors), list(plan.warnings)))
    found = check.findings
    found.extend(precheck(plan, inp, georef, thresholds))
    if found.errors:
        return check
    rooms, validity = validate(plan, inp.repair)
    found.extend(validity)
    if inp.crs not in GEOGRAPHIC and georef is None:
        found.errors += crs_hints(rooms, inp.crs, site.region)
    if found.errors:
        return check
    frame = project(plan, rooms, inp, georef, site)
    found.warnings += georeferenced(frame)
    placed = placement(frame, inp, site, thresholds)
    found.extend(placed)
    if placed.errors:
        return check
    layout, outline_area = overlaps(frame, plan.index, thresholds)
    found.extend(layout)
    areas, sizes = room_areas(frame, plan.index, thresholds, lookups)
    areas.outline = outline_area
    found.extend(sizes)
    found.extend(numbers(plan))
    found.extend(crosscheck(areas, plan.index, thresholds))
    check.frame = frame
    check.rows, attrs = rows(plan, areas, site, lookups)
    found.extend(attrs)
    check.floor, summary = floor_summary(plan, frame, areas, inp, site, thresholds)
    found.extend(summary)
    return check


# ------------------------------------------------------------------ steps
def storey_height(inp: PlanInput, site: Site) -> Decimal | None:
    """Storey height: the mapping's, else the previous version's, else unknown."""
    if isinstance(inp.storey_height_m, int | float):
        return Decimal(str(inp.storey_height_m))
    return site.previous_storey_m


def drawing_units(plan: PlanData, inp: PlanInput) -> tuple[Similarity | None, Findings]:
    """Apply the drawing's $INSUNITS: the georef's scale when it gives none, a report when
    the given (or fitted) scale contradicts it, an error when unscaled units are not metres."""
    factor, units, georef = plan.unit_scale, plan.units, inp.georef
    if factor is None or inp.crs in GEOGRAPHIC:
        return georef, Findings()
    details = {"insunits": units, "metres_per_unit": factor}
    if georef is None:
        if abs(factor - 1.0) > 1e-12:
            issue = Issue(
                "units_not_metres",
                f"the drawing is in {units} ($INSUNITS) but no georef scales it to metres: "
                "send georef (origin + rotation; the scale follows from $INSUNITS)",
                details=details,
            )
            return None, Findings().add([issue])
        return None, Findings()
    doc = inp.georef_doc or {}
    if "origin" in doc and "scale" not in doc:
        placed = parse_georef({**doc, "scale": factor})
        issue = Issue(
            "scale_from_insunits",
            f"scale {factor:g} m per drawing unit taken from $INSUNITS ({units})",
            severity="warning",
            details=details,
        )
        return placed, Findings().add([issue])
    if abs(georef.scale / factor - 1) > 0.01:
        issue = Issue(
            "scale_contradicts_insunits",
            f"the georef scale {georef.scale:.9g} contradicts the drawing's units "
            f"({units}, {factor:g} m per unit, $INSUNITS); the georef's scale is used — "
            "check the areas",
            severity="warning",
            details={**details, "georef_scale": georef.scale},
        )
        return georef, Findings().add([issue])
    return georef, Findings()


def precheck(plan: PlanData, inp: PlanInput, georef: Similarity | None, t: Thresholds) -> Findings:
    """Rooms present, control points that agree, finite coordinates, lon/lat in range."""
    found = Findings()
    rooms, index = plan.rooms, plan.index
    if len(rooms) == 0 or shapely.is_missing(rooms).all():
        found.errors.append(Issue("no_rooms", "the file holds no room polygons"))
        return found
    if georef is not None and georef.rms_m > t.georef_max_rms_m:
        found.errors.append(
            Issue(
                "georef_residuals",
                f"control points disagree: RMS residual {georef.rms_m:.3f} m "
                f"(limit {t.georef_max_rms_m} m)",
                details=georef.describe(),
            )
        )
    bad = v.nonfinite(rooms, index)
    if plan.outline is not None:
        bad += [
            Issue(i.code, "floor outline: " + i.message, location=i.location)
            for i in v.nonfinite(np.array([plan.outline], dtype=object), [0])
        ]
    found.errors += bad
    if inp.crs in GEOGRAPHIC and not bad:
        found.errors += v.lonlat_range(rooms, index)
    return found


def _outline_invalid(plan: PlanData) -> list[Issue]:
    if plan.outline is None or shapely.is_valid(plan.outline):
        return []
    return [
        Issue("outline_" + i.code, "floor outline: " + i.message, location=i.location)
        for i in v.invalid(np.array([plan.outline], dtype=object), [0], what="outline")
    ]


def validate(plan: PlanData, repair: bool) -> tuple[NDArray[np.object_], Findings]:
    """Validity in the file's own coordinates (locations the surveyor can find); with
    ``repair``, invalid rooms and outline are made valid and reported as warnings."""
    rooms, index = plan.rooms, plan.index
    present = ~shapely.is_missing(rooms)
    invalid = v.invalid(rooms, index) + v.zero_area(
        rooms[present], [index[i] for i in np.flatnonzero(present)]
    )
    outline_invalid = _outline_invalid(plan)
    if not repair:
        return rooms, Findings(errors=invalid + outline_invalid)
    return _repair(plan, invalid, outline_invalid)


def _repair(
    plan: PlanData, invalid: list[Issue], outline_invalid: list[Issue]
) -> tuple[NDArray[np.object_], Findings]:
    found = Findings()
    index = plan.index
    rooms, notes = v.repair(plan.rooms, index)
    found.warnings += notes
    if outline_invalid and plan.outline is not None:
        before = float(shapely.area(plan.outline))
        plan.outline = v.polygonal(shapely.make_valid(plan.outline))
        found.warnings.append(
            Issue(
                "outline_repaired",
                f"floor outline repaired (make_valid): area {before:.6g} → "
                f"{float(shapely.area(plan.outline)):.6g} (file units)",
                severity="warning",
                details={"reasons": [i.message for i in outline_invalid]},
            )
        )
    repaired = {n.feature for n in notes}
    errors = found.errors
    errors += [i for i in invalid if i.feature not in repaired and i.code == "zero_area"]
    errors += [
        Issue("unrepairable", "geometry could not be repaired", feature=index[i])
        for i in np.flatnonzero(~shapely.is_valid(rooms))
    ]
    for i in np.flatnonzero(shapely.area(rooms) == 0):
        if not any(e.feature == index[i] for e in errors):
            errors.append(Issue("zero_area", "room encloses no area", feature=index[i]))
    return rooms, found


def crs_hints(rooms: NDArray[np.object_], crs: int, region: BaseGeometry | None) -> list[Issue]:
    """Projected coordinates that land outside the region: explain swapped axes or zones."""
    coords = shapely.get_coordinates(rooms)
    if len(coords) == 0 or not np.isfinite(coords).all():
        return []
    x, y = np.median(coords[:, 0]), np.median(coords[:, 1])
    prefixed = 4491 <= crs <= 4501 or 4513 <= crs <= 4533
    hint = None
    if x > y and x > 1e6 and y < 1e7:
        hint = "axes look swapped: give easting (x) first, then northing (y)"
    elif prefixed and x < 1e6:
        hint = "the easting has no zone prefix: use the CGCS2000 CM zone EPSG:4534–4554 (3°) or 4502–4512 (6°)"
    elif not prefixed and x > 1e7:
        hint = "the easting carries a zone prefix: use EPSG:4513–4533 (3°) or 4491–4501 (6°)"
    if hint is None and region is not None:
        try:
            back = reproject(np.array([shapely.Point(y, x)]), epsg(crs), CGCS2000)[0]
            if shapely.covers(region, back):
                hint = "axes look swapped: give easting (x) first, then northing (y)"
        except Exception:  # pyproj may refuse absurd input; then there is no hint
            hint = None
    if hint is None:
        return []
    return [
        Issue(
            "axes_swapped" if "swapped" in hint else "crs_zone_mismatch",
            f"coordinates do not fit {epsg(crs)}: {hint}",
            location=[float(x), float(y)],
        )
    ]


def _one(geom: BaseGeometry | None, src: str, dst: str) -> BaseGeometry | None:
    if geom is None:
        return None
    out: BaseGeometry = reproject(np.array([geom], dtype=object), src, dst)[0]
    return out


def project(
    plan: PlanData,
    rooms: NDArray[np.object_],
    inp: PlanInput,
    georef: Similarity | None,
    site: Site,
) -> Frame:
    """Rooms and outline in the metric survey CRS and in lon/lat; without an outline in
    the file, the previous version's, else the building's footprint."""
    outline = plan.outline
    if inp.crs in GEOGRAPHIC:
        where = (
            float(shapely.centroid(site.footprint).x)
            if site.footprint is not None
            else float(np.median(shapely.get_coordinates(rooms)[:, 0]))
        )
        metric_crs = gk3_zone_crs(where)
        lonlat, metric = rooms, reproject(rooms, CGCS2000, metric_crs)
        outline_metric, outline_lonlat = _one(outline, CGCS2000, metric_crs), outline
    else:
        metric_crs = epsg(inp.crs)
        metric = georef.apply(rooms) if georef else rooms
        outline_metric = (
            georef.apply(np.array([outline], dtype=object))[0] if georef and outline else outline
        )
        lonlat = reproject(metric, metric_crs, CGCS2000)
        outline_lonlat = _one(outline_metric, metric_crs, CGCS2000)
    source = "file"
    if outline_metric is None:
        if site.previous_outline is not None:
            outline_lonlat, source = site.previous_outline, "previous_version"
        elif site.footprint is not None:
            outline_lonlat, source = site.footprint, "building_footprint"
        outline_metric = _one(outline_lonlat, CGCS2000, metric_crs)
    return Frame(metric, lonlat, outline_metric, outline_lonlat, metric_crs, source, georef)


def georeferenced(frame: Frame) -> list[Issue]:
    georef = frame.georef
    if georef is None:
        return []
    return [
        Issue(
            "georeferenced",
            f"local coordinates placed in {frame.crs}: scale {georef.scale:.9g}, "
            f"rotation {georef.rotation_deg:.6f}°",
            severity="warning",
            details=georef.describe(),
        )
    ]


def placement(frame: Frame, inp: PlanInput, site: Site, t: Thresholds) -> Findings:
    """Where the plan landed: outside the building's region (an error, perhaps swapped
    lon/lat), or far from the building's footprint (a warning)."""
    found = Findings()
    lonlat_all = shapely.union_all(frame.lonlat)
    region = site.region
    if region is not None and not shapely.intersects(region, lonlat_all):
        c = shapely.centroid(lonlat_all)
        swapped_hint = ""
        if inp.crs in GEOGRAPHIC and shapely.covers(region, shapely.Point(c.y, c.x)):
            swapped_hint = "; axes look swapped (latitude first): send longitude, latitude"
        found.errors.append(
            Issue(
                "axes_swapped" if swapped_hint else "outside_region",
                f"the plan lands at lon {c.x:.5f}, lat {c.y:.5f}, outside the building's region "
                f"({site.region_code}){swapped_hint}",
                location=[round(c.x, 6), round(c.y, 6)],
            )
        )
        return found
    if site.footprint is not None:
        fp_metric = _one(site.footprint, CGCS2000, frame.crs)
        gap = float(shapely.distance(fp_metric, shapely.union_all(frame.metric)))
        if gap > t.far_from_building_m:
            found.warnings.append(
                Issue(
                    "far_from_building",
                    f"the plan lies {gap:.0f} m from the building's footprint",
                    severity="warning",
                    details={"distance_m": round(gap, 1)},
                )
            )
    return found


def overlaps(frame: Frame, index: list[int], t: Thresholds) -> tuple[Findings, float | None]:
    """Rooms overlapping each other or the outside of the floor outline; the outline's area."""
    found = Findings()
    found.errors += [
        _in_crs(i, frame.crs)
        for i in v.overlaps(frame.metric, index, tolerance_m2=t.overlap_tolerance_m2)
    ]
    if frame.outline_metric is None:
        return found, None
    if not shapely.is_valid(frame.outline_metric):
        found.errors.append(Issue("outline_invalid", "the floor outline is not a valid polygon"))
        return found, None
    found.errors += [
        _in_crs(i, frame.crs)
        for i in v.outside_outline(
            frame.metric, index, frame.outline_metric, tolerance_m2=t.outside_tolerance_m2
        )
    ]
    outline_area = float(planar_areas(np.array([frame.outline_metric]), frame.crs)[0])
    return found, outline_area


def room_areas(
    frame: Frame, index: list[int], t: Thresholds, lookups: Lookups
) -> tuple[Areas, Findings]:
    """Planar areas in the survey CRS (implausible sizes reported) and the geodesic ones."""
    planar = planar_areas(frame.metric, frame.crs)
    sizes = v.implausible_sizes(
        planar,
        index,
        frame.metric,
        min_m2=t.min_room_m2,
        max_m2=t.max_room_m2,
        error_above_m2=t.absurd_room_m2,
    )
    geodesic = lookups.geodesic_areas(frame.lonlat)
    rel = np.abs(planar / np.where(geodesic > 0, geodesic, np.nan) - 1)
    worst = float(np.nanmax(rel)) if np.isfinite(rel).any() else 0.0
    method = area_method(frame.crs)
    if frame.georef is not None:
        method += " (georeferenced from local CAD units)"
    return Areas(planar, geodesic, rel, worst, method), Findings().add(sizes)


def crosscheck(areas: Areas, index: list[int], t: Thresholds) -> Findings:
    """Planar areas that differ from ``ST_Area(geography)`` beyond the tolerance."""
    rel = areas.relative
    return Findings(
        errors=[
            Issue(
                "area_crosscheck",
                f"planar area differs from ST_Area(geography) by {rel[i]:.3%}",
                feature=index[i],
            )
            for i in np.flatnonzero(rel > t.geodesic_tolerance)
        ]
    )


def numbers(plan: PlanData) -> Findings:
    """Room numbers used twice (errors) or missing (one warning)."""
    found = Findings(errors=v.duplicate_numbers(plan.numbers, plan.index))
    missing = [plan.index[i] for i, n in enumerate(plan.numbers) if not n]
    if missing:
        found.warnings.append(
            Issue(
                "missing_number",
                f"{len(missing)} rooms have no number",
                severity="warning",
                details={"features": missing[:100]},
            )
        )
    return found


def agencies(
    values: list[str | None], index: list[int], site: Site, lookups: Lookups
) -> tuple[list[int | None], Findings]:
    """Agency ids from the file (ids), defaulting to the building's managing agency; an id
    the lookup does not know (unknown, or outside the caller's scope) is reported."""
    known = lookups.known_agencies({int(x) for x in values if x and x.isdigit()})
    found = Findings()
    out: list[int | None] = []
    for k, x in enumerate(values):
        if x and x.isdigit() and int(x) in known:
            out.append(int(x))
            continue
        if x:
            found.warnings.append(
                Issue(
                    "unknown_agency",
                    f"agency {x!r} is not a known agency id; the building's agency is used",
                    feature=index[k],
                    severity="warning",
                )
            )
        out.append(site.default_agency)
    return out, found


def rows(
    plan: PlanData, areas: Areas, site: Site, lookups: Lookups
) -> tuple[list[dict[str, Any]], Findings]:
    """One row per room: number, name, category, agency, areas, attributes."""
    agency_ids, found = agencies(plan.agencies, plan.index, site, lookups)
    is_imdf = plan.format == "imdf"
    out: list[dict[str, Any]] = []
    for k, feature in enumerate(plan.index):
        category, sub = lookups.category(plan.categories[k], is_imdf)
        if plan.categories[k] and category is None:
            found.warnings.append(
                Issue(
                    "unknown_category",
                    f"category {plan.categories[k]!r} is not a space category; left empty",
                    feature=feature,
                    severity="warning",
                )
            )
        area = float(areas.planar[k])
        out.append(
            {
                "feature": feature,
                "number": plan.numbers[k],
                "name": plan.names[k],
                "category": category,
                "subcategory": sub,
                "agency_id": agency_ids[k],
                "usable_area_raw": area,
                "usable_area_m2": round_area(area),
                "geodesic_area_m2": float(areas.geodesic[k]),
                "area_method": areas.method,
                "attributes": plan.attributes[k],
            }
        )
    return out, found


def floor_summary(
    plan: PlanData, frame: Frame, areas: Areas, inp: PlanInput, site: Site, t: Thresholds
) -> tuple[dict[str, Any], Findings]:
    """The floor's figures: usable area, building area by GB/T 50353 from the outline and
    storey height, the usable-area coefficient and its checks."""
    total_rooms = float(areas.planar.sum())
    storey = storey_height(inp, site)
    floor: dict[str, Any] = {
        "level": inp.level,
        "name": plan.level_name or site.previous_name,
        "outline_source": frame.outline_source,
        "area_method": area_method(frame.crs),
        "storey_height_m": None if storey is None else float(storey),
        "usable_area_m2": float(round_area(total_rooms)),
        "rooms": len(plan.index),
        "geodesic_max_relative_difference": areas.worst,
        "previous_version": site.previous_version,
    }
    if areas.outline is None:
        return floor, Findings()
    building_area, rule = storey_building_area(areas.outline, storey)
    coefficient = total_rooms / float(building_area) if building_area > 0 else None
    floor.update(
        outline_area_raw=areas.outline,
        building_area_m2=float(building_area),
        area_rule=rule,
        usable_coefficient=None if coefficient is None else round(coefficient, 4),
    )
    return floor, _coefficient(floor, total_rooms, areas.outline, coefficient, t)


def _coefficient(
    floor: dict[str, Any],
    total_rooms: float,
    outline_area: float,
    coefficient: float | None,
    t: Thresholds,
) -> Findings:
    found = Findings()
    lo, hi = t.usable_coefficient_min, t.usable_coefficient_max
    if coefficient is not None and total_rooms > outline_area * 1.0001:
        found.errors.append(
            Issue(
                "rooms_exceed_floor",
                f"rooms total {total_rooms:.2f} m², more than the floor outline "
                f"({outline_area:.2f} m²)",
            )
        )
    if lo is None and hi is None:
        floor["usable_coefficient_rule"] = "not configured"
    elif coefficient is not None and (
        (lo is not None and coefficient < lo) or (hi is not None and coefficient > hi)
    ):
        found.warnings.append(
            Issue(
                "usable_coefficient",
                f"usable-area coefficient {coefficient:.3f} outside the configured "
                f"range [{lo}, {hi}]",
                severity="warning",
            )
        )
    return found


# ------------------------------------------------------------------ report
def _room_report(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "feature": r["feature"],
        "number": r["number"],
        "name": r["name"],
        "category": r["category"],
        "subcategory": r["subcategory"],
        "agency_id": r["agency_id"],
        "usable_area_m2": float(r["usable_area_m2"]),
        "usable_area_raw": r["usable_area_raw"],
        "geodesic_area_m2": round(r["geodesic_area_m2"], 4),
        "area_method": r["area_method"],
    }


def preview(check: PlanCheck, report: dict[str, Any]) -> dict[str, Any]:
    """The dry run's rooms in lon/lat for the upload page's map, each marked with the worst
    issue that names it (error / warning / ok), and the floor outline."""
    assert check.frame is not None
    worst: dict[int, str] = {}
    for issue in report["warnings"]:
        if issue.get("feature") is not None:
            worst.setdefault(int(issue["feature"]), "warning")
    for issue in report["errors"]:
        if issue.get("feature") is not None:
            worst[int(issue["feature"])] = "error"
    features = [
        {
            "type": "Feature",
            "id": int(r["feature"]),
            "geometry": shapely.geometry.mapping(g),
            "properties": {
                "feature": int(r["feature"]),
                "number": r["number"],
                "category": r["category"],
                "usable_area_m2": float(r["usable_area_m2"]),
                "issue": worst.get(int(r["feature"]), "ok"),
            },
        }
        for r, g in zip(check.rows, check.frame.lonlat, strict=True)
    ]
    outline = check.frame.outline_lonlat
    mapped = None if outline is None else shapely.geometry.mapping(outline)
    return {"type": "FeatureCollection", "features": features, "outline": mapped}
