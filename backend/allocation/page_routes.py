"""Reallocation pages (HTML): the planner's map page and the agency officer's request form."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from backend import reference
from backend.api.deps import ScopeDep, SessionDep, get_principal
from backend.api.html import page_response
from backend.db.models import Agency
from backend.inventory import service as inventory
from backend.services import scope as scopes
from map_ui import allocation_pages

router = APIRouter(tags=["reallocation pages 调剂页面"], dependencies=[Depends(get_principal)])
LangQuery = Annotated[Literal["zh", "en"], Query(description="page language (zh-CN default)")]
MAX_AGENCIES = 2000


@router.get("/map/allocation", response_class=HTMLResponse, summary="Reallocation 用房调剂配置")
def planner_page(session: SessionDep, lang: LangQuery = "zh") -> HTMLResponse:
    """Open requests; a request's candidates in the rule order, on the map; approve and
    execute (the API checks the managing office's role)."""
    _adcode, bounds = inventory.province_view(session)
    return page_response(
        allocation_pages.planner_page(api_base="/api/v1", lang=lang, bounds=bounds)
    )


@router.get("/allocation/request", response_class=HTMLResponse, summary="Space request 用房申请")
def request_page(session: SessionDep, scope: ScopeDep, lang: LangQuery = "zh") -> HTMLResponse:
    """An agency officer files a request for their agency and follows it."""
    agencies = [
        {"id": i, "name": n, "level": lv}
        for i, n, lv in session.execute(
            select(Agency.id, Agency.name, Agency.level)
            .where(scopes.agencies(scope))
            .order_by(Agency.id)
            .limit(MAX_AGENCIES)
        )
    ]
    ranks: dict[str, list[list[str]]] = {}
    for (level, code), rank in sorted(
        reference.ranks().items(), key=lambda kv: (kv[0][0], -kv[1].seniority)
    ):
        ranks.setdefault(level, []).append([code, rank.name_zh if lang == "zh" else rank.name_en])
    return page_response(
        allocation_pages.request_page(api_base="/api/v1", lang=lang, agencies=agencies, ranks=ranks)
    )
