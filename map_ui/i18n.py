"""Page texts: Chinese first (zh-CN), English with ``?lang=en``."""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]

TEXTS: dict[str, dict[Lang, str]] = {
    "title.holdings": {"zh": "办公用房一张图", "en": "Office space map"},
    "layer.cities": {"zh": "市级行政区", "en": "Cities"},
    "layer.counties": {"zh": "县级行政区", "en": "Counties"},
    "layer.buildings": {"zh": "办公楼", "en": "Office buildings"},
    "building": {"zh": "办公楼", "en": "Building"},
    "address": {"zh": "地址", "en": "Address"},
    "status": {"zh": "状态", "en": "Status"},
    "floors": {"zh": "楼层数", "en": "Floors"},
    "building_area": {"zh": "建筑面积", "en": "Building area"},
    "footprint_area": {"zh": "占地面积", "en": "Footprint area"},
    "ownership": {"zh": "权属", "en": "Ownership"},
    "year_built": {"zh": "建成年份", "en": "Year built"},
    "open_building": {"zh": "查看楼层平面", "en": "Open floor plans"},
    "zoom_hint": {"zh": "放大查看办公楼轮廓", "en": "Zoom in to see building footprints"},
    "loading": {"zh": "加载中…", "en": "Loading…"},
    "status.in_use": {"zh": "在用", "en": "In use"},
    "status.partly_idle": {"zh": "部分闲置", "en": "Partly idle"},
    "status.idle": {"zh": "闲置", "en": "Idle"},
    "status.under_renovation": {"zh": "维修中", "en": "Under renovation"},
    "status.disposed": {"zh": "已处置", "en": "Disposed"},
    "ownership.owned": {"zh": "自有", "en": "Owned"},
    "ownership.leased": {"zh": "租用", "en": "Leased"},
    "ownership.borrowed": {"zh": "借用", "en": "Borrowed"},
    "buildings_in_view": {"zh": "视图内办公楼", "en": "Buildings in view"},
    "no_basemap": {"zh": "未配置底图（离线模式）", "en": "No basemap configured (offline)"},
}


def texts(lang: Lang) -> dict[str, str]:
    """All texts in one language (for pages' JS)."""
    return {key: v[lang] for key, v in TEXTS.items()}


def t(key: str, lang: Lang) -> str:
    return TEXTS[key][lang]
