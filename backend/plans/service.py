"""Surveyor plan uploads: the use case around the pure pipeline of ``gis.pipeline``.

The service keeps what needs the register: the building in the caller's scope, the
replay of retries (idempotency), optimistic locking of the floor version, the lookups
(agencies in scope, space categories, ``ST_Area(geography)``), the re-survey carry-over
and the commit. A dry run (or any upload with errors) changes nothing. A committed import,
in the caller's transaction: closes the current version of the floor, adds the new
version with its rooms, keeps the original file by sha256, records the import (the key of
idempotent retries) and appends an audit event (``backend.plans.store``). A process killed
before the commit leaves the old version intact because nothing is visible until the one
COMMIT.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from backend import reference, timekeeping
from backend.accounts.access import Principal, roles_for
from backend.compliance import service as compliance
from backend.db.models import Agency, Building, Floor, Region
from backend.db.plans import PlanImport
from backend.domain import SPACE_CATEGORIES
from backend.inventory import service as inventory
from backend.plans import resurvey, store
from backend.plans.store import current_floor_version, floor_rooms, floor_version_id
from backend.services import scope as scopes
from backend.services.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    PayloadTooLarge,
    StaleVersion,
    UnsupportedMediaType,
)
from backend.services.scope import Scope
from backend.settings import UploadSettings, upload_settings
from gis import pipeline
from gis.crs import epsg
from gis.georef import GeorefError, Similarity, parse_georef
from gis.io import FieldMapping, Limits, PlanData, UploadRefused, read_plan

__all__ = [
    "AFTER_IMPORT",
    "NEW_LEVEL",
    "PlanOutcome",
    "PlanRequest",
    "UploadSettings",
    "current_floor_version",
    "floor_rooms",
    "floor_version_id",
    "import_plan",
    "map_category",
    "parse_crs",
    "parse_json_field",
    "read_in_worker",
    "upload_settings",
]

log = logging.getLogger(__name__)
ACCEPTED_CRS = (4490, 4326, *range(4491, 4555))
GEOGRAPHIC = pipeline.GEOGRAPHIC
PLAN_LOCK = 0x504C414E  # advisory lock class "PLAN" (two-key form: class, building·level)

# called as hook(session, building_id) after a plan is committed, in the same transaction
# (the stock-take matches its declared rooms to the surveyed ones)
AFTER_IMPORT: list[Callable[[Session, int], None]] = []


@dataclass(frozen=True)
class PlanRequest:
    """One upload, parsed at the edge."""

    building_id: int
    level: int
    filename: str
    data: bytes
    crs: str
    mapping: dict[str, Any] | None = None
    georef: dict[str, Any] | None = None
    dry_run: bool = False
    repair: bool = False
    idempotency_key: str | None = None
    # the floor version the upload replaces: its number (If-Match), NEW_LEVEL for a level
    # without a floor yet (If-None-Match: *), None: unconditional (the operator's CLI)
    expected_version: int | None = None

    carry_over: dict[str, Any] | None = None  # old room id -> new feature index or "end"
    preview: bool = False  # dry run: add the rooms as lon/lat GeoJSON to the report


NEW_LEVEL = -1  # expected_version of a first upload: no current floor at that level


@dataclass
class PlanOutcome:
    """``status``: dry_run, imported, replayed or rejected; the report is the API body."""

    status: str
    report: dict[str, Any]
    floor_id: int | None = None

    @property
    def accepted(self) -> bool:
        return self.status != "rejected"


# ------------------------------------------------------------------ parsing at the edge
def parse_crs(value: str | None) -> int:
    """EPSG code of an accepted CRS (``EPSG:4549``, ``4549``), else InvalidInput."""
    raw = (value or "").strip().upper().removeprefix("EPSG:")
    if not raw.isdigit() or int(raw) not in ACCEPTED_CRS:
        raise InvalidInput(
            f"crs {value!r} is not accepted: give EPSG:4490 or EPSG:4326 (lon/lat), or a "
            "CGCS2000 Gauss–Krüger zone EPSG:4491–4554 (local CAD: that zone + georef)",
            message_zh="坐标系须明确：EPSG:4490/4326（经纬度）或 CGCS2000 高斯-克吕格分带 EPSG:4491–4554",
            details={"parameter": "crs", "value": (value or "")[:50]},
        )
    return int(raw)


def parse_json_field(name: str, value: str | None, max_len: int = 65536) -> dict[str, Any] | None:
    """A JSON-object form field (mapping, georef), or InvalidInput."""
    if value is None or not value.strip():
        return None
    if len(value) > max_len:
        raise InvalidInput(f"{name} is too long", message_zh=f"{name} 过长")
    try:
        doc = json.loads(value)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(
            f"{name} is not valid JSON: {exc}",
            message_zh=f"{name} 不是有效的 JSON",
            details={"parameter": name},
        ) from exc
    if not isinstance(doc, dict):
        raise InvalidInput(f"{name} must be a JSON object", message_zh=f"{name} 须为 JSON 对象")
    return doc


def _parse_mapping(req: PlanRequest) -> FieldMapping:
    try:
        return FieldMapping.parse(req.mapping)
    except ValueError as exc:
        raise InvalidInput(
            f"mapping: {exc}", message_zh="mapping 参数无效", details={"parameter": "mapping"}
        ) from exc


def _parse_georef(req: PlanRequest, crs: int) -> Similarity | None:
    if not req.georef:
        return None
    if crs in GEOGRAPHIC:
        raise InvalidInput(
            "georef places local CAD coordinates in a projected CRS: give the GK zone "
            "(EPSG:4491–4554) as crs",
            message_zh="地理配准须配合投影坐标系（EPSG:4491–4554）",
        )
    try:
        return parse_georef(req.georef)
    except GeorefError as exc:
        raise InvalidInput(
            f"georef: {exc}", message_zh="georef 参数无效", details={"parameter": "georef"}
        ) from exc


def _refused(exc: UploadRefused) -> DomainError:
    cls: type[DomainError] = {
        "too_large": PayloadTooLarge,
        "unsupported": UnsupportedMediaType,
        "invalid": InvalidInput,
    }[exc.kind]
    if exc.internal:  # the library's own words (temporary paths, versions): the log only
        log.warning("upload refused (%s): %s", exc.code, exc.internal)
    err = cls(exc.message, message_zh=exc.message_zh, details=exc.details)
    err.code = exc.code
    return err


# ------------------------------------------------------------------ reading in a worker
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _lower_priority() -> None:
    """Worker processes yield the CPU to the server's request handling (nice +10)."""
    with contextlib.suppress(OSError):
        os.nice(10)


