"""Surveyor plan uploads: read → validate → areas → one transaction making a floor version.

A dry run (or any upload with errors) changes nothing. A committed import, in the
caller's transaction: closes the current version of the floor, adds the new version with
its rooms (COPY), keeps the original file by sha256, records the import (the key of
idempotent retries) and appends an audit event. A process killed before the commit leaves
the old version intact because nothing is visible until the one COMMIT.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from geoalchemy2 import WKBElement
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from backend import reference, timekeeping
from backend.accounts.access import Principal, roles_for
from backend.audit import service as audit
from backend.compliance import service as compliance
from backend.db.models import Agency, Building, Floor, Region
from backend.db.plans import PlanFile, PlanImport
from backend.domain import SPACE_CATEGORIES
from backend.inventory import service as inventory
from backend.services import resurvey
from backend.services import scope as scopes
from backend.services.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    StaleVersion,
    UnsupportedMediaType,
)
from backend.services.scope import Scope
from gis import validate as v
from gis.area import area_method, planar_areas, round_area, storey_building_area
from gis.crs import CGCS2000, gk3_zone_crs, transformer
from gis.georef import GeorefError, Similarity, parse_georef
from gis.io import FieldMapping, Limits, PlanData, UploadRefused, read_plan

log = logging.getLogger(__name__)
ACCEPTED_CRS = (4490, 4326, *range(4491, 4555))
GEOGRAPHIC = (4490, 4326)
PLAN_LOCK = 0x504C414E  # advisory lock class "PLAN" (two-key form: class, building·level)

# called as hook(session, building_id) after a plan is committed, in the same transaction
# (the stock-take matches its declared rooms to the surveyed ones)
AFTER_IMPORT: list[Callable[[Session, int], None]] = []


class UploadSettings(BaseSettings):
    """Upload limits and validation thresholds (env prefix OFFICEMAP_UPLOAD_)."""

    model_config = SettingsConfigDict(env_prefix="OFFICEMAP_UPLOAD_")

    # the file limits default to gis.io.Limits (one place for the numbers)
    max_bytes: int = Limits.max_bytes
    max_unzipped_bytes: int = Limits.max_unzipped_bytes
    max_zip_ratio: float = Limits.max_zip_ratio
    max_zip_members: int = Limits.max_zip_members
    max_features: int = Limits.max_features
    max_vertices: int = Limits.max_vertices
    max_feature_vertices: int = Limits.max_feature_vertices
    max_json_depth: int = Limits.max_json_depth
    min_room_m2: float = 1.0
    max_room_m2: float = 2_000.0
    absurd_room_m2: float = 100_000.0
    overlap_tolerance_m2: float = 0.01
    outside_tolerance_m2: float = 0.05
    georef_max_rms_m: float = 0.05
    geodesic_tolerance: float = 0.001
    far_from_building_m: float = 200.0
    usable_coefficient_min: float | None = None
    usable_coefficient_max: float | None = None
    workers: int = Field(
        default=2, ge=1, le=64, description="plan imports running at once (worker threads)"
    )
    max_dxf_block_entities: int = Field(
        default=Limits.max_dxf_block_entities,
        ge=1,
        description="DXF: entities that block inserts would expand to, counted before expanding",
    )

    def limits(self) -> Limits:
        return Limits(**{f.name: getattr(self, f.name) for f in dataclasses.fields(Limits)})


@lru_cache
def upload_settings() -> UploadSettings:
    return UploadSettings()


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


@dataclass
class _Frame:
    """Room geometries in the metric survey frame and in lon/lat."""

    metric: np.ndarray
    lonlat: np.ndarray
    outline_metric: BaseGeometry | None
    outline_lonlat: BaseGeometry | None
    crs: str
    outline_source: str
    georef: Similarity | None = None
    notes: list[v.Issue] = field(default_factory=list)


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
            context.set_forkserver_preload(["gis.io"])
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


# ------------------------------------------------------------------ categories
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


# ------------------------------------------------------------------ frames
def _project(geoms: np.ndarray, src: str, dst: str) -> np.ndarray:
    tr = transformer(src, dst)
    return np.asarray(
        shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))),
        dtype=object,
    )


def _one(geom: BaseGeometry | None, src: str, dst: str) -> BaseGeometry | None:
    if geom is None:
        return None
    out: BaseGeometry = _project(np.array([geom], dtype=object), src, dst)[0]
    return out


def _epsg(code: int) -> str:
    return f"EPSG:{code}"


def _geometry(session: Session, column: Any, where: Any) -> BaseGeometry | None:
    wkb = session.execute(select(func.ST_AsBinary(column)).where(where)).scalar_one_or_none()
    return None if wkb is None else shapely.from_wkb(bytes(wkb))


def _crs_hints(rooms: np.ndarray, crs: int, region: BaseGeometry | None) -> list[v.Issue]:
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
            back = _project(np.array([shapely.Point(y, x)]), _epsg(crs), CGCS2000)[0]
            if shapely.covers(region, back):
                hint = "axes look swapped: give easting (x) first, then northing (y)"
        except Exception:  # pyproj may refuse absurd input; then there is no hint
            hint = None
    if hint is None:
        return []
    return [
        v.Issue(
            "axes_swapped" if "swapped" in hint else "crs_zone_mismatch",
            f"coordinates do not fit {_epsg(crs)}: {hint}",
            location=[float(x), float(y)],
        )
    ]


def _frames(
    session: Session,
    plan: PlanData,
    rooms: np.ndarray,
    crs: int,
    georef: Similarity | None,
    building: Building,
    previous: Floor | None,
) -> _Frame:
    """Rooms and outline in the metric survey CRS and in lon/lat."""
    outline = plan.outline
    footprint = _geometry(session, Building.footprint, Building.id == building.id)
    if crs in GEOGRAPHIC:
        if footprint is not None:
            metric_crs = gk3_zone_crs(float(shapely.centroid(footprint).x))
        else:
            metric_crs = gk3_zone_crs(float(np.median(shapely.get_coordinates(rooms)[:, 0])))
        lonlat = rooms
        metric = _project(rooms, CGCS2000, metric_crs)
        outline_metric = _one(outline, CGCS2000, metric_crs)
        outline_lonlat = outline
    else:
        metric_crs = _epsg(crs)
        metric = georef.apply(rooms) if georef else rooms
        outline_metric = (
            georef.apply(np.array([outline], dtype=object))[0] if georef and outline else outline
        )
        lonlat = _project(metric, metric_crs, CGCS2000)
        outline_lonlat = _one(outline_metric, metric_crs, CGCS2000)
    source = "file"
    if outline_metric is None:
        prev = _geometry(session, Floor.outline, Floor.id == previous.id) if previous else None
        if prev is not None:
            outline_lonlat, source = prev, "previous_version"
        elif footprint is not None:
            outline_lonlat, source = footprint, "building_footprint"
        outline_metric = _one(outline_lonlat, CGCS2000, metric_crs)
    return _Frame(metric, lonlat, outline_metric, outline_lonlat, metric_crs, source, georef)


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


# ------------------------------------------------------------------ the pipeline
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


def _issue_dicts(issues: list[v.Issue]) -> list[dict[str, Any]]:
    return [i.as_dict() for i in issues]


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
    try:
        mapping = FieldMapping.parse(req.mapping)
    except ValueError as exc:
        raise InvalidInput(
            f"mapping: {exc}", message_zh="mapping 参数无效", details={"parameter": "mapping"}
        ) from exc
    georef = None
    if req.georef:
        if crs in GEOGRAPHIC:
            raise InvalidInput(
                "georef places local CAD coordinates in a projected CRS: give the GK zone "
                "(EPSG:4491–4554) as crs",
                message_zh="地理配准须配合投影坐标系（EPSG:4491–4554）",
            )
        try:
            georef = parse_georef(req.georef)
        except GeorefError as exc:
            raise InvalidInput(
                f"georef: {exc}", message_zh="georef 参数无效", details={"parameter": "georef"}
            ) from exc
    file_sha = hashlib.sha256(req.data).hexdigest()
    request_sha = _request_sha(req, file_sha, crs, mapping.storey_height_m)

    if not req.dry_run:
        principal.require(*roles_for("plan.import"))
        session.execute(
            text("SELECT pg_advisory_xact_lock(:a, :b)"),
            {"a": PLAN_LOCK, "b": req.building_id * 1024 + (req.level & 1023)},
        )
        replay = _replay(session, req, request_sha)
        if replay is not None:
            return replay
        if req.expected_version is not None:
            _check_floor_version(session, req)

    try:
        plan = read_in_worker(
            req.filename, req.data, level=req.level, mapping=mapping, limits=s.limits()
        )
    except UploadRefused as exc:
        raise _refused(exc) from exc
    georef, unit_notes = _drawing_units(plan, req, crs, georef)
    plan.warnings += [n for n in unit_notes if n.severity == "warning"]
    plan.errors += [n for n in unit_notes if n.severity == "error"]

    previous = session.execute(
        select(Floor).where(
            Floor.building_id == building.id, Floor.level == req.level, Floor.valid_to.is_(None)
        )
    ).scalar_one_or_none()
    report, rows, frame = _validate(
        session, plan, req, crs, georef, building, previous, s, scope=scope
    )
    report["source"] = {
        "sha256": file_sha,
        "filename": req.filename[:255],
        "format": plan.format,
        "driver": plan.driver,
        "crs": _epsg(crs),
        "file_crs": plan.file_crs,
        "encoding": plan.encoding,
        "encoding_source": plan.encoding_source,
        "features": plan.features,
        "dxf_version": plan.dxf_version,
        "units": plan.units,
    }
    report["building_id"] = building.id
    report["level"] = req.level
    carry = _carry_over(session, req, previous, rows, frame, report)
    if report["errors"]:
        report["status"] = "rejected"
        return PlanOutcome("rejected", report)
    if req.dry_run and req.preview and frame is not None:
        report["preview"] = _preview(frame, rows, report)
    if req.dry_run:
        report["status"] = "dry_run"
        return PlanOutcome("dry_run", report)
    assert frame is not None
    floor_id = _commit(
        session,
        req,
        principal,
        building,
        previous,
        plan,
        report,
        rows,
        frame,
        file_sha,
        request_sha,
    )
    if carry is not None:
        resurvey.apply(
            session, carry, floor_id, today=timekeeping.today(), actor=principal.username
        )
    compliance.follow(
        session, compliance.target_for_floors(session, [floor_id]), actor=principal.username
    )
    for hook in AFTER_IMPORT:
        hook(session, building.id)
    return PlanOutcome("imported", report, floor_id)


def current_floor_version(session: Session, building_id: int, level: int) -> int | None:
    """The version of the level's current floor (its ETag), None when there is none."""
    return session.execute(
        select(Floor.version).where(
            Floor.building_id == building_id, Floor.level == level, Floor.valid_to.is_(None)
        )
    ).scalar_one_or_none()


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


