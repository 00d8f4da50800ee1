"""Supervision pages (HTML shells; their data comes from the supervision API)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse

from backend.api.deps import PrincipalDep
from backend.api.html import page_response
from backend.compliance.service import MANUAL_RULE_NAMES
from backend.domain import SPACE_CATEGORIES
from map_ui import supervision

router = APIRouter(tags=["supervision pages 监督检查页面"])
LangQuery = Annotated[Literal["zh", "en"], Query(description="page language (zh-CN default)")]


def _roles(principal: PrincipalDep) -> list[str]:
    return sorted(principal.roles)


@router.get("/supervision", response_class=HTMLResponse, summary="Inspection plan 检查计划")
def plan_page(principal: PrincipalDep, lang: LangQuery = "zh") -> HTMLResponse:
    """Inspections in scope and the form that plans one and draws its buildings."""
    return page_response(supervision.page("plan", lang=lang, config={"roles": _roles(principal)}))


@router.get(
    "/supervision/inspections/{inspection_id}",
    response_class=HTMLResponse,
    summary="On-site check form 现场核查",
)
def inspection_page(
    principal: PrincipalDep,
    inspection_id: Annotated[int, Path(ge=1, le=2**62)],
    lang: LangQuery = "zh",
) -> HTMLResponse:
    """The drawn buildings and the check form (tablet-sized), checks recorded so far."""
    config = {
        "roles": _roles(principal),
        "inspection_id": inspection_id,
        "categories": list(SPACE_CATEGORIES),
        "manual_rules": {code: list(names) for code, names in MANUAL_RULE_NAMES.items()},
    }
    return page_response(supervision.page("inspection", lang=lang, config=config))


@router.get("/supervision/ledger", response_class=HTMLResponse, summary="整改台账 page")
def ledger_page(principal: PrincipalDep, lang: LangQuery = "zh") -> HTMLResponse:
    """Items in scope; an item's measures, evidence and the next step for the caller."""
    config = {"roles": _roles(principal), "user": principal.username}
    return page_response(supervision.page("ledger", lang=lang, config=config))


@router.get("/supervision/leaders", response_class=HTMLResponse, summary="Leaders' panel")
def leaders_page(principal: PrincipalDep, lang: LangQuery = "zh") -> HTMLResponse:
    """Rectification progress per month, overdue, the assessment ranking and its trend."""
    return page_response(
        supervision.page("leaders", lang=lang, config={"roles": _roles(principal)})
    )