def _reader_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # forkserver: workers start from a clean single-threaded server with the
            # readers imported, never forked from the threaded web server
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["gis.io.reader"])
            _pool = ProcessPoolExecutor(
                max_workers=upload_settings().workers,
                mp_context=context,
                initializer=_lower_priority,
            )
        return _pool


def read_in_worker(
    filename: str, data: bytes, *, level: int, mapping: FieldMapping, limits: Limits
) -> PlanData:
    """``gis.io.read_plan`` in a worker process at lower CPU priority: parsing never holds
    the server's interpreter, and a reader that crashes (a GDAL fault on a hostile file)
    costs that worker, not the server — the upload is refused with a 422."""
    global _pool
    try:
        future = _reader_pool().submit(
            read_plan, filename, data, level=level, mapping=mapping, limits=limits
        )
        return future.result()
    except BrokenProcessPool as exc:
        with _pool_lock:
            _pool = None
        raise UploadRefused(
            "invalid",
            "reader_crashed",
            "the file could not be read: the reader stopped on it",
            "文件无法读取：读取程序在处理该文件时中止",
        ) from exc


# ------------------------------------------------------------------ lookups
@lru_cache
def _category_tables() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(code → category, Chinese/English name → code, IMDF category → code)."""
    codes: dict[str, str] = {}
    names: dict[str, str] = {}
    for c in reference.space_categories().values():
        codes[c.code] = c.category
        names[c.name_zh] = c.code
        names[c.name_en.lower()] = c.code
    imdf = {k: v or "" for k, v in reference.imdf_category_map().items()}
    return codes, names, imdf


def map_category(value: str | None, *, imdf: bool = False) -> tuple[str | None, str | None]:
    """(category, subcategory code) for a file's category value; (None, None) if unknown."""
    if not value:
        return None, None
    codes, names, imdf_map = _category_tables()
    if imdf and value in imdf_map:
        value = imdf_map[value]
    if value in codes:
        return codes[value], value
    if value in SPACE_CATEGORIES:
        return value, None
    code = names.get(value) or names.get(value.lower())
    if code:
        return codes[code], code
    return None, None


def _geodesic_areas(session: Session, lonlat: np.ndarray) -> np.ndarray:
    """``ST_Area(geography)`` of lon/lat geometries, computed by PostGIS in one query."""
    if len(lonlat) == 0:
        return np.zeros(0)
    wkb = [bytes(w) for w in shapely.to_wkb(lonlat)]
    rows = session.execute(
        text(
            "SELECT ST_Area(ST_SetSRID(ST_GeomFromWKB(w), 4490)::geography) "
            "FROM unnest(CAST(:w AS bytea[])) WITH ORDINALITY AS t(w, n) ORDER BY n"
        ),
        {"w": wkb},
    ).scalars()
    return np.array([float(r) for r in rows], dtype=np.float64)


