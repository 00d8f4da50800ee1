"""A checked plan into the register, in the caller's transaction, and floor versions back.

The commit closes the current version of the floor, adds the new version and its rooms
(one INSERT … SELECT FROM unnest: COPY is refused under row-level security), keeps the
original file by sha256, records the import (the key of idempotent retries) and appends
one audit event.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from geoalchemy2 import WKBElement
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from backend.audit import service as audit
from backend.db.models import Floor
from backend.db.plans import PlanFile, PlanImport
from backend.inventory import service as inventory
from backend.services import scope as scopes
from backend.services.errors import NotFound
from backend.services.scope import Scope
from gis import validate as v
from gis.area import round_area
from gis.ewkb import multipolygon_hex_ewkb
from gis.pipeline import PlanCheck

SRID = 4490


@dataclass(frozen=True)
class Upload:
    """What the commit keeps of the request."""

    building_id: int
    level: int
    filename: str
    data: bytes
    idempotency_key: str | None


_INSERT_ROOMS = text(
    """
    INSERT INTO rooms (floor_id, building_id, number, category, subcategory, geom,
                       usable_area_raw, usable_area_m2, area_method, agency_id, attributes)
    SELECT :floor, :building, u.number, u.category, u.subcategory, u.geom::geometry,
           u.raw, u.m2, u.method, u.agency, u.attrs::jsonb
    FROM unnest(CAST(:number AS text[]), CAST(:category AS text[]),
                CAST(:subcategory AS text[]), CAST(:geom AS text[]), CAST(:raw AS float8[]),
                CAST(:m2 AS numeric[]), CAST(:method AS text[]), CAST(:agency AS int[]),
                CAST(:attrs AS text[]))
         AS u(number, category, subcategory, geom, raw, m2, method, agency, attrs)
    """
)


def commit(
    session: Session,
    upload: Upload,
    actor: str,
    previous: Floor | None,
    check: PlanCheck,
    report: dict[str, Any],
    shas: tuple[str, str],
) -> int:
    """The new floor version of a checked plan (``report`` gains its id, version and
    ``status``); returns the floor id. ``shas``: the file's and the request's sha256."""
    file_sha, request_sha = shas
    now = session.execute(select(func.now())).scalar_one()
    before = _close(session, previous, now)
    floor = _new_floor(session, upload, check, report["floor"], now, file_sha)
    _insert_rooms(session, floor, check)
    _keep_file(session, upload, actor, file_sha)
    report["floor"].update(id=floor.id, version=floor.version, valid_from=now.isoformat())
    report["status"] = "imported"
    session.add(
        PlanImport(
            building_id=upload.building_id,
            level=upload.level,
            floor_id=floor.id,
            file_sha256=file_sha,
            request_sha256=request_sha,
            idempotency_key=upload.idempotency_key,
            actor=actor,
            report=json.loads(json.dumps(report, default=str)),
        )
    )
    f = report["floor"]
    audit.record(
        session,
        actor=actor,
        action="plan.import",
        object_type="floor",
        object_id=floor.id,
        before=before,
        after={
            "floor_id": floor.id,
            "building_id": upload.building_id,
            "level": upload.level,
            "version": floor.version,
            "rooms": len(check.rows),
            "building_area_m2": f.get("building_area_m2"),
            "usable_area_m2": f.get("usable_area_m2"),
            "source_sha256": file_sha,
            "filename": upload.filename[:255],
        },
    )
    session.flush()
    return floor.id


def _close(session: Session, previous: Floor | None, now: dt.datetime) -> dict[str, Any] | None:
    """End the current version (locked first); its summary for the audit event."""
    if previous is None:
        return None
    session.execute(select(Floor.id).where(Floor.id == previous.id).with_for_update())
    before = {
        "floor_id": previous.id,
        "version": previous.version,
        "building_area_m2": str(previous.building_area_m2),
        "source_sha256": previous.source_sha256,
    }
    previous.valid_to = now
    session.flush()
    return before


def _new_floor(
    session: Session,
    upload: Upload,
    check: PlanCheck,
    f: dict[str, Any],
    now: dt.datetime,
    file_sha: str,
) -> Floor:
    last = session.execute(
        select(func.max(Floor.version)).where(
            Floor.building_id == upload.building_id, Floor.level == upload.level
        )
    ).scalar_one()
    assert check.frame is not None
    outline_lonlat = check.frame.outline_lonlat
    outline = (
        WKBElement(
            multipolygon_hex_ewkb(np.array([v.polygonal(outline_lonlat)], dtype=object), SRID)[0],
            srid=SRID,
            extended=True,
        )
        if outline_lonlat is not None
        else None
    )
    storey, building_area = f.get("storey_height_m"), f.get("building_area_m2")
    floor = Floor(
        building_id=upload.building_id,
        level=upload.level,
        name=f.get("name"),
        storey_height_m=None if storey is None else Decimal(str(storey)),
        outline=outline,
        outline_area_raw=f.get("outline_area_raw"),
        building_area_m2=None if building_area is None else round_area(building_area),
        area_rule=f.get("area_rule"),
        area_method=f.get("area_method"),
        version=(last or 0) + 1,
        valid_from=now,
        source_sha256=file_sha,
    )
    session.add(floor)
    session.flush()
    return floor


def _insert_rooms(session: Session, floor: Floor, check: PlanCheck) -> None:
    assert check.frame is not None
    rows = check.rows
    session.execute(
        _INSERT_ROOMS,
        {
            "floor": floor.id,
            "building": floor.building_id,
            "number": [(r["number"] or None) and r["number"][:40] for r in rows],
            "category": [r["category"] for r in rows],
            "subcategory": [r["subcategory"] for r in rows],
            "geom": multipolygon_hex_ewkb(check.frame.lonlat, SRID),
            "raw": [r["usable_area_raw"] for r in rows],
            "m2": [r["usable_area_m2"] for r in rows],
            "method": [r["area_method"] for r in rows],
            "agency": [r["agency_id"] for r in rows],
            "attrs": [
                json.dumps(
                    {**r["attributes"], "feature": r["feature"], "name": r["name"]},
                    ensure_ascii=False,
                    default=str,
                )
                for r in rows
            ],
        },
    )


def _keep_file(session: Session, upload: Upload, actor: str, file_sha: str) -> None:
    """The original file, content-addressed (kept once whatever the number of uploads)."""
    session.execute(
        insert(PlanFile)
        .values(
            sha256=file_sha,
            filename=upload.filename[:255],
            size_bytes=len(upload.data),
            content=upload.data,
            uploaded_by=actor,
        )
        .on_conflict_do_nothing(index_elements=["sha256"])
    )


# ------------------------------------------------------------------ reading back
def current_floor_version(session: Session, building_id: int, level: int) -> int | None:
    """The version of the level's current floor (its ETag), None when there is none."""
    return session.execute(
        select(Floor.version).where(
            Floor.building_id == building_id, Floor.level == level, Floor.valid_to.is_(None)
        )
    ).scalar_one_or_none()


def floor_version_id(
    session: Session, building_id: int, level: int, version: int | None, *, scope: Scope
) -> int:
    """Id of a floor version (current when ``version`` is None), within the caller's scope."""
    inventory.require_building(session, building_id, scope=scope)
    stmt = select(Floor.id).where(
        Floor.building_id == building_id, Floor.level == level, scopes.floors(scope)
    )
    stmt = stmt.where(Floor.version == version) if version else stmt.where(Floor.valid_to.is_(None))
    floor_id = session.execute(stmt).scalar_one_or_none()
    if floor_id is None:
        what = f"version {version}" if version else "current version"
        raise NotFound(
            f"floor {level} of building {building_id}: no {what}",
            message_zh=f"办公楼 {building_id} 第 {level} 层不存在该版本",
        )
    return int(floor_id)


def floor_rooms(
    session: Session,
    building_id: int,
    level: int,
    version: int | None,
    *,
    scope: Scope,
    page: inventory.Page,
) -> str:
    """Rooms of one floor version as a GeoJSON FeatureCollection."""
    floor_id = floor_version_id(session, building_id, level, version, scope=scope)
    return inventory.list_rooms(session, scope=scope, floor=floor_id, page=page)
