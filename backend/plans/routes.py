"""Plan uploads: POST a surveyor's file for one floor; read a floor version's rooms."""

from __future__ import annotations

import asyncio
import functools
import weakref
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from backend.accounts.access import Principal, roles_for
from backend.api.deps import (
    DB_INT_MAX,
    IdPath,
    PageDep,
    PrincipalDep,
    ScopeDep,
    SessionDep,
    etag,
    parse_if_match,
    require_roles,
)
from backend.api.schemas import FeatureCollection, geojson_response
from backend.api.uploads import flag, multipart_doc, multipart_request, text_field
from backend.plans import service as plans
from backend.plans.schemas import PlanReport
from backend.services.errors import InvalidInput, PayloadTooLarge

router = APIRouter(prefix="/api/v1", tags=["plans 平面图"])

BuildingId = IdPath
Level = Annotated[int, Path(ge=-20, le=200, description="level number; negative below ground")]

_UPLOAD_DOC = multipart_doc(
    ".geojson/.json, .zip (Shapefile or IMDF), .gpkg, .dxf",
    {
        "crs": {
            "type": "string",
            "description": "EPSG:4490, EPSG:4326 or a CGCS2000 GK zone EPSG:4491–4554",
        },
        "mapping": {"type": "string", "description": "JSON: fields/layers"},
        "georef": {
            "type": "string",
            "description": 'JSON: {"origin":[X,Y],"rotation_deg":r,"scale":s} or '
            '{"control_points":[{"local":[x,y],"target":[X,Y]}, …]}',
        },
        "carry_over": {
            "type": "string",
            "description": 're-survey: JSON {"<old room id>": <new feature index> or '
            '"end"} for rooms the report lists as unmatched',
        },
        "dry_run": {"type": "boolean", "default": False},
        "preview": {
            "type": "boolean",
            "default": False,
            "description": "dry run: rooms as lon/lat GeoJSON in the report",
        },
        "repair": {"type": "boolean", "default": False},
    },
    required=("crs",),
)