def _lookups(session: Session, scope: Scope) -> pipeline.Lookups:
    """The pipeline's questions, answered from the register (agencies within ``scope``:
    one outside it is treated exactly like an unknown one)."""

    def known_agencies(ids: set[int]) -> set[int]:
        stmt = select(Agency.id).where(Agency.id.in_(ids), scopes.agencies(scope))
        return set(session.execute(stmt).scalars())

    return pipeline.Lookups(
        category=lambda value, imdf: map_category(value, imdf=imdf),
        known_agencies=known_agencies,
        geodesic_areas=lambda lonlat: _geodesic_areas(session, lonlat),
    )


def _geometry(session: Session, column: Any, where: Any) -> BaseGeometry | None:
    wkb = session.execute(select(func.ST_AsBinary(column)).where(where)).scalar_one_or_none()
    return None if wkb is None else shapely.from_wkb(bytes(wkb))


def _site(session: Session, building: Building, previous: Floor | None) -> pipeline.Site:
    """What the register knows about where the plan goes."""
    return pipeline.Site(
        region=_geometry(session, Region.boundary, Region.adcode == building.region_adcode),
        region_code=building.region_adcode,
        footprint=_geometry(session, Building.footprint, Building.id == building.id),
        default_agency=building.agency_id,
        previous_outline=(
            _geometry(session, Floor.outline, Floor.id == previous.id) if previous else None
        ),
        previous_name=previous.name if previous else None,
        previous_version=previous.version if previous else None,
        previous_storey_m=previous.storey_height_m if previous else None,
    )


# ------------------------------------------------------------------ the use case
def _request_sha(req: PlanRequest, file_sha: str, crs: int, storey: float | None) -> str:
    doc = {
        "file": file_sha,
        "building": req.building_id,
        "level": req.level,
        "crs": crs,
        "mapping": req.mapping,
        "georef": req.georef,
        "repair": req.repair,
        "storey_height_m": storey,
    }
    if req.carry_over is not None:
        doc["carry_over"] = req.carry_over
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def import_plan(
    session: Session,
    req: PlanRequest,
    *,
    principal: Principal,
    scope: Scope,
    settings: UploadSettings | None = None,
) -> PlanOutcome:
    """Validate a plan and, unless a dry run or rejected, commit it as a new floor version."""
    s = settings or upload_settings()
    # a re-survey replaces every room of the floor: the building must be the caller's whole
    building = inventory.require_building(session, req.building_id, scope=scope, whole=True)
    crs = parse_crs(req.crs)
    mapping = _parse_mapping(req)
    georef = _parse_georef(req, crs)
    file_sha = hashlib.sha256(req.data).hexdigest()
    request_sha = _request_sha(req, file_sha, crs, mapping.storey_height_m)
    if not req.dry_run:
        replay = _lock_and_replay(session, req, principal, request_sha)
        if replay is not None:
            return replay
    previous = session.execute(
        select(Floor).where(
            Floor.building_id == building.id, Floor.level == req.level, Floor.valid_to.is_(None)
        )
    ).scalar_one_or_none()
    check = _check(session, req, crs, mapping, georef, _site(session, building, previous), s, scope)
    report = check.report()
    report["source"] = _source(check.plan, req, crs, file_sha)
    report["building_id"] = building.id
    report["level"] = req.level
    carry = _carry_over(session, req, previous, check, report)
    if report["errors"]:
        report["status"] = "rejected"
        return PlanOutcome("rejected", report)
    if req.dry_run and req.preview and check.frame is not None:
        report["preview"] = pipeline.preview(check, report)
    if req.dry_run:
        report["status"] = "dry_run"
        return PlanOutcome("dry_run", report)
    upload = store.Upload(req.building_id, req.level, req.filename, req.data, req.idempotency_key)
    floor_id = store.commit(
        session, upload, principal.username, previous, check, report, (file_sha, request_sha)
    )
    _after_commit(session, carry, floor_id, principal, building.id)
    return PlanOutcome("imported", report, floor_id)


def _check(
    session: Session,
    req: PlanRequest,
    crs: int,
    mapping: FieldMapping,
    georef: Similarity | None,
    site: pipeline.Site,
    s: UploadSettings,
    scope: Scope,
) -> pipeline.PlanCheck:
    """The pure pipeline, reading in a worker process; refusals become domain errors."""
    inp = pipeline.PlanInput(
        level=req.level,
        crs=crs,
        georef=georef,
        georef_doc=req.georef,
        repair=req.repair,
        storey_height_m=(req.mapping or {}).get("storey_height_m"),
    )

    def read() -> PlanData:
        return read_in_worker(
            req.filename, req.data, level=req.level, mapping=mapping, limits=s.limits()
        )

    try:
        return pipeline.run(read, inp, site, s.thresholds(), _lookups(session, scope))
    except UploadRefused as exc:
        raise _refused(exc) from exc


