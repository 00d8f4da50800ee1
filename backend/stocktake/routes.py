"""Stock-take API: ledger import and template, agencies, campaigns and completeness."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from backend.accounts.access import roles_for
from backend.api.deps import IfMatchDep, PrincipalDep, ScopeDep, SessionDep
from backend.api.html import page_response
from backend.api.responses import VERSIONED_DOC, XLSX, download, versioned
from backend.api.uploads import file_field, flag, multipart_doc, multipart_request, text_field
from backend.services.errors import InvalidInput, PayloadTooLarge
from backend.settings import ledger_settings
from backend.stocktake import service, workbook_export
from backend.stocktake.schemas import (
    AgencyCreate,
    AgencyPublic,
    CampaignAgencyPublic,
    CampaignCreate,
    CampaignPublic,
    CompletenessRow,
    Status,
    Transition,
)
from map_ui.templating import render_page

router = APIRouter(prefix="/api/v1", tags=["stock-take 清查登记"])

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
_W = VERSIONED_DOC
_UPLOAD_DOC = multipart_doc(
    ".xlsx workbook or .csv (UTF-8 or GBK)",
    {
        "dry_run": {"type": "boolean", "default": False},
        "mapping": {
            "type": "string",
            "description": 'JSON: {"columns": {"表头": "field"}, "sheets": {"工作表": '
            '"agencies|buildings|rooms|occupants|ignore"}}',
        },
    },
)


@router.post(
    "/imports/ledger",
    summary="Import a ledger workbook (清查台账): dry run or commit",
    openapi_extra=_UPLOAD_DOC,
    responses={
        200: {"description": "dry run, or nothing changed: the report"},
        201: {"description": "committed: the report"},
        413: {"description": "file too large or too many rows (refused before parsing)"},
        415: {"description": ".xlsm, encrypted, binary or other formats (refused before parsing)"},
        422: {"description": "rejected: the report with errors (same shape); nothing stored"},
    },
)
async def import_ledger(request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
    """Agencies, buildings, rooms and occupants from an agency's ledger workbook.

    The report lists per sheet the rows read, created, updated and unchanged, and every
    error and warning with sheet, row, column, code and message (English and Chinese).
    A commit is all or nothing; the same file again changes nothing.
    """
    limit = ledger_settings().max_bytes
    capped = multipart_request(
        request,
        limit=limit,
        message="send the ledger as multipart/form-data (file, dry_run, mapping)",
        message_zh="请以 multipart/form-data 上传（file、dry_run、mapping 字段）",
    )
    async with capped.form(max_files=1, max_fields=10, max_part_size=256 * 1024) as form:
        filename, data = await file_field(form, limit)
        if len(data) > limit:
            raise PayloadTooLarge(f"the file exceeds {limit} bytes", details={"limit": limit})
        raw_mapping = text_field(form, "mapping")
        try:
            mapping = json.loads(raw_mapping) if raw_mapping else None
        except ValueError:
            raise InvalidInput(
                "mapping is not JSON", message_zh="mapping 不是有效的 JSON"
            ) from None
        if mapping is not None and not isinstance(mapping, dict):
            raise InvalidInput("mapping must be a JSON object", message_zh="mapping 须为 JSON 对象")
        req = service.LedgerRequest(
            filename=filename,
            data=data,
            dry_run=flag(form.get("dry_run"), "dry_run"),
            mapping=mapping,
        )
    outcome = await run_in_threadpool(service.import_ledger, session, req, principal=principal)
    if outcome.status == "rejected":
        body = {
            "code": "ledger_rejected",
            "message": f"the ledger has {outcome.report['error_count']} errors; nothing was stored",
            "message_zh": f"台账有 {outcome.report['error_count']} 处错误，未保存任何内容",
            "details": None,
            **outcome.report,
        }
        return JSONResponse(body, status_code=422)
    return JSONResponse(outcome.report, status_code=201 if outcome.status == "imported" else 200)


@router.get(
    "/imports/ledger/template.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "the empty ledger template"}},
    summary="The ledger template (清查登记表) to fill in",
)
def ledger_template(principal: PrincipalDep) -> Response:
    """Sheets 单位, 房屋, 房间, 使用人 with a title row, a fill-in block and the headers."""
    return download(
        workbook_export.template_xlsx(), "办公用房清查登记表.xlsx", "ledger-template.xlsx"
    )


# ---------------------------------------------------------------- agencies
@router.post(
    "/agencies",
    status_code=201,
    responses=_W,
    summary="Register an agency (单位)",
    response_model=AgencyPublic,
)
def create_agency(session: SessionDep, principal: PrincipalDep, body: AgencyCreate) -> JSONResponse:
    """The managing office (admin, planner) registers agencies in its regions."""
    principal.require(*roles_for("agency.create"))
    agency_id = service.create_agency(session, body, principal=principal)
    a = service.get_agency(session, agency_id, scope=principal.scope)
    return versioned(a, status=201, location=f"/api/v1/agencies/{agency_id}")


# ---------------------------------------------------------------- campaigns
@router.get("/campaigns", summary="Stock-take campaigns (清查任务) in scope")
def list_campaigns(session: SessionDep, scope: ScopeDep) -> list[CampaignPublic]:
    return service.list_campaigns(session, scope=scope)


@router.post(
    "/campaigns",
    status_code=201,
    summary="Launch a campaign over a region (admin, planner)",
    responses=_W,
)
def create_campaign(
    session: SessionDep, principal: PrincipalDep, body: CampaignCreate
) -> JSONResponse:
    """Every agency of the region's subtree is listed at 未填报."""
    campaign_id = service.create_campaign(session, body, principal=principal)
    c = service.get_campaign(session, campaign_id, scope=principal.scope)
    return versioned(c, status=201, location=f"/api/v1/campaigns/{campaign_id}")