def _drawing_units(
    plan: PlanData, req: PlanRequest, crs: int, georef: Similarity | None
) -> tuple[Similarity | None, list[v.Issue]]:
    """Apply the drawing's $INSUNITS: the georef's scale when it gives none, a report when
    the given (or fitted) scale contradicts it, an error when unscaled units are not metres."""
    factor, units = plan.unit_scale, plan.units
    if factor is None or crs in GEOGRAPHIC:
        return georef, []
    details = {"insunits": units, "metres_per_unit": factor}
    if georef is None:
        if abs(factor - 1.0) > 1e-12:
            return None, [
                v.Issue(
                    "units_not_metres",
                    f"the drawing is in {units} ($INSUNITS) but no georef scales it to metres: "
                    "send georef (origin + rotation; the scale follows from $INSUNITS)",
                    details=details,
                )
            ]
        return None, []
    doc = req.georef or {}
    if "origin" in doc and "scale" not in doc:
        placed = parse_georef({**doc, "scale": factor})
        return placed, [
            v.Issue(
                "scale_from_insunits",
                f"scale {factor:g} m per drawing unit taken from $INSUNITS ({units})",
                severity="warning",
                details=details,
            )
        ]
    if abs(georef.scale / factor - 1) > 0.01:
        return georef, [
            v.Issue(
                "scale_contradicts_insunits",
                f"the georef scale {georef.scale:.9g} contradicts the drawing's units "
                f"({units}, {factor:g} m per unit, $INSUNITS); the georef's scale is used — "
                "check the areas",
                severity="warning",
                details={**details, "georef_scale": georef.scale},
            )
        ]
    return georef, []


