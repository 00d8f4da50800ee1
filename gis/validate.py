"""Validation of uploaded floor plans: per-feature reasons and locations, vectorised.

Every check takes arrays of shapely geometries (one per room, in the survey CRS unless
said otherwise) and returns :class:`Issue` records naming the feature index in the file
and a location ``[x, y]`` in the file's own coordinates. Errors block an import, warnings
do not. Nothing here repairs unless asked (:func:`repair`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

__all__ = [
    "Issue",
    "GEOS_REASON_CODES",
    "nonfinite",
    "invalid",
    "zero_area",
    "overlaps",
    "outside_outline",
    "implausible_sizes",
    "duplicate_numbers",
    "lonlat_range",
    "repair",
    "polygonal",
]

Severity = Literal["error", "warning"]

GEOS_REASON_CODES = {
    "Self-intersection": "self_intersection",
    "Ring Self-intersection": "ring_self_intersection",
    "Hole lies outside shell": "hole_outside_shell",
    "Holes are nested": "nested_holes",
    "Interior is disconnected": "disconnected_interior",
    "Nested shells": "nested_shells",
    "Duplicate Rings": "duplicate_rings",
    "Too few points in geometry component": "too_few_points",
    "Invalid Coordinate": "invalid_coordinate",
    "Ring is not closed": "unclosed_ring",
}
_REASON = re.compile(r"^(?P<reason>[^\[]+?)\s*(?:\[(?P<x>\S+)\s+(?P<y>\S+)\])?$")


@dataclass
class Issue:
    """One finding of the validation report."""

    code: str
    message: str
    feature: int | None = None
    location: list[float] | None = None
    severity: Severity = "error"
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if not d["details"]:
            d.pop("details")
        return d


def _loc(x: float, y: float) -> list[float]:
    return [round(float(x), 6), round(float(y), 6)]


def _first_point(geom: BaseGeometry) -> list[float] | None:
    coords = shapely.get_coordinates(geom)
    return _loc(*coords[0]) if len(coords) else None


def nonfinite(geoms: NDArray[np.object_], index: Sequence[int]) -> list[Issue]:
    """NaN or infinite coordinates, one issue per feature at its first bad vertex.

    >>> g = np.array([shapely.box(0, 0, 1, 1), shapely.Polygon([(0, 0), (np.nan, 0), (1, 1)])])
    >>> [(i.code, i.feature) for i in nonfinite(g, [0, 1])]
    [('nonfinite_coordinate', 1)]
    """
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    if not bad.any():
        return []
    owners, first = np.unique(owner[bad], return_index=True)
    rows = np.flatnonzero(bad)[first]
    return [
        Issue(
            "nonfinite_coordinate",
            "coordinate is NaN or infinite",
            feature=int(index[o]),
            location=[float(v) if np.isfinite(v) else str(v) for v in coords[r]],  # type: ignore[misc]
        )
        for o, r in zip(owners, rows, strict=True)
    ]


def invalid(geoms: NDArray[np.object_], index: Sequence[int], *, what: str = "room") -> list[Issue]:
    """OGC validity with the GEOS reason and location (as ``ST_IsValidDetail``).

    >>> bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    >>> [(i.code, i.location) for i in invalid(np.array([bowtie]), [7])]
    [('self_intersection', [1.0, 1.0])]
    """
    valid = shapely.is_valid(geoms)
    out: list[Issue] = []
    for i in np.flatnonzero(~valid & ~shapely.is_missing(geoms)):
        reason = str(shapely.is_valid_reason(geoms[i]))
        m = _REASON.match(reason)
        text = m.group("reason").strip() if m else reason
        loc = None
        if m and m.group("x") is not None:
            try:
                loc = _loc(float(m.group("x")), float(m.group("y")))
            except ValueError:
                loc = None
        code = GEOS_REASON_CODES.get(text, "invalid_geometry")
        out.append(
            Issue(
                code,
                f"{what} geometry is invalid: {text}",
                feature=int(index[int(i)]),
                location=loc,
            )
        )
    return out


def zero_area(geoms: NDArray[np.object_], index: Sequence[int]) -> list[Issue]:
    """Polygons that enclose no area (collapsed to a line or a point).

    >>> flat = shapely.Polygon([(0, 0), (1, 0), (2, 0), (0, 0)])
    >>> [i.code for i in zero_area(np.array([flat, shapely.box(0, 0, 1, 1)]), [0, 1])]
    ['zero_area']
    """
    areas = shapely.area(geoms)
    return [
        Issue(
            "zero_area",
            "room encloses no area",
            feature=int(index[int(i)]),
            location=_first_point(geoms[i]),
        )
        for i in np.flatnonzero((areas == 0) & ~shapely.is_missing(geoms))
    ]


def overlaps(
    geoms: NDArray[np.object_], index: Sequence[int], *, tolerance_m2: float = 0.01
) -> list[Issue]:
    """Pairs of rooms whose interiors overlap by more than ``tolerance_m2`` (shared walls pass).

    >>> a, b, c = shapely.box(0, 0, 4, 4), shapely.box(3, 0, 7, 4), shapely.box(7, 0, 9, 4)
    >>> [(i.feature, i.details["other"]) for i in overlaps(np.array([a, b, c]), [0, 1, 2])]
    [(0, 1)]
    """
    ok = shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    good = np.flatnonzero(ok)
    if len(good) < 2:
        return []
    sub = geoms[good]
    tree = shapely.STRtree(sub)
    left, right = tree.query(sub, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if len(left) == 0:
        return []
    shared = shapely.intersection(sub[left], sub[right])
    areas = shapely.area(shared)
    hit = areas > tolerance_m2
    out = []
    for li, ri, area, inter in zip(left[hit], right[hit], areas[hit], shared[hit], strict=True):
        p = shapely.point_on_surface(inter)
        out.append(
            Issue(
                "overlap",
                f"rooms overlap by {area:.2f} m²",
                feature=int(index[good[li]]),
                location=_loc(p.x, p.y),
                details={"other": int(index[good[ri]]), "overlap_m2": round(float(area), 4)},
            )
        )
    return out


def outside_outline(
    geoms: NDArray[np.object_],
    index: Sequence[int],
    outline: BaseGeometry,
    *,
    tolerance_m2: float = 0.01,
) -> list[Issue]:
    """Rooms reaching outside the floor outline by more than ``tolerance_m2``.

    >>> floor = shapely.box(0, 0, 10, 10)
    >>> rooms = np.array([shapely.box(1, 1, 3, 3), shapely.box(9, 1, 12, 3)])
    >>> [(i.feature, i.details["outside_m2"]) for i in outside_outline(rooms, [0, 1], floor)]
    [(1, 4.0)]
    """
    ok = shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if not shapely.is_valid(outline) or not ok.any():
        return []
    good = np.flatnonzero(ok)
    shapely.prepare(outline)
    inside = shapely.contains(outline, geoms[good])
    suspects = good[~inside]
    if len(suspects) == 0:
        return []
    rest = shapely.difference(geoms[suspects], outline)
    areas = shapely.area(rest)
    return [
        Issue(
            "room_outside_floor",
            f"room reaches {a:.2f} m² outside the floor outline",
            feature=int(index[int(i)]),
            location=_loc(p.x, p.y),
            details={"outside_m2": round(float(a), 4)},
        )
        for i, a, p in zip(suspects, areas, shapely.point_on_surface(rest), strict=True)
        if a > tolerance_m2
    ]


def implausible_sizes(
    areas: NDArray[np.float64],
    index: Sequence[int],
    geoms: NDArray[np.object_],
    *,
    min_m2: float,
    max_m2: float,
    error_above_m2: float,
) -> list[Issue]:
    """Rooms smaller than ``min_m2`` or larger than ``max_m2`` (warnings); absurd sizes error.

    >>> g = np.array([shapely.box(0, 0, 0.1, 0.1), shapely.box(0, 0, 3, 3)])
    >>> [(i.code, i.severity) for i in implausible_sizes(shapely.area(g), [0, 1], g,
    ...     min_m2=0.5, max_m2=5000, error_above_m2=1e5)]
    [('room_too_small', 'warning')]
    """
    out = []
    for i in np.flatnonzero((areas > 0) & ((areas < min_m2) | (areas > max_m2))):
        a = float(areas[i])
        if a < min_m2:
            code, msg, sev = "room_too_small", f"room of {a:.4f} m² is implausibly small", "warning"
        elif a > error_above_m2:
            code, msg, sev = (
                "room_too_large",
                f"room of {a:.0f} m² cannot be one room: check the CRS or the drawing units",
                "error",
            )
        else:
            code, msg, sev = "room_too_large", f"room of {a:.2f} m² is unusually large", "warning"
        out.append(
            Issue(
                code,
                msg,
                feature=int(index[int(i)]),
                location=_first_point(geoms[i]),
                severity=sev,  # type: ignore[arg-type]
            )
        )
    return out


def duplicate_numbers(numbers: Sequence[str | None], index: Sequence[int]) -> list[Issue]:
    """Room numbers used more than once on the floor (every later use is reported).

    >>> [(i.feature, i.details) for i in duplicate_numbers(["101", "102", "101", None], [0, 1, 2, 3])]
    [(2, {'first': 0})]
    """
    seen: dict[str, int] = {}
    out = []
    for n, i in zip(numbers, index, strict=True):
        if not n:
            continue
        if n in seen:
            out.append(
                Issue(
                    "duplicate_number",
                    f"room number {n!r} is used more than once",
                    feature=int(i),
                    details={"first": seen[n]},
                )
            )
        else:
            seen[n] = int(i)
    return out


def lonlat_range(geoms: NDArray[np.object_], index: Sequence[int]) -> list[Issue]:
    """Lon/lat coordinates out of range, with a hint when the axes look swapped.

    >>> g = np.array([shapely.box(30.1, 120.1, 30.2, 120.2)])
    >>> [i.message for i in lonlat_range(g, [0])]
    ['coordinates out of lon/lat range: axes look swapped (latitude first); send longitude, latitude']
    """
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    if len(coords) == 0:
        return []
    x, y = coords[:, 0], coords[:, 1]
    bad = ~((np.abs(x) <= 180) & (np.abs(y) <= 90))
    if not bad.any():
        return []
    swapped = bool(np.all(np.abs(x[bad]) <= 90) and np.all(np.abs(y[bad]) <= 180))
    hint = (
        ": axes look swapped (latitude first); send longitude, latitude"
        if swapped
        else ": these look like projected metres; name the projected CRS (EPSG:4491–4554)"
    )
    owners, first = np.unique(owner[bad], return_index=True)
    rows = np.flatnonzero(bad)[first]
    return [
        Issue(
            "axes_swapped" if swapped else "coordinates_out_of_range",
            "coordinates out of lon/lat range" + hint,
            feature=int(index[o]),
            location=_loc(*coords[r]),
        )
        for o, r in zip(owners, rows, strict=True)
    ]


def polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The polygonal part of a geometry as a MultiPolygon (lines and points dropped).

    >>> polygonal(shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.Point(5, 5)])).wkt
    'MULTIPOLYGON (((1 0, 1 1, 0 1, 0 0, 1 0)))'
    """
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon")]
    flat = shapely.get_parts(np.array(polys, dtype=object)) if polys else []
    return shapely.multipolygons(list(flat))


def repair(
    geoms: NDArray[np.object_], index: Sequence[int]
) -> tuple[NDArray[np.object_], list[Issue]]:
    """``make_valid`` the invalid geometries (asked for by the user), reporting area changes.

    >>> bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    >>> fixed, notes = repair(np.array([bowtie]), [3])
    >>> fixed[0].geom_type, round(fixed[0].area, 3), notes[0].code
    ('MultiPolygon', 2.0, 'repaired')
    """
    out = geoms.copy()
    notes: list[Issue] = []
    bad = np.flatnonzero(~shapely.is_valid(geoms) & ~shapely.is_missing(geoms))
    if len(bad) == 0:
        return out, notes
    fixed = shapely.make_valid(geoms[bad])
    for i, f in zip(bad, fixed, strict=True):
        poly = polygonal(f)
        before, after = float(shapely.area(geoms[i])), float(shapely.area(poly))
        out[i] = poly
        notes.append(
            Issue(
                "repaired",
                f"geometry repaired (make_valid): area {before:.4f} → {after:.4f} m²",
                feature=int(index[int(i)]),
                location=_first_point(geoms[i]),
                severity="warning",
                details={"area_before": before, "area_after": after, "area_change": after - before},
            )
        )
    return out, notes