@router.get("/campaigns/{campaign_id}", responses=_W, summary="One campaign")
def get_campaign(session: SessionDep, scope: ScopeDep, campaign_id: Id) -> CampaignPublic:
    return service.get_campaign(session, campaign_id, scope=scope)


@router.get(
    "/campaigns/{campaign_id}/agencies",
    responses=_W,
    summary="Agencies of a campaign with their declaration status",
)
def campaign_agencies(
    session: SessionDep,
    scope: ScopeDep,
    campaign_id: Id,
    status: Annotated[Status | None, Query()] = None,
) -> list[CampaignAgencyPublic]:
    """未填报 / 填报中 / 已提交 / 已核实 / 已退回 (with the reason)."""
    return service.campaign_agencies(session, campaign_id, scope=scope, status=status)


@router.post(
    "/campaigns/{campaign_id}/agencies/{agency_id}/status",
    responses={**_W, 409: {"description": "transition not allowed from the current status"}},
    summary="Move a declaration: submit (officer), verify or return (planner)",
)
def transition(
    session: SessionDep,
    principal: PrincipalDep,
    campaign_id: Id,
    agency_id: Id,
    expected: IfMatchDep,
    body: Transition,
) -> JSONResponse:
    """Officers start and submit (sign off) their own agency; planners verify or return it."""
    row = service.transition(
        session, campaign_id, agency_id, body, expected=expected, principal=principal
    )
    return versioned(row)


@router.get(
    "/campaigns/{campaign_id}/completeness",
    responses=_W,
    summary="Completeness per agency: declared, located, planned, surveyed, agreeing",
)
def completeness(
    session: SessionDep,
    scope: ScopeDep,
    campaign_id: Id,
    region: Annotated[int | None, Query(ge=100000, le=999999999)] = None,
) -> list[CompletenessRow]:
    return service.completeness(session, campaign_id, scope=scope, region=region)


@router.get(
    "/campaigns/{campaign_id}/completeness.xlsx",
    response_class=Response,
    responses={**_W, 200: {"content": {XLSX: {}}}},
    summary="Excel list of what each agency still owes",
)
def completeness_xlsx(
    session: SessionDep,
    scope: ScopeDep,
    campaign_id: Id,
    region: Annotated[int | None, Query(ge=100000, le=999999999)] = None,
) -> Response:
    rows = service.completeness(session, campaign_id, scope=scope, region=region)
    return download(
        workbook_export.completeness_xlsx(rows), "清查完成情况.xlsx", "completeness.xlsx"
    )


@router.get(
    "/campaigns/{campaign_id}/completeness/map",
    responses=_W,
    summary="Map layer: regions coloured by completeness (GeoJSON points at region seats)",
)
def completeness_map(
    session: SessionDep,
    scope: ScopeDep,
    campaign_id: Id,
    region: Annotated[int | None, Query(ge=100000, le=999999999)] = None,
) -> dict[str, Any]:
    """One feature per region holding agencies of the campaign: mean score, counts, colour."""
    return service.completeness_layer(session, campaign_id, scope=scope, region=region)


# ---------------------------------------------------------------- the campaign page
pages_router = APIRouter(tags=["map pages 地图"])

PAGE_TEXTS: dict[str, dict[str, str]] = {
    "title": {"zh": "办公用房清查登记", "en": "Office space stock-take"},
    "back": {"zh": "← 返回一张图", "en": "← Back to the map"},
    "template": {"zh": "下载清查登记表模板", "en": "Download the ledger template"},
    "other_lang": {"zh": "English", "en": "中文"},
    "launch": {"zh": "发起清查", "en": "Launch a campaign"},
    "name": {"zh": "名称", "en": "Name"},
    "region": {"zh": "行政区划代码", "en": "Region code"},
    "deadline": {"zh": "截止日期", "en": "Deadline"},
    "launch_button": {"zh": "发起", "en": "Launch"},
    "campaigns": {"zh": "清查任务", "en": "Campaigns"},
    "created_by": {"zh": "发起人", "en": "Launched by"},
    "owed_xlsx": {"zh": "导出尚欠事项（Excel）", "en": "What each agency still owes (Excel)"},
    "agencies": {"zh": "单位填报情况", "en": "Agencies' declarations"},
    "agency": {"zh": "单位", "en": "Agency"},
    "credit_code": {"zh": "统一社会信用代码", "en": "Credit code"},
    "status": {"zh": "状态", "en": "Status"},
    "reason": {"zh": "退回原因", "en": "Reason for return"},
    "completeness": {"zh": "完成度", "en": "Completeness"},
    "owes": {"zh": "尚欠事项", "en": "Still owed"},
    "nothing_owed": {"zh": "无", "en": "nothing"},
    "actions": {"zh": "操作", "en": "Actions"},
    "go_in_progress": {"zh": "开始填报", "en": "Start"},
    "go_submitted": {"zh": "提交并签认", "en": "Submit and sign off"},
    "go_verified": {"zh": "核实通过", "en": "Verify"},
    "go_returned": {"zh": "退回", "en": "Return"},
}


@pages_router.get(
    "/stocktake", response_class=HTMLResponse, summary="Stock-take campaigns page 清查登记"
)
def stocktake_page(
    principal: PrincipalDep,
    lang: Annotated[Literal["zh", "en"], Query(description="page language")] = "zh",
) -> HTMLResponse:
    """Launch a campaign, follow and move each agency's declaration, see what is owed."""
    labels = {k: v[lang] for k, v in PAGE_TEXTS.items()}
    html = render_page(
        "stocktake.html",
        lang=lang,
        title=labels["title"],
        config={"api": "/api/v1", "labels": labels},
        labels=labels,
    )
    return page_response(html)