def _source(plan: PlanData, req: PlanRequest, crs: int, file_sha: str) -> dict[str, Any]:
    return {
        "sha256": file_sha,
        "filename": req.filename[:255],
        "format": plan.format,
        "driver": plan.driver,
        "crs": epsg(crs),
        "file_crs": plan.file_crs,
        "encoding": plan.encoding,
        "encoding_source": plan.encoding_source,
        "features": plan.features,
        "dxf_version": plan.dxf_version,
        "units": plan.units,
    }


def _after_commit(
    session: Session,
    carry: resurvey.CarryOver | None,
    floor_id: int,
    principal: Principal,
    building_id: int,
) -> None:
    """In the same transaction: carry the old version's uses over, follow compliance, and
    run the hooks of other features."""
    if carry is not None:
        resurvey.apply(
            session, carry, floor_id, today=timekeeping.today(), actor=principal.username
        )
    compliance.follow(
        session, compliance.target_for_floors(session, [floor_id]), actor=principal.username
    )
    for hook in AFTER_IMPORT:
        hook(session, building_id)


# ------------------------------------------------------------------ replay and locking
def _lock_and_replay(
    session: Session, req: PlanRequest, principal: Principal, request_sha: str
) -> PlanOutcome | None:
    """A commit: the role, one upload per floor at a time, the replay of a retry, and the
    floor version it replaces."""
    principal.require(*roles_for("plan.import"))
    session.execute(
        text("SELECT pg_advisory_xact_lock(:a, :b)"),
        {"a": PLAN_LOCK, "b": req.building_id * 1024 + (req.level & 1023)},
    )
    replay = _replay(session, req, request_sha)
    if replay is None and req.expected_version is not None:
        _check_floor_version(session, req)
    return replay


def _check_floor_version(session: Session, req: PlanRequest) -> None:
    """Optimistic locking of uploads: StaleVersion (412) unless the upload names the floor
    version it replaces (or a level without a floor, for a first upload)."""
    current = current_floor_version(session, req.building_id, req.level)
    if current == req.expected_version or (current is None and req.expected_version == NEW_LEVEL):
        return
    if current is None:
        message = (
            f"level {req.level} has no floor yet: send If-None-Match: * to create its first version"
        )
    elif req.expected_version == NEW_LEVEL:
        message = f"level {req.level} already has floor version {current}: send If-Match"
    else:
        message = (
            f"the floor of level {req.level} is at version {current}, not "
            f"{req.expected_version}: reload and retry"
        )
    raise StaleVersion(
        message,
        details={
            "current_version": current,
            "if_match": None if req.expected_version == NEW_LEVEL else req.expected_version,
            "if_none_match": "*" if req.expected_version == NEW_LEVEL else None,
        },
    )


def _replay(session: Session, req: PlanRequest, request_sha: str) -> PlanOutcome | None:
    if req.idempotency_key:
        row = session.execute(
            select(PlanImport).where(PlanImport.idempotency_key == req.idempotency_key)
        ).scalar_one_or_none()
        if row is not None and row.request_sha256 != request_sha:
            raise Conflict(
                "this Idempotency-Key was used for a different upload",
                message_zh="该 Idempotency-Key 已用于另一次上传",
                details={"idempotency_key": req.idempotency_key},
            )
        if row is not None:
            return PlanOutcome("replayed", {**row.report, "status": "replayed"}, row.floor_id)
    # without a key, a retry is the same request as the floor's latest import (and that
    # version is still current); an earlier plan uploaded again makes a new version
    row = session.execute(
        select(PlanImport)
        .where(PlanImport.building_id == req.building_id, PlanImport.level == req.level)
        .order_by(PlanImport.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None or row.request_sha256 != request_sha:
        return None
    current = session.execute(
        select(Floor.id).where(Floor.id == row.floor_id, Floor.valid_to.is_(None))
    ).scalar_one_or_none()
    if current is None:
        return None
    return PlanOutcome("replayed", {**row.report, "status": "replayed"}, row.floor_id)


# ------------------------------------------------------------------ re-survey
def _carry_over(
    session: Session,
    req: PlanRequest,
    previous: Floor | None,
    check: pipeline.PlanCheck,
    report: dict[str, Any],
) -> resurvey.CarryOver | None:
    """What moves from the current version to the new one (re-survey); undecided rooms
    are listed (a warning in the dry run) and refuse the commit."""
    if report["errors"] or check.frame is None:
        return None
    carry = resurvey.plan(
        session, previous, check.rows, check.frame.lonlat, req.carry_over, today=timekeeping.today()
    )
    if carry is not None:
        report["carry_over"] = carry.report()
        issue = carry.issue()
        if issue is not None and req.dry_run:  # listed now, refused only at commit
            report["warnings"].append(issue | {"severity": "warning"})
        elif issue is not None:
            report["errors"].append(issue)
    return carry