_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def _upload_limiter() -> anyio.CapacityLimiter:
    """The running loop's limiter of concurrent plan imports (worker threads)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(plans.upload_settings().workers)
    return limiter


@router.post(
    "/buildings/{building_id}/floors/{level}/plan",
    summary="Upload a floor plan (dry run or commit a new floor version)",
    openapi_extra=_UPLOAD_DOC,
    responses={
        200: {
            "description": "dry run or replayed import: the validation report",
            "model": PlanReport,
        },
        201: {
            "description": "imported: a new floor version (its ETag in the answer)",
            "model": PlanReport,
        },
        412: {
            "description": "If-Match is not the floor's current version (or If-None-Match: * "
            "and the level has a floor)"
        },
        428: {"description": "a commit without If-Match (or If-None-Match: * for a new level)"},
        413: {"description": "file too large (refused before parsing)"},
        415: {"description": "extension not allowed or content of another format"},
        422: {"description": "rejected: the report with errors (same shape, plus the error code)"},
    },
)
async def upload_plan(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    scope: ScopeDep,
    building_id: BuildingId,
    level: Level,
    idempotency_key: Annotated[
        str | None, Header(max_length=200, description="retries with the same key: one import")
    ] = None,
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description='commits: the ETag of the floor the plan replaces, e.g. "3" (from '
            "GET /floors/{id} or this level's rooms)",
        ),
    ] = None,
    if_none_match: Annotated[
        str | None,
        Header(
            alias="If-None-Match",
            description="commits: * to create the first floor version of a level without one",
        ),
    ] = None,
) -> Response:
    """Validate the plan; unless ``dry_run`` (or rejected), commit it as a new floor version.

    A commit names the floor version it replaces (``If-Match``, 412 when another upload or
    edit came first) or, for a level without a floor, sends ``If-None-Match: *``; without
    either it is refused with 428. A retry of an import that succeeded is answered from
    the first import (``Idempotency-Key`` or identical content) whatever its If-Match.
    """
    req = await _plan_request(
        request, principal, building_id, level, idempotency_key, if_match, if_none_match
    )
    # parsing, validation and the write run in a worker thread, at most
    # OFFICEMAP_UPLOAD_WORKERS at once: the event loop keeps serving everyone else
    outcome = await anyio.to_thread.run_sync(
        functools.partial(plans.import_plan, session, req, principal=principal, scope=scope),
        limiter=_upload_limiter(),
    )
    return _answer(outcome)


async def _plan_request(
    request: Request,
    principal: Principal,
    building_id: int,
    level: int,
    idempotency_key: str | None,
    if_match: str | None,
    if_none_match: str | None,
) -> plans.PlanRequest:
    """The upload's form, read within the size limit; a commit needs the role and the
    floor version it replaces."""
    settings = plans.upload_settings()
    capped = multipart_request(
        request,
        limit=settings.max_bytes,
        message="send the plan as multipart/form-data (file + crs …)",
        message_zh="请以 multipart/form-data 上传（file、crs 等字段）",
    )
    async with capped.form(max_files=1, max_fields=10, max_part_size=256 * 1024) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("the form needs a file field", message_zh="缺少 file 文件字段")
        data = await upload.read(settings.max_bytes + 1)
        if len(data) > settings.max_bytes:
            raise PayloadTooLarge(
                f"the file exceeds {settings.max_bytes} bytes",
                details={"limit": settings.max_bytes},
            )
        dry_run = flag(form.get("dry_run"), "dry_run")
        expected = None
        if not dry_run:
            require_roles(*roles_for("plan.import"))(principal)
            expected = _expected_floor_version(if_match, if_none_match)
        return plans.PlanRequest(
            building_id=building_id,
            level=level,
            filename=upload.filename or "",
            data=data,
            crs=text_field(form, "crs") or "",
            mapping=plans.parse_json_field("mapping", text_field(form, "mapping")),
            georef=plans.parse_json_field("georef", text_field(form, "georef")),
            dry_run=dry_run,
            repair=flag(form.get("repair"), "repair"),
            idempotency_key=idempotency_key,
            expected_version=expected,
            carry_over=plans.parse_json_field("carry_over", text_field(form, "carry_over")),
            preview=flag(form.get("preview"), "preview"),
        )


def _answer(outcome: plans.PlanOutcome) -> Response:
    """201 imported (with the new version's ETag), 200 dry run or replay, 422 rejected."""
    if not outcome.accepted:
        body = {
            "code": "plan_rejected",
            "message": f"the plan has {len(outcome.report['errors'])} errors; nothing was stored",
            "message_zh": "平面图校验未通过，未保存任何内容",
            "details": None,
            **outcome.report,
        }
        return JSONResponse(body, status_code=422)
    status = 201 if outcome.status == "imported" else 200
    version = (outcome.report.get("floor") or {}).get("version")
    headers = {"ETag": etag(version)} if outcome.status != "dry_run" and version else None
    return JSONResponse(outcome.report, status_code=status, headers=headers)


def _expected_floor_version(if_match: str | None, if_none_match: str | None) -> int:
    """The floor version a commit replaces (``plans.NEW_LEVEL`` for If-None-Match: *)."""
    if if_match is None and if_none_match is not None and if_none_match.strip() == "*":
        return plans.NEW_LEVEL
    if if_match is None and if_none_match is not None:
        raise InvalidInput(
            "If-None-Match on a plan upload must be *",
            message_zh="平面图上传的 If-None-Match 只能为 *",
            details={"header": "If-None-Match"},
        )
    return parse_if_match(if_match)


@router.get(
    "/buildings/{building_id}/floors/{level}/rooms",
    response_class=Response,
    responses={200: geojson_response(FeatureCollection, "GeoJSON FeatureCollection")},
    summary="Rooms of one floor version (current by default)",
)
def floor_rooms(
    session: SessionDep,
    scope: ScopeDep,
    page: PageDep,
    building_id: BuildingId,
    level: Level,
    version: Annotated[
        int | None, Query(ge=1, le=DB_INT_MAX, description="floor version; default current")
    ] = None,
) -> Response:
    """GeoJSON of the rooms of a floor version; earlier versions stay queryable. The current
    version's answer carries the floor's ETag (the If-Match of the next plan upload)."""
    body = plans.floor_rooms(session, building_id, level, version, scope=scope, page=page)
    current = plans.current_floor_version(session, building_id, level) if version is None else None
    headers = {"ETag": etag(current)} if current is not None else None
    return Response(content=body, media_type="application/geo+json", headers=headers)