def _carry_over(
    session: Session,
    req: PlanRequest,
    previous: Floor | None,
    rows: list[dict[str, Any]],
    frame: _Frame | None,
    report: dict[str, Any],
) -> resurvey.CarryOver | None:
    """What moves from the current version to the new one (re-survey); undecided rooms
    are listed (a warning in the dry run) and refuse the commit."""
    if report["errors"] or frame is None:
        return None
    carry = resurvey.plan(
        session, previous, rows, frame.lonlat, req.carry_over, today=timekeeping.today()
    )
    if carry is not None:
        report["carry_over"] = carry.report()
        issue = carry.issue()
        if issue is not None and req.dry_run:  # listed now, refused only at commit
            report["warnings"].append(issue | {"severity": "warning"})
        elif issue is not None:
            report["errors"].append(issue)
    return carry


def _preview(frame: _Frame, rows: list[dict[str, Any]], report: dict[str, Any]) -> dict[str, Any]:
    """The dry run's rooms in lon/lat for the upload page's map, each marked with the worst
    issue that names it (error / warning / ok), and the floor outline."""
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
        for r, g in zip(rows, frame.lonlat, strict=True)
    ]
    outline = (
        None if frame.outline_lonlat is None else shapely.geometry.mapping(frame.outline_lonlat)
    )
    return {"type": "FeatureCollection", "features": features, "outline": outline}


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


