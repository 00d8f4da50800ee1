"""Editing pages (HTML): room and occupants, agency and staffing, floor plan upload."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from backend import reference, timekeeping
from backend.api.deps import PrincipalDep, ScopeDep, SessionDep
from backend.api.html import page_response
from backend.compliance import standards
from backend.db.models import Agency, Room
from backend.domain import (
    AGENCY_LEVEL_NAMES,
    AGENCY_LEVELS,
    BUILDING_STATUS_NAMES,
    BUILDING_STATUSES,
    OWNERSHIP_KINDS,
    OWNERSHIP_NAMES,
)
from backend.inventory import service as inventory
from backend.live import service
from backend.maps import map_data
from backend.services.errors import NotFound
from gis.crs import gk3_zone_crs
from map_ui import edit_pages

router = APIRouter(tags=["editing pages 登记编辑"])

LangQuery = Annotated[Literal["zh", "en"], Query(description="page language (zh-CN default)")]


def _ranks(lang: str, level: str | None) -> list[tuple[str, str]]:
    return [
        (r.rank_code, r.name_zh if lang == "zh" else r.name_en)
        for (lv, _), r in sorted(
            reference.ranks().items(), key=lambda kv: (kv[0][0], kv[1].seniority)
        )
        if level is None or lv == level
    ]


@router.get(
    "/register/rooms/{room_id}",
    response_class=HTMLResponse,
    summary="Edit a room and its occupants 房间与使用人登记",
)
def room_page(
    session: SessionDep,
    scope: ScopeDep,
    room_id: Annotated[int, Path(ge=1, le=2**62)],
    lang: LangQuery = "zh",
) -> HTMLResponse:
    """Number, category, agency; assign, end or move occupants; the room's history."""
    if not service.exists_in_scope(session, "room", room_id, scope):
        raise NotFound(f"room {room_id} not found", message_zh="房间不存在")
    level = session.execute(
        select(Agency.level).join(Room, Room.agency_id == Agency.id).where(Room.id == room_id)
    ).scalar_one_or_none()
    categories = [
        (c.category, c.name_zh if lang == "zh" else c.name_en)
        for c in reference.category_groups().values()
    ]
    return page_response(
        edit_pages.room_edit_page(
            lang=lang,
            room_id=room_id,
            today=timekeeping.today().isoformat(),
            categories=categories,
            ranks=_ranks(lang, level),
        )
    )


@router.get(
    "/register/agencies/{agency_id}",
    response_class=HTMLResponse,
    summary="Edit an agency: details, approved area, staffing 单位信息登记",
)
def agency_page(
    session: SessionDep,
    scope: ScopeDep,
    agency_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    lang: LangQuery = "zh",
) -> HTMLResponse:
    """Name, credit code, level, approved office area, staffing per rank; history."""
    if not service.exists_in_scope(session, "agency", agency_id, scope):
        raise NotFound(f"agency {agency_id} not found", message_zh="单位不存在")
    level = session.execute(select(Agency.level).where(Agency.id == agency_id)).scalar_one()
    levels = [(lv, AGENCY_LEVEL_NAMES[lv][0] if lang == "zh" else lv) for lv in AGENCY_LEVELS]
    return page_response(
        edit_pages.agency_edit_page(
            lang=lang, agency_id=agency_id, levels=levels, ranks=_ranks(lang, level)
        )
    )


@router.get(
    "/register/buildings/{building_id}/plan",
    response_class=HTMLResponse,
    summary="Upload a floor plan, see the dry run on the map, decide, commit 平面图上传",
)
def plan_page(
    session: SessionDep,
    scope: ScopeDep,
    building_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    level: Annotated[int, Query(ge=-20, le=200)] = 1,
    lang: LangQuery = "zh",
) -> HTMLResponse:
    """File, CRS, mapping and georeference; the dry-run report drawn on the map."""
    b = map_data.building_outline(session, building_id, scope=scope)
    zone = gk3_zone_crs((b.bounds[0] + b.bounds[2]) / 2)
    crs = ["EPSG:4490", "EPSG:4326", *(f"EPSG:{c}" for c in range(4534, 4555))]
    return page_response(
        edit_pages.plan_upload_page(
            lang=lang,
            building_id=building_id,
            level=level,
            bounds=b.bounds,
            crs_options=[(c, c) for c in crs],
            crs=zone,
        )
    )


@router.get(
    "/register/whatif",
    response_class=HTMLResponse,
    summary="What-if: another standard, a draft or another idle threshold 情景推演",
)
def whatif_page(
    session: SessionDep, principal: PrincipalDep, lang: LangQuery = "zh"
) -> HTMLResponse:
    """Choose a version, edit a draft of its allowances or the idle threshold, run a named
    scenario and compare it with the live findings per city, county or agency; Excel.
    (``principal``: the signed-in, unrevoked caller, like every page.)"""
    versions = [(v["version"], v["title"]) for v in standards.list_versions(session)]
    ranks = {
        f"{lv}/{code}": r.name_zh if lang == "zh" else r.name_en
        for (lv, code), r in reference.ranks().items()
    }
    return page_response(edit_pages.whatif_page(lang=lang, versions=versions, rank_names=ranks))


def _building_page(
    session: SessionDep, scope: ScopeDep, building_id: int | None, lang: str
) -> HTMLResponse:
    bounds = None
    if building_id is not None:
        bounds = map_data.building_outline(session, building_id, scope=scope).bounds
    else:
        bounds = inventory.province_view(session)[1]
    zh = lang == "zh"
    return page_response(
        edit_pages.building_edit_page(
            lang="zh" if zh else "en",
            building_id=building_id,
            bounds=bounds,
            ownership=[(k, OWNERSHIP_NAMES[k][0] if zh else k) for k in OWNERSHIP_KINDS],
            statuses=[(k, BUILDING_STATUS_NAMES[k][0] if zh else k) for k in BUILDING_STATUSES],
        )
    )


@router.get(
    "/register/buildings/new",
    response_class=HTMLResponse,
    summary="Register a new building: details and its footprint clicked on the map 新增办公楼",
)
def new_building_page(session: SessionDep, scope: ScopeDep, lang: LangQuery = "zh") -> HTMLResponse:
    """Details, region, and the footprint drawn by clicking its corners on the map."""
    return _building_page(session, scope, None, lang)


@router.get(
    "/register/buildings/{building_id}",
    response_class=HTMLResponse,
    summary="Edit a building's details and title 办公楼信息登记",
)
def building_page(
    session: SessionDep,
    scope: ScopeDep,
    building_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    lang: LangQuery = "zh",
) -> HTMLResponse:
    """Name, address, agency, ownership and certificates, year, storeys, status; history."""
    return _building_page(session, scope, building_id, lang)
