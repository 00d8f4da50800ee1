"""Reallocation pages: the planner's (requests, candidates on the map, approve, execute)
and the agency officer's (file a request, track it). Same mechanism as map_ui.pages:
autoescaped templates, data in ``data-config``, ES modules, no inline script."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from map_ui import assets
from map_ui.i18n import Lang
from map_ui.pages import MAP_NAME
from map_ui.templating import render_page

TEXTS: dict[str, dict[Lang, str]] = {
    "title.planner": {"zh": "用房调剂配置", "en": "Space reallocation"},
    "title.request": {"zh": "用房申请", "en": "Space request"},
    "requests": {"zh": "用房申请", "en": "Requests"},
    "no_requests": {"zh": "暂无待办申请", "en": "No open requests"},
    "candidates": {"zh": "候选方案（按规则顺序）", "en": "Candidates (rule order)"},
    "show_candidates": {"zh": "候选", "en": "Candidates"},
    "approve": {"zh": "批准", "en": "Approve"},
    "execute": {"zh": "执行", "en": "Execute"},
    "approved": {"zh": "已批准方案", "en": "Plan approved"},
    "executed": {"zh": "已执行", "en": "Executed"},
    "findings_closed": {"zh": "已整改闲置问题", "en": "Idle findings closed"},
    "occupancies": {"zh": "新增使用记录", "en": "Occupancies created"},
    "entitlement": {"zh": "应配与现有面积", "en": "Entitlement vs holdings"},
    "entitled": {"zh": "标准面积", "en": "Entitled"},
    "held": {"zh": "现有面积", "en": "Held"},
    "shortfall": {"zh": "缺口", "en": "Shortfall"},
    "people": {"zh": "人", "en": "people"},
    "agency": {"zh": "单位", "en": "Agency"},
    "rank": {"zh": "职级", "en": "Rank"},
    "count": {"zh": "人数", "en": "People"},
    "reason": {"zh": "理由", "en": "Reason"},
    "submit": {"zh": "提交申请", "en": "Submit"},
    "submitted": {"zh": "已提交", "en": "Submitted"},
    "my_requests": {"zh": "本单位申请", "en": "Our requests"},
    "status.submitted": {"zh": "待审核", "en": "Submitted"},
    "status.planned": {"zh": "已批准", "en": "Planned"},
    "status.executed": {"zh": "已办结", "en": "Executed"},
    "status.cancelled": {"zh": "已撤销", "en": "Cancelled"},
    "loading": {"zh": "加载中…", "en": "Loading…"},
}


def _texts(lang: Lang) -> dict[str, str]:
    return {k: v[lang] for k, v in TEXTS.items()}


def planner_page(
    *, api_base: str, lang: Lang, bounds: tuple[float, float, float, float] | None
) -> str:
    """/map/allocation — open requests, their candidates on the map, approve and execute."""
    return render_page(
        "map.html",
        lang=lang,
        title=_texts(lang)["title.planner"],
        config={
            "page": "allocation",
            "mapName": MAP_NAME,
            "api": api_base,
            "bounds": list(bounds) if bounds else None,
            "alloc": _texts(lang),
        },
        page="allocation",
        map_id=MAP_NAME,
        map_script="/map/leaflet.js",
        css=[href for _, href in assets.MAP_CSS],
        js=[src for _, src in assets.MAP_JS],
    )


def request_page(
    *,
    api_base: str,
    lang: Lang,
    agencies: Sequence[Mapping[str, object]],
    ranks: Mapping[str, list[list[str]]],
) -> str:
    """/allocation/request — an agency officer files a request and tracks it."""
    return render_page(
        "allocation_request.html",
        lang=lang,
        title=_texts(lang)["title.request"],
        config={
            "page": "allocation-request",
            "api": api_base,
            "alloc": _texts(lang),
            "agencies": list(agencies),
            "ranks": dict(ranks),
        },
        page="allocation-request",
    )
