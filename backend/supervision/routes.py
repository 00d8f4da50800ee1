"""Supervision API: inspections, checks, evidence, the rectification ledger, 问责, assessments.

Thin: parse, call the service, return. Roles per route (see README "Supervision"); scope
inside the services; writes with If-Match where an object is changed, audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from backend.accounts.access import Principal
from backend.api.deps import IfMatchDep, PageDep, SessionDep, require_roles
from backend.api.responses import XLSX_DOC, download, versioned
from backend.api.uploads import file_field, multipart_doc, multipart_request, text_field
from backend.services.errors import InvalidInput
from backend.settings import supervision_settings
from backend.supervision import (
    access,
    accountability,
    assessment,
    clock,
    evidence,
    exports,
    ledger,
    service,
)
from backend.supervision.models import EVIDENCE_PHASES
from backend.supervision.schemas import (
    AccountabilityCreate,
    CheckCreate,
    InspectionCreate,
    InspectionKind,
    InspectionStatus,
    InspectionUpdate,
    RectificationCreate,
    RectificationUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["supervision 监督检查"])

TodayDep = Annotated[dt.date, Depends(clock.today)]
Reader = Annotated[Principal, Depends(require_roles(*access.READ_INSPECTIONS))]
Writer = Annotated[Principal, Depends(require_roles(*access.WRITE_INSPECTIONS))]
LedgerReader = Annotated[Principal, Depends(require_roles(*access.READ_LEDGER))]
LedgerWriter = Annotated[Principal, Depends(require_roles(*access.WRITE_LEDGER))]
Uploader = Annotated[Principal, Depends(require_roles(*access.UPLOAD_EVIDENCE))]
AccReader = Annotated[Principal, Depends(require_roles(*access.READ_ACCOUNTABILITY))]
AccWriter = Annotated[Principal, Depends(require_roles(*access.WRITE_ACCOUNTABILITY))]
Assessor = Annotated[Principal, Depends(require_roles(*access.READ_ASSESSMENTS))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
Flagger = Annotated[Principal, Depends(require_roles(*access.FLAG_OVERDUE))]
LedgerCreator = Annotated[Principal, Depends(require_roles(*access.CREATE_RECTIFICATION))]

InspectionId = Annotated[int, Path(ge=1, le=2**62)]
FindingId = Annotated[int, Path(ge=1, le=2**62)]
BigId = Annotated[int, Path(ge=1, le=2**62)]
BuildingId = Annotated[int, Path(ge=1, le=2**31 - 1)]
RegionQ = Annotated[int | None, Query(ge=100000, le=999999, description="adcode; its subtree")]
AgencyQ = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="responsible agency")]
LedgerStatus = Literal[
    "pending", "in_progress", "awaiting_verification", "closed", "open", "overdue"
]
Level = Literal["province", "city", "county", "agency"]


# ---------------------------------------------------------------- inspections
@router.get("/inspections", summary="Inspections 检查计划")
def list_inspections(
    session: SessionDep,
    principal: Reader,
    page: PageDep,
    status: InspectionStatus | None = None,
    kind: InspectionKind | None = None,
    region: RegionQ = None,
) -> dict[str, Any]:
    """Inspections the caller may see (organising region in scope), newest first."""
    return service.list_inspections(
        session, principal=principal, page=page, status=status, kind=kind, region=region
    )


@router.post(
    "/inspections",
    status_code=201,
    summary="Plan an inspection and draw its buildings",
    responses={201: {"description": "the inspection with its drawn buildings"}},
)
def create_inspection(
    session: SessionDep, principal: Writer, body: InspectionCreate
) -> JSONResponse:
    """Type, scope (regions, agencies, buildings), team, dates and an optional sampling rule
    (share, seed, weighting by open findings: the same seed draws the same buildings)."""
    return versioned(service.create_inspection(session, body, principal=principal), status=201)


@router.get("/inspections/{inspection_id}", summary="One inspection with its buildings")
def get_inspection(
    session: SessionDep, principal: Reader, inspection_id: InspectionId
) -> JSONResponse:
    """The plan, the drawn buildings (weight, key, rank) and how many checks each has."""
    return versioned(service.read_inspection(session, inspection_id, principal=principal))


@router.patch("/inspections/{inspection_id}", summary="Change title, team, dates or status")
def update_inspection(
    session: SessionDep,
    principal: Writer,
    inspection_id: InspectionId,
    body: InspectionUpdate,
    expected: IfMatchDep,
) -> JSONResponse:
    """If-Match required (428 without, 412 stale); scope and sample stay as drawn."""
    result = service.update_inspection(
        session, inspection_id, body, expected=expected, principal=principal
    )
    return versioned(result)


@router.get("/inspections/{inspection_id}/checks", summary="Checks recorded in an inspection")
def list_checks(
    session: SessionDep, principal: Reader, page: PageDep, inspection_id: InspectionId
) -> dict[str, Any]:
    """On-site checks with register snapshot, differences and outcome."""
    return service.list_checks(session, inspection_id, principal=principal, page=page)


@router.post(
    "/inspections/{inspection_id}/checks",
    status_code=201,
    summary="Record an on-site check 现场核查",
)
def record_check(
    session: SessionDep,
    principal: Writer,
    today: TodayDep,
    inspection_id: InspectionId,
    body: CheckCreate,
) -> dict[str, Any]:
    """Measured area, actual use, occupant, lease found; confirms a rule finding
    (``confirm_finding_id``) or raises a manual one (``manual_finding``)."""
    return service.record_check(session, inspection_id, body, principal=principal, today=today)


@router.get(
    "/inspections/{inspection_id}/buildings/{building_id}",
    summary="The register of one inspected building (check form data)",
)
def inspection_building(
    session: SessionDep, principal: Reader, inspection_id: InspectionId, building_id: BuildingId
) -> dict[str, Any]:
    """Current floors and rooms (area, category, agency) and the open findings to confirm."""
    return service.building_register(session, inspection_id, building_id, principal=principal)


# ---------------------------------------------------------------- evidence
def _form_text(form: Any, name: str) -> str | None:
    """A text field, stripped; None when empty."""
    return (text_field(form, name) or "").strip() or None


def _form_id(form: Any, name: str) -> int | None:
    value = _form_text(form, name)
    if value is None:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 2**62:
        raise InvalidInput(f"{name} must be a positive integer", details={"field": name})
    return int(value)


_UPLOAD_DOC = multipart_doc(
    "JPEG, PNG or PDF",
    {
        "phase": {"type": "string", "enum": ["check", "before", "after", "verification"]},
        "check_id": {"type": "integer", "description": "for phase=check"},
        "finding_id": {"type": "integer", "description": "the ledger item's finding"},
        "note": {"type": "string", "maxLength": 500},
    },
    required=("phase",),
)


@router.post(
    "/evidence",
    status_code=201,
    summary="Upload evidence 佐证材料 (photo or PDF)",
    openapi_extra=_UPLOAD_DOC,
    responses={
        201: {"description": "stored: type, sha256, EXIF time and position when present"},
        413: {"description": "file too large"},
        415: {"description": "not JPEG/PNG/PDF, or an archive"},
        422: {"description": "unreadable image or PDF, or bad fields"},
    },
)
async def upload_evidence(
    request: Request, session: SessionDep, principal: Uploader
) -> JSONResponse:
    """Type sniffed from the content; stored by sha256; attached to a check (inspectors)
    or to a ledger item before/after (the responsible agency or inspectors)."""
    limit = supervision_settings().evidence_max_bytes
    capped = multipart_request(
        request,
        limit=limit,
        message="send evidence as multipart/form-data (file, phase, check_id or finding_id)",
        message_zh="请以 multipart/form-data 上传",
    )
    async with capped.form(max_files=1, max_fields=10, max_part_size=64 * 1024) as form:
        filename, data = await file_field(form, limit)
        phase = _form_text(form, "phase") or ""
        if phase not in EVIDENCE_PHASES:
            raise InvalidInput(
                "phase must be check, before, after or verification", details={"field": "phase"}
            )
        note = _form_text(form, "note")
        if note is not None and len(note) > 500:
            raise InvalidInput("note is longer than 500 characters", details={"field": "note"})
        check_id, finding_id = _form_id(form, "check_id"), _form_id(form, "finding_id")
    result = await run_in_threadpool(
        evidence.upload,
        session,
        data=data,
        filename=filename,
        phase=phase,
        check_id=check_id,
        finding_id=finding_id,
        note=note,
        principal=principal,
    )
    return JSONResponse(result, status_code=201)


@router.get("/evidence", summary="Evidence of a check or a ledger item")
def list_evidence(
    session: SessionDep,
    principal: LedgerReader,
    check_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    finding_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> dict[str, Any]:
    """Metadata (type, size, sha256, EXIF) of the evidence the caller may see."""
    return evidence.list_for(session, principal=principal, check_id=check_id, finding_id=finding_id)


@router.get("/evidence/{evidence_id}", summary="One evidence file's metadata")
def get_evidence(
    session: SessionDep, principal: LedgerReader, evidence_id: BigId
) -> dict[str, Any]:
    """Type, size, sha256, phase, EXIF time and position, uploader; 404 outside scope."""
    return evidence.evidence_dict(evidence.get(session, evidence_id, principal=principal))


@router.get(
    "/evidence/{evidence_id}/content",
    summary="One evidence file's content",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "application/pdf": {}}}},
)
def evidence_content(session: SessionDep, principal: LedgerReader, evidence_id: BigId) -> Response:
    """The stored bytes with the sniffed type; PDFs as attachments; never sniffed by browsers."""
    e, data = evidence.content(session, evidence_id, principal=principal)
    disposition = "inline" if e.media_type.startswith("image/") else "attachment"
    return Response(
        content=data,
        media_type=e.media_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="evidence-{e.id}"; '
            f"filename*=UTF-8''{quote(e.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, max-age=3600",
            "ETag": f'"{e.sha256}"',
        },
    )


# ---------------------------------------------------------------- the ledger
@router.get("/findings/{finding_id}/rectification", summary="A finding's ledger item 整改事项")
def get_rectification(
    session: SessionDep, principal: LedgerReader, today: TodayDep, finding_id: FindingId
) -> JSONResponse:
    """Status (逾期 by the calendar), responsible agency and person, measures, deadline,
    evidence, verification, and whether closure is proposed by a re-evaluation."""
    return versioned(ledger.read(session, finding_id, principal=principal, today=today))


@router.post(
    "/findings/{finding_id}/rectification",
    status_code=201,
    summary="Put a finding on the ledger (inspector)",
)
def create_rectification(
    session: SessionDep,
    principal: LedgerCreator,
    today: TodayDep,
    finding_id: FindingId,
    body: RectificationCreate,
) -> JSONResponse:
    """Responsible agency (default: the finding's), named person, deadline, problem."""
    result = ledger.create(session, finding_id, body, principal=principal, today=today)
    return versioned(result, status=201)


@router.patch("/findings/{finding_id}/rectification", summary="Edit or move a ledger item")
def update_rectification(
    session: SessionDep,
    principal: LedgerWriter,
    today: TodayDep,
    finding_id: FindingId,
    body: RectificationUpdate,
    expected: IfMatchDep,
) -> JSONResponse:
    """待整改→整改中→已整改待核验→已销号 (only an inspector closes, only with evidence;
    an inspector may send it back to 整改中 with a note). If-Match required."""
    result = ledger.update(
        session, finding_id, body, expected=expected, principal=principal, today=today
    )
    return versioned(result)


@router.get("/rectifications", summary="The rectification ledger 整改台账")
def list_rectifications(
    session: SessionDep,
    principal: LedgerReader,
    today: TodayDep,
    page: PageDep,
    status: LedgerStatus | None = None,
    region: RegionQ = None,
    agency: AgencyQ = None,
    inspection: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    person: Annotated[str | None, Query(max_length=80)] = None,
) -> dict[str, Any]:
    """Items the caller may see, earliest deadline first; ``status=overdue`` by the calendar."""
    return ledger.list_items(
        session,
        principal=principal,
        today=today,
        page=page,
        status=status,
        region=region,
        agency=agency,
        inspection=inspection,
        person=person,
    )


@router.get("/rectifications/reminders", summary="Reminders per responsible person")
def reminders(
    session: SessionDep,
    principal: LedgerReader,
    today: TodayDep,
    within_days: Annotated[int | None, Query(ge=0, le=365)] = None,
) -> dict[str, Any]:
    """Per agency and responsible person: overdue items and items due soon."""
    days = supervision_settings().reminder_days if within_days is None else within_days
    return ledger.reminders(session, principal=principal, today=today, within_days=days)


@router.get("/rectifications/progress", summary="Rectification progress per month")
def progress(
    session: SessionDep,
    principal: LedgerReader,
    today: TodayDep,
    months: Annotated[int, Query(ge=1, le=36)] = 12,
    region: RegionQ = None,
) -> dict[str, Any]:
    """Opened, closed (销号), open and overdue at each month's end (China Standard Time)."""
    return ledger.progress(session, principal=principal, today=today, months=months, region=region)


@router.post("/rectifications/overdue-flags", summary="Flag overdue items (the daily run)")
def flag_overdue(session: SessionDep, principal: Flagger, today: TodayDep) -> dict[str, Any]:
    """Stamp and audit each item on the day it becomes overdue (also `officemap supervision
    flag-overdue`); clears the flag of items whose deadline was extended."""
    return ledger.flag_overdue(session, today=today, actor=principal.username)


@router.get(
    "/exports/rectifications.xlsx",
    response_class=Response,
    responses=XLSX_DOC,
    summary="整改台账 Excel",
)
def ledger_xlsx(
    session: SessionDep,
    principal: LedgerReader,
    today: TodayDep,
    status: LedgerStatus | None = None,
    region: RegionQ = None,
    agency: AgencyQ = None,
    inspection: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    """Building, floor, room, actual use, using agency, areas, rectified, reason, user,
    post, rank, concurrent post, before/after, responsibility, deadline, status."""
    body = exports.ledger_xlsx(
        session,
        principal=principal,
        today=today,
        status=status,
        region=region,
        agency=agency,
        inspection=inspection,
    )
    return download(body, f"整改台账-{today.isoformat()}.xlsx", "rectification-ledger.xlsx")


# ---------------------------------------------------------------- accountability
@router.get("/accountability", summary="问责 records")
def list_accountability(
    session: SessionDep,
    principal: AccReader,
    page: PageDep,
    agency: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    region: RegionQ = None,
    finding: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> dict[str, Any]:
    """Admins, inspectors and leaders only, within scope."""
    return accountability.list_records(
        session, principal=principal, page=page, agency=agency, region=region, finding=finding
    )


@router.post("/accountability", status_code=201, summary="Record a 问责 decision")
def create_accountability(
    session: SessionDep, principal: AccWriter, today: TodayDep, body: AccountabilityCreate
) -> dict[str, Any]:
    """Who, which findings, measure, date, issuing body (admins and inspectors)."""
    return accountability.create(session, body, principal=principal, today=today)


@router.get("/accountability/{record_id}", summary="One 问责 record")
def get_accountability(
    session: SessionDep, principal: AccReader, record_id: BigId
) -> dict[str, Any]:
    """Who, which findings, measure, date, issuing body; 404 outside scope."""
    return accountability.get(session, record_id, principal=principal)


# ---------------------------------------------------------------- assessments
AsOf = Annotated[dt.date | None, Query(description="assessment date (YYYY-MM-DD); default today")]
SchemeQ = Annotated[str | None, Query(max_length=40, pattern=r"^[0-9A-Za-z._-]+$")]


@dataclass(frozen=True)
class Ranking:
    """Which ranking: the date (default today, China Standard Time), the level of the units,
    the region and the scheme version (default: the one in force on that date)."""

    as_of: dt.date
    level: str
    region: int | None
    scheme_version: str | None


def ranking_query(
    today: TodayDep,
    as_of: AsOf = None,
    level: Level = "city",
    region: RegionQ = None,
    scheme: SchemeQ = None,
) -> Ranking:
    return Ranking(as_of or today, level, region, scheme)


RankingDep = Annotated[Ranking, Depends(ranking_query)]


@router.get("/assessments", summary="Assessment 考核 scores, ranked")
def assessments(session: SessionDep, principal: Assessor, q: RankingDep) -> dict[str, Any]:
    """Scores per region or agency on a date with each indicator's numerator and
    denominator; the scheme is versioned data (``data/assessment/``)."""
    return assessment.compute(session, principal=principal, **asdict(q))


@router.get("/assessments/inputs", summary="The objects one score counted")
def assessment_inputs(
    session: SessionDep,
    principal: Assessor,
    today: TodayDep,
    key: Annotated[int, Query(ge=1, le=2**31 - 1, description="adcode or agency id")],
    indicator: Annotated[str, Query(max_length=40, pattern=r"^[a-z_]+$")],
    as_of: AsOf = None,
    level: Level = "city",
    scheme: SchemeQ = None,
) -> dict[str, Any]:
    """Buildings, findings or ledger items behind one indicator of one unit."""
    return assessment.inputs(
        session,
        principal=principal,
        as_of=as_of or today,
        level=level,
        key=key,
        indicator=indicator,
        scheme_version=scheme,
    )


@router.get("/assessments/trend", summary="Scores at each month's end")
def assessment_trend(
    session: SessionDep,
    principal: Assessor,
    today: TodayDep,
    level: Level = "city",
    months: Annotated[int, Query(ge=1, le=24)] = 6,
    region: RegionQ = None,
) -> dict[str, Any]:
    """Each unit's score and rank at the end of each of the last ``months`` months."""
    return assessment.trend(
        session, principal=principal, today=today, level=level, months=months, region=region
    )


@router.get("/assessments/schemes", summary="Assessment scheme versions")
def assessment_schemes(principal: Assessor) -> list[dict[str, Any]]:
    """Every scheme version kept in ``data/assessment/`` with its indicators and weights."""
    return [
        {**s, "effective_date": s["effective_date"].isoformat()}
        for s in assessment.schemes().values()
    ]


@router.get(
    "/exports/assessment.xlsx",
    response_class=Response,
    responses=XLSX_DOC,
    summary="考核排名 Excel",
)
def assessment_xlsx(session: SessionDep, principal: Assessor, q: RankingDep) -> Response:
    """The ranking with every indicator's numerator, denominator and value."""
    body = exports.assessment_xlsx(session, principal=principal, **asdict(q))
    return download(body, f"考核排名-{q.as_of.isoformat()}.xlsx", "assessment.xlsx")
