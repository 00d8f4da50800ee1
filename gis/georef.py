"""Georeferencing of local CAD coordinates onto a projected survey CRS.

A CAD drawing in its own grid is placed by a 2D similarity (Helmert, 4 parameters):
``X = a·x − b·y + tx``, ``Y = b·x + a·y + ty`` with scale ``√(a²+b²)`` and rotation
``atan2(b, a)``. Either given directly (origin + rotation + scale, drawing units → metres)
or fitted by least squares to two or more control points, with the residuals reported.
Plain numpy affine math (the ``affine`` package or scikit-image's SimilarityTransform
would do the same).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

__all__ = ["Similarity", "GeorefError", "from_origin", "from_control_points", "parse_georef"]


class GeorefError(ValueError):
    """A georeference that cannot be used (missing points, degenerate, bad numbers)."""


# bounds of usable numbers: projected coordinates (GK with a zone prefix reach ~4.6e7 m,
# local drawings in mm a few 1e7), metres per drawing unit, degrees of rotation
MAX_COORDINATE = 1e9
SCALE_RANGE = (1e-9, 1e6)
MAX_ROTATION_DEG = 3600.0


def _bounded(value: float, limit: float, what: str) -> float:
    if not (math.isfinite(value) and abs(value) <= limit):
        raise GeorefError(f"{what} must be a finite number of magnitude at most {limit:g}")
    return value


@dataclass(frozen=True)
class Similarity:
    """``X = a·x − b·y + tx``, ``Y = b·x + a·y + ty``."""

    a: float
    b: float
    tx: float
    ty: float
    rms_m: float = 0.0
    max_residual_m: float = 0.0

    @property
    def scale(self) -> float:
        return math.hypot(self.a, self.b)

    @property
    def rotation_deg(self) -> float:
        return math.degrees(math.atan2(self.b, self.a))

    def apply_xy(self, xy: NDArray[np.float64]) -> NDArray[np.float64]:
        """Transform an (n, 2) array.

        >>> Similarity(0.0, 1.0, 10.0, 0.0).apply_xy(np.array([[1.0, 0.0]]))
        array([[10.,  1.]])
        """
        x, y = xy[:, 0], xy[:, 1]
        return np.column_stack(
            (self.a * x - self.b * y + self.tx, self.b * x + self.a * y + self.ty)
        )

    def apply(self, geoms: NDArray[np.object_]) -> NDArray[np.object_]:
        """Transform geometries (vectorised over all their coordinates)."""
        return np.asarray(shapely.transform(geoms, self.apply_xy), dtype=object)

    def describe(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "rotation_deg": self.rotation_deg,
            "translation": [self.tx, self.ty],
            "rms_m": self.rms_m,
            "max_residual_m": self.max_residual_m,
        }


def from_origin(origin: tuple[float, float], rotation_deg: float, scale: float) -> Similarity:
    """Drawing (0, 0) lands on ``origin``; counter-clockwise ``rotation_deg``; units × ``scale``.

    >>> t = from_origin((500_000.0, 3_300_000.0), 90.0, 0.001)
    >>> t.apply_xy(np.array([[1000.0, 0.0]])).round(6).tolist()
    [[500000.0, 3300001.0]]
    """
    if not (math.isfinite(scale) and SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]):
        raise GeorefError(
            f"scale must be a positive number between {SCALE_RANGE[0]:g} and "
            f"{SCALE_RANGE[1]:g} (metres per drawing unit)"
        )
    for value in origin:
        _bounded(value, MAX_COORDINATE, "origin")
    _bounded(rotation_deg, MAX_ROTATION_DEG, "rotation_deg")
    r = math.radians(rotation_deg)
    return Similarity(scale * math.cos(r), scale * math.sin(r), origin[0], origin[1])


def from_control_points(local: NDArray[np.float64], target: NDArray[np.float64]) -> Similarity:
    """Least-squares similarity from ≥ 2 control points (local drawing → target CRS).

    >>> loc = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 5.0]])
    >>> t = from_control_points(loc, from_origin((100.0, 200.0), 30.0, 2.0).apply_xy(loc))
    >>> round(t.scale, 9), round(t.rotation_deg, 9), t.rms_m < 1e-9
    (2.0, 30.0, True)
    """
    local = np.asarray(local, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if local.shape != target.shape or local.ndim != 2 or local.shape[1] != 2:
        raise GeorefError("control points must be pairs of [x, y] (local) and [X, Y] (target)")
    if len(local) < 2:
        raise GeorefError("at least two control points are needed")
    if not (np.isfinite(local).all() and np.isfinite(target).all()):
        raise GeorefError("control points must be finite numbers")
    if np.abs(local).max() > MAX_COORDINATE or np.abs(target).max() > MAX_COORDINATE:
        raise GeorefError(f"control point coordinates must be at most {MAX_COORDINATE:g}")
    lc, tc = local.mean(axis=0), target.mean(axis=0)
    dl, dt = local - lc, target - tc
    norm = float((dl**2).sum())
    if norm == 0:
        raise GeorefError("control points coincide: they must be distinct")
    a = float((dl[:, 0] * dt[:, 0] + dl[:, 1] * dt[:, 1]).sum()) / norm
    b = float((dl[:, 0] * dt[:, 1] - dl[:, 1] * dt[:, 0]).sum()) / norm
    tx = float(tc[0] - a * lc[0] + b * lc[1])
    ty = float(tc[1] - b * lc[0] - a * lc[1])
    fit = Similarity(a, b, tx, ty)
    if not SCALE_RANGE[0] <= fit.scale <= SCALE_RANGE[1]:
        raise GeorefError(f"the control points give an unusable scale ({fit.scale:.3g})")
    res = np.hypot(*(fit.apply_xy(local) - target).T)
    return Similarity(a, b, tx, ty, float(np.sqrt((res**2).mean())), float(res.max()))


def _pair(value: Any, what: str) -> tuple[float, float]:
    if not (isinstance(value, list | tuple) and len(value) == 2):
        raise GeorefError(f"{what} must be [x, y]")
    try:
        x, y = float(value[0]), float(value[1])
    except (TypeError, ValueError, OverflowError) as exc:
        raise GeorefError(f"{what} must be numbers") from exc
    return x, y


def parse_georef(doc: dict[str, Any]) -> Similarity:
    """``{"origin": [X, Y], "rotation_deg": r, "scale": s}`` or ``{"control_points": [...]}``.

    Control points are ``{"local": [x, y], "target": [X, Y]}`` objects.

    >>> parse_georef({"origin": [10, 20], "scale": 0.001}).describe()["translation"]
    [10.0, 20.0]
    """
    if not isinstance(doc, dict):
        raise GeorefError("georef must be a JSON object")
    unknown = set(doc) - {"origin", "rotation_deg", "scale", "control_points"}
    if unknown:
        raise GeorefError(f"unknown georef keys: {', '.join(sorted(unknown))}")
    if "control_points" in doc:
        cps = doc["control_points"]
        if not isinstance(cps, list) or len(cps) > 1000:
            raise GeorefError("control_points must be a list (at most 1000)")
        pairs = [
            (_pair(c.get("local"), "local"), _pair(c.get("target"), "target"))
            if isinstance(c, dict)
            else (_pair(None, "local"), (0.0, 0.0))
            for c in cps
        ]
        return from_control_points(
            np.array([p[0] for p in pairs]).reshape(-1, 2),
            np.array([p[1] for p in pairs]).reshape(-1, 2),
        )
    if "origin" not in doc:
        raise GeorefError("georef needs origin (+ rotation_deg, scale) or control_points")
    try:
        rotation = float(doc.get("rotation_deg", 0.0))
        scale = float(doc.get("scale", 1.0))
    except (TypeError, ValueError, OverflowError) as exc:
        raise GeorefError("rotation_deg and scale must be numbers") from exc
    return from_origin(_pair(doc["origin"], "origin"), rotation, scale)
