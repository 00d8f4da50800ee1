"""Helpers for the plan-upload tests: a demo building, rooms drawn in its GK zone, files.

(No tests here; other test modules import these.)
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from backend.db.models import Building, Floor
from gis.crs import gk3_zone_crs, transformer


@dataclass
class Site:
    building_id: int
    region_adcode: int
    crs: str  # the building's CGCS2000 3° GK zone, e.g. EPSG:4549
    footprint: Any  # in GK metres
    level: int  # a level with a current floor version


def demo_site(db: Session) -> Site:
    """A generated demo building with a current floor whose rooms carry nothing a
    re-survey would have to move (no running occupancy, lease or use, no live room finding),
    so that a test plan replacing it needs no carry-over decision."""
    carries_nothing = text(
        """
        NOT EXISTS (SELECT 1 FROM rooms r WHERE r.floor_id = floors.id AND (
            EXISTS (SELECT 1 FROM occupancies o WHERE o.room_id = r.id
                    AND (o.end_date IS NULL OR o.end_date > current_date))
            OR EXISTS (SELECT 1 FROM leases l WHERE l.room_id = r.id
                       AND (l.end_date IS NULL OR l.end_date > current_date))
            OR EXISTS (SELECT 1 FROM approved_uses u WHERE u.room_id = r.id
                       AND (u.end_date IS NULL OR u.end_date > current_date))
            OR EXISTS (SELECT 1 FROM compliance_findings c WHERE c.room_id = r.id
                       AND c.status <> 'closed'
                       AND c.object_type IN ('room', 'room_pair', 'occupancy'))))
        """
    )
    row = db.execute(
        select(
            Building.id, Building.region_adcode, func.ST_AsBinary(Building.footprint), Floor.level
        )
        .join(Floor, Floor.building_id == Building.id)
        .where(
            Floor.valid_to.is_(None),
            Building.source.is_(None) | ~Building.source.contains("IMDF"),
            carries_nothing,
        )
        .order_by(Building.id, Floor.level)
        .limit(1)
    ).one()
    fp = shapely.from_wkb(bytes(row[2]))
    crs = gk3_zone_crs(float(fp.centroid.x))
    return Site(int(row[0]), int(row[1]), crs, to_gk(fp, crs), int(row[3]))


def to_gk(geom: Any, crs: str) -> Any:
    tr = transformer("EPSG:4490", crs)
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def to_lonlat(geom: Any, crs: str) -> Any:
    tr = transformer(crs, "EPSG:4490")
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def rooms_in(site: Site, n: int = 6, w: float = 3.6, h: float = 5.0) -> list[Any]:
    """``n`` adjacent w×h rooms (GK metres) well inside the building's footprint."""
    inner = site.footprint.buffer(-1.0)
    c = site.footprint.centroid
    x0, y0 = c.x - n * w / 4, c.y - h
    out = []
    for k in range(n):
        col, row = k % (n // 2 or 1), k // (n // 2 or 1)
        box = shapely.box(x0 + col * w, y0 + row * h, x0 + (col + 1) * w, y0 + (row + 1) * h)
        out.append(box)
    assert all(inner.contains(b) for b in out), "demo footprint too small for the test rooms"
    return out


def feature_collection(geoms: list[Any], props: list[dict[str, Any]]) -> bytes:
    feats = [
        {"type": "Feature", "properties": p, "geometry": json.loads(shapely.to_geojson(g))}
        for g, p in zip(geoms, props, strict=True)
    ]
    return json.dumps({"type": "FeatureCollection", "features": feats}).encode()


def raw_feature_collection(coords: list[Any], props: list[dict[str, Any]]) -> bytes:
    """Polygons from raw coordinate lists (so rings can be left unclosed)."""
    feats = [
        {"type": "Feature", "properties": p, "geometry": {"type": "Polygon", "coordinates": c}}
        for c, p in zip(coords, props, strict=True)
    ]
    return json.dumps({"type": "FeatureCollection", "features": feats}).encode()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def counts(db: Session, building_id: int, level: int) -> dict[str, int]:
    """What is stored for one floor: versions, rooms of the current version, files, imports."""
    return dict(
        db.execute(
            text(
                "SELECT (SELECT count(*) FROM floors WHERE building_id = :b AND level = :l) AS versions,"
                " (SELECT count(*) FROM rooms r JOIN floors f ON f.id = r.floor_id"
                "   WHERE f.building_id = :b AND f.level = :l AND f.valid_to IS NULL) AS rooms,"
                " (SELECT count(*) FROM plan_files) AS files,"
                " (SELECT count(*) FROM plan_imports) AS imports,"
                " (SELECT count(*) FROM audit_events WHERE action = 'plan.import') AS audits"
            ),
            {"b": building_id, "l": level},
        )
        .mappings()
        .one()
    )