def _validate(
    session: Session,
    plan: PlanData,
    req: PlanRequest,
    crs: int,
    georef: Similarity | None,
    building: Building,
    previous: Floor | None,
    s: UploadSettings,
    *,
    scope: Scope,
) -> tuple[dict[str, Any], list[dict[str, Any]], _Frame | None]:
    errors: list[v.Issue] = list(plan.errors)
    warnings: list[v.Issue] = list(plan.warnings)
    report: dict[str, Any] = {"rooms": [], "floor": {}, "errors": [], "warnings": []}

    def done(
        frame: _Frame | None = None, rows: list[dict[str, Any]] | None = None
    ) -> tuple[dict[str, Any], list[dict[str, Any]], _Frame | None]:
        report["errors"] = _issue_dicts(sorted(errors, key=_order))
        report["warnings"] = _issue_dicts(sorted(warnings, key=_order))
        return report, rows or [], frame

    rooms = plan.rooms
    index = plan.index
    present = ~shapely.is_missing(rooms) if len(rooms) else np.zeros(0, bool)
    if len(rooms) == 0 or not present.any():
        errors.append(v.Issue("no_rooms", "the file holds no room polygons"))
        return done()
    if plan.file_crs and crs in GEOGRAPHIC and georef is None:
        pass
    if georef is not None and georef.rms_m > s.georef_max_rms_m:
        errors.append(
            v.Issue(
                "georef_residuals",
                f"control points disagree: RMS residual {georef.rms_m:.3f} m "
                f"(limit {s.georef_max_rms_m} m)",
                details=georef.describe(),
            )
        )
    bad = v.nonfinite(rooms, index)
    if plan.outline is not None:
        bad += [
            v.Issue(i.code, "floor outline: " + i.message, location=i.location)
            for i in v.nonfinite(np.array([plan.outline], dtype=object), [0])
        ]
    errors += bad
    if crs in GEOGRAPHIC and not bad:
        errors += v.lonlat_range(rooms, index)
    if errors:
        return done()
    unclosed = {e.feature for e in errors if e.code == "unclosed_ring"}

    # validity in the file's own coordinates (locations the surveyor can find)
    invalid = v.invalid(rooms, index) + v.zero_area(
        rooms[present], [index[i] for i in np.flatnonzero(present)]
    )
    outline_invalid = []
    if plan.outline is not None and not shapely.is_valid(plan.outline):
        outline_invalid = [
            v.Issue(
                "outline_" + i.code,
                "floor outline: " + i.message,
                location=i.location,
            )
            for i in v.invalid(np.array([plan.outline], dtype=object), [0], what="outline")
        ]
    if req.repair:
        rooms, notes = v.repair(rooms, index)
        warnings += notes
        if outline_invalid:
            before = float(shapely.area(plan.outline))
            plan.outline = v.polygonal(shapely.make_valid(plan.outline))
            warnings.append(
                v.Issue(
                    "outline_repaired",
                    f"floor outline repaired (make_valid): area {before:.6g} → "
                    f"{float(shapely.area(plan.outline)):.6g} (file units)",
                    severity="warning",
                    details={"reasons": [i.message for i in outline_invalid]},
                )
            )
        repaired = {n.feature for n in notes}
        errors += [i for i in invalid if i.feature not in repaired and i.code == "zero_area"]
        still = ~shapely.is_valid(rooms)
        errors += [
            v.Issue("unrepairable", "geometry could not be repaired", feature=index[i])
            for i in np.flatnonzero(still)
        ]
        for i in np.flatnonzero(shapely.area(rooms) == 0):
            if not any(e.feature == index[i] for e in errors):
                errors.append(v.Issue("zero_area", "room encloses no area", feature=index[i]))
    else:
        errors += [i for i in invalid if i.feature not in unclosed] + outline_invalid
    region = _geometry(session, Region.boundary, Region.adcode == building.region_adcode)
    if crs not in GEOGRAPHIC and georef is None:
        errors += _crs_hints(rooms, crs, region)
    if errors:
        return done()

    frame = _frames(session, plan, rooms, crs, georef, building, previous)
    if georef is not None:
        warnings.append(
            v.Issue(
                "georeferenced",
                f"local coordinates placed in {frame.crs}: scale {georef.scale:.9g}, "
                f"rotation {georef.rotation_deg:.6f}°",
                severity="warning",
                details=georef.describe(),
            )
        )
    # where the plan landed
    lonlat_all = shapely.union_all(frame.lonlat)
    if region is not None and not shapely.intersects(region, lonlat_all):
        c = shapely.centroid(lonlat_all)
        swapped_hint = ""
        if crs in GEOGRAPHIC and shapely.covers(region, shapely.Point(c.y, c.x)):
            swapped_hint = "; axes look swapped (latitude first): send longitude, latitude"
        errors.append(
            v.Issue(
                "axes_swapped" if swapped_hint else "outside_region",
                f"the plan lands at lon {c.x:.5f}, lat {c.y:.5f}, outside the building's region "
                f"({building.region_adcode}){swapped_hint}",
                location=[round(c.x, 6), round(c.y, 6)],
            )
        )
        return done()
    footprint = _geometry(session, Building.footprint, Building.id == building.id)
    if footprint is not None:
        fp_metric = _one(footprint, CGCS2000, frame.crs)
        gap = float(shapely.distance(fp_metric, shapely.union_all(frame.metric)))
        if gap > s.far_from_building_m:
            warnings.append(
                v.Issue(
                    "far_from_building",
                    f"the plan lies {gap:.0f} m from the building's footprint",
                    severity="warning",
                    details={"distance_m": round(gap, 1)},
                )
            )
    metric_index = index
    errors += [
        _in_crs(i, frame.crs)
        for i in v.overlaps(frame.metric, metric_index, tolerance_m2=s.overlap_tolerance_m2)
    ]
    outline_area = None
    if frame.outline_metric is not None:
        if shapely.is_valid(frame.outline_metric):
            errors += [
                _in_crs(i, frame.crs)
                for i in v.outside_outline(
                    frame.metric,
                    metric_index,
                    frame.outline_metric,
                    tolerance_m2=s.outside_tolerance_m2,
                )
            ]
            outline_area = float(planar_areas(np.array([frame.outline_metric]), frame.crs)[0])
        else:
            errors.append(v.Issue("outline_invalid", "the floor outline is not a valid polygon"))
    areas = planar_areas(frame.metric, frame.crs)
    issues = v.implausible_sizes(
        areas,
        metric_index,
        frame.metric,
        min_m2=s.min_room_m2,
        max_m2=s.max_room_m2,
        error_above_m2=s.absurd_room_m2,
    )
    errors += [i for i in issues if i.severity == "error"]
    warnings += [i for i in issues if i.severity == "warning"]
    errors += v.duplicate_numbers(plan.numbers, index)
    missing_numbers = [index[i] for i, n in enumerate(plan.numbers) if not n]
    if missing_numbers:
        warnings.append(
            v.Issue(
                "missing_number",
                f"{len(missing_numbers)} rooms have no number",
                severity="warning",
                details={"features": missing_numbers[:100]},
            )
        )

    # areas: planar in the survey CRS, cross-checked against ST_Area(geography)
    geodesic = _geodesic_areas(session, frame.lonlat)
    rel = np.abs(areas / np.where(geodesic > 0, geodesic, np.nan) - 1)
    worst = float(np.nanmax(rel)) if np.isfinite(rel).any() else 0.0
    for i in np.flatnonzero(rel > s.geodesic_tolerance):
        errors.append(
            v.Issue(
                "area_crosscheck",
                f"planar area differs from ST_Area(geography) by {rel[i]:.3%}",
                feature=index[i],
            )
        )
    method = area_method(frame.crs)
    if georef is not None:
        method += " (georeferenced from local CAD units)"
    is_imdf = plan.format == "imdf"
    agencies = _agency_ids(session, plan.agencies, building, warnings, index, scope=scope)
    rows: list[dict[str, Any]] = []
    for k, feature in enumerate(index):
        category, sub = map_category(plan.categories[k], imdf=is_imdf)
        if plan.categories[k] and category is None:
            warnings.append(
                v.Issue(
                    "unknown_category",
                    f"category {plan.categories[k]!r} is not a space category; left empty",
                    feature=feature,
                    severity="warning",
                )
            )
        rows.append(
            {
                "feature": feature,
                "number": plan.numbers[k],
                "name": plan.names[k],
                "category": category,
                "subcategory": sub,
                "agency_id": agencies[k],
                "usable_area_raw": float(areas[k]),
                "usable_area_m2": round_area(float(areas[k])),
                "geodesic_area_m2": float(geodesic[k]),
                "area_method": method,
                "attributes": plan.attributes[k],
            }
        )
    total_rooms = float(areas.sum())
    storey = mapping_storey(req, previous)
    floor: dict[str, Any] = {
        "level": req.level,
        "name": plan.level_name or (previous.name if previous else None),
        "outline_source": frame.outline_source,
        "area_method": area_method(frame.crs),
        "storey_height_m": None if storey is None else float(storey),
        "usable_area_m2": float(round_area(total_rooms)),
        "rooms": len(rows),
        "geodesic_max_relative_difference": worst,
        "previous_version": previous.version if previous else None,
    }
    if outline_area is not None:
        building_area, rule = storey_building_area(outline_area, storey)
        coefficient = total_rooms / float(building_area) if building_area > 0 else None
        floor.update(
            outline_area_raw=outline_area,
            building_area_m2=float(building_area),
            area_rule=rule,
            usable_coefficient=None if coefficient is None else round(coefficient, 4),
        )
        lo, hi = s.usable_coefficient_min, s.usable_coefficient_max
        if coefficient is not None and total_rooms > outline_area * 1.0001:
            errors.append(
                v.Issue(
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
            warnings.append(
                v.Issue(
                    "usable_coefficient",
                    f"usable-area coefficient {coefficient:.3f} outside the configured "
                    f"range [{lo}, {hi}]",
                    severity="warning",
                )
            )
    report["floor"] = floor
    report["rooms"] = [
        {
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
        for r in rows
    ]
    return done(frame, rows)


def mapping_storey(req: PlanRequest, previous: Floor | None) -> Decimal | None:
    """Storey height: the mapping's, else the previous version's, else unknown."""
    value = (req.mapping or {}).get("storey_height_m")
    if isinstance(value, int | float):
        return Decimal(str(value))
    return previous.storey_height_m if previous else None


def _order(i: v.Issue) -> tuple[int, str]:
    return (-1 if i.feature is None else i.feature, i.code)


def _in_crs(issue: v.Issue, crs: str) -> v.Issue:
    issue.details["location_crs"] = crs
    return issue


def _agency_ids(
    session: Session,
    values: list[str | None],
    building: Building,
    warnings: list[v.Issue],
    index: list[int],
    *,
    scope: Scope,
) -> list[int | None]:
    """Agency ids from the file (ids), defaulting to the building's managing agency.

    An agency outside the caller's scope is treated exactly like an unknown one."""
    wanted = {int(x) for x in values if x and x.isdigit()}
    known = set(
        session.execute(
            select(Agency.id).where(Agency.id.in_(wanted), scopes.agencies(scope))
        ).scalars()
    )
    out: list[int | None] = []
    for k, x in enumerate(values):
        if not x:
            out.append(building.agency_id)
        elif x.isdigit() and int(x) in known:
            out.append(int(x))
        else:
            warnings.append(
                v.Issue(
                    "unknown_agency",
                    f"agency {x!r} is not a known agency id; the building's agency is used",
                    feature=index[k],
                    severity="warning",
                )
            )
            out.append(building.agency_id)
    return out


def _multi_hex(geoms: np.ndarray) -> list[str]:
    multi = np.array(
        [g if g.geom_type == "MultiPolygon" else shapely.multipolygons([g]) for g in geoms],
        dtype=object,
    )
    return list(shapely.to_wkb(shapely.set_srid(multi, 4490), hex=True, include_srid=True))


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


def _commit(
    session: Session,
    req: PlanRequest,
    principal: Principal,
    building: Building,
    previous: Floor | None,
    plan: PlanData,
    report: dict[str, Any],
    rows: list[dict[str, Any]],
    frame: _Frame,
    file_sha: str,
    request_sha: str,
) -> int:
    now = session.execute(select(func.now())).scalar_one()
    last = session.execute(
        select(func.max(Floor.version)).where(
            Floor.building_id == building.id, Floor.level == req.level
        )
    ).scalar_one()
    before = None
    if previous is not None:
        session.execute(select(Floor.id).where(Floor.id == previous.id).with_for_update())
        before = {
            "floor_id": previous.id,
            "version": previous.version,
            "building_area_m2": str(previous.building_area_m2),
            "source_sha256": previous.source_sha256,
        }
        previous.valid_to = now
        session.flush()
    f = report["floor"]
    outline = (
        WKBElement(
            _multi_hex(np.array([v.polygonal(frame.outline_lonlat)], dtype=object))[0],
            srid=4490,
            extended=True,
        )
        if frame.outline_lonlat is not None
        else None
    )
    floor = Floor(
        building_id=building.id,
        level=req.level,
        name=f.get("name"),
        storey_height_m=None
        if f.get("storey_height_m") is None
        else Decimal(str(f["storey_height_m"])),
        outline=outline,
        outline_area_raw=f.get("outline_area_raw"),
        building_area_m2=None
        if f.get("building_area_m2") is None
        else round_area(f["building_area_m2"]),
        area_rule=f.get("area_rule"),
        area_method=f.get("area_method"),
        version=(last or 0) + 1,
        valid_from=now,
        source_sha256=file_sha,
    )
    session.add(floor)
    session.flush()
    # one INSERT … SELECT FROM unnest(arrays): COPY is refused under row-level security
    geoms = _multi_hex(frame.lonlat)
    session.execute(
        _INSERT_ROOMS,
        {
            "floor": floor.id,
            "building": building.id,
            "number": [(r["number"] or None) and r["number"][:40] for r in rows],
            "category": [r["category"] for r in rows],
            "subcategory": [r["subcategory"] for r in rows],
            "geom": geoms,
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
    session.execute(
        insert(PlanFile)
        .values(
            sha256=file_sha,
            filename=req.filename[:255],
            size_bytes=len(req.data),
            content=req.data,
            uploaded_by=principal.username,
        )
        .on_conflict_do_nothing(index_elements=["sha256"])
    )
    f.update(id=floor.id, version=floor.version, valid_from=now.isoformat())
    report["status"] = "imported"
    session.add(
        PlanImport(
            building_id=building.id,
            level=req.level,
            floor_id=floor.id,
            file_sha256=file_sha,
            request_sha256=request_sha,
            idempotency_key=req.idempotency_key,
            actor=principal.username,
            report=json.loads(json.dumps(report, default=str)),
        )
    )
    audit.record(
        session,
        actor=principal.username,
        action="plan.import",
        object_type="floor",
        object_id=floor.id,
        before=before,
        after={
            "floor_id": floor.id,
            "building_id": building.id,
            "level": req.level,
            "version": floor.version,
            "rooms": len(rows),
            "building_area_m2": f.get("building_area_m2"),
            "usable_area_m2": f.get("usable_area_m2"),
            "source_sha256": file_sha,
            "filename": req.filename[:255],
        },
    )
    session.flush()
    return floor.id


# ------------------------------------------------------------------ reading back
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
