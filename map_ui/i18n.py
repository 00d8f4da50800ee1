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
    "buildings_in_view": {"zh": "视图内办公楼", "en": "Buildings in view"},
    "title.building": {"zh": "楼层平面", "en": "Floor plans"},
    "title.vacancy": {"zh": "闲置用房热力图", "en": "Vacancy heatmap"},
    "back_to_map": {"zh": "← 返回一张图", "en": "← Back to the map"},
    "vacancy_page": {"zh": "闲置热力图", "en": "Vacancy heatmap"},
    "floor": {"zh": "楼层", "en": "Floor"},
    "colour_by": {"zh": "着色方式", "en": "Colour by"},
    "mode.category": {"zh": "用房类别", "en": "Category"},
    "mode.compliance": {"zh": "合规问题", "en": "Compliance"},
    "mode.vacancy": {"zh": "空置情况", "en": "Vacancy"},
    "room": {"zh": "房间", "en": "Room"},
    "room_no": {"zh": "房间号", "en": "Room no."},
    "category": {"zh": "类别", "en": "Category"},
    "usable_area": {"zh": "使用面积", "en": "Usable area"},
    "agency": {"zh": "使用单位", "en": "Agency"},
    "occupants": {"zh": "使用人", "en": "Occupants"},
    "rank": {"zh": "职级", "en": "Rank"},
    "allowance": {"zh": "标准面积", "en": "Allowance"},
    "per_person": {"zh": "人均标准", "en": "per person"},
    "vacant": {"zh": "空置", "en": "Vacant"},
    "occupied": {"zh": "在用", "en": "Occupied"},
    "not_office": {"zh": "非办公室", "en": "Not an office"},
    "findings": {"zh": "合规问题", "en": "Findings"},
    "no_findings": {"zh": "无", "en": "None"},
    "no_findings_evaluated": {"zh": "尚无合规检查结果", "en": "No compliance results yet"},
    "totals": {"zh": "合计", "en": "Total"},
    "rooms": {"zh": "房间数", "en": "Rooms"},
    "concurrent_post": {"zh": "兼职", "en": "concurrent post"},
    "left_post": {"zh": "已离岗", "en": "left post on"},
    "search": {"zh": "搜索单位或办公楼", "en": "Search agency or building"},
    "search_none": {"zh": "无匹配结果", "en": "No match"},
    "choropleth": {"zh": "分区统计", "en": "Choropleth"},
    "choro.none": {"zh": "不显示", "en": "Off"},
    "choro.usable_area_m2": {"zh": "用房面积", "en": "Holdings area"},
    "choro.vacancy_rate": {"zh": "空置率", "en": "Vacancy rate"},
    "choro.over_standard_m2": {"zh": "超标面积", "en": "Over-standard area"},
    "by_city": {"zh": "按市", "en": "By city"},
    "by_county": {"zh": "按县（区）", "en": "By county"},
    "layer.over_standard": {"zh": "超标用房", "en": "Over-standard space"},
    "layer.idle": {"zh": "闲置用房", "en": "Idle space"},
    "layer.not_recovered": {"zh": "未按时腾退", "en": "Not recovered"},
    "layer.data_quality": {"zh": "数据质量问题", "en": "Data quality"},
    "layer.footprints": {"zh": "办公楼轮廓", "en": "Building footprints"},
    "layer.heat": {"zh": "闲置面积热力", "en": "Idle area heat"},
    "buildings_here": {"zh": "区内办公楼", "en": "Buildings here"},
    "more": {"zh": "更多…", "en": "more…"},
    "vacancy_rate": {"zh": "空置率", "en": "Vacancy rate"},
    "office_area": {"zh": "办公室面积", "en": "Office area"},
    "vacant_office_area": {"zh": "空置办公室面积", "en": "Vacant office area"},
    "over_standard_area": {"zh": "超标面积", "en": "Over-standard area"},
    "open_findings": {"zh": "未整改问题", "en": "Open findings"},
    "total_area": {"zh": "用房总面积", "en": "Total usable area"},
    "region": {"zh": "行政区", "en": "Region"},
    "whole_province": {"zh": "全省", "en": "Whole province"},
    "agency_level": {"zh": "单位层级", "en": "Agency level"},
    "all_levels": {"zh": "全部层级", "en": "All levels"},
    "idle_only": {"zh": "仅闲置满{days}天", "en": "Idle ≥ {days} days only"},
    "leaders_panel": {"zh": "领导驾驶舱", "en": "Leaders' panel"},
    "heat_hint": {
        "zh": "热力按闲置办公室使用面积加权，服务端按缩放级别聚合",
        "en": "Heat weighted by idle office area, binned on the server per zoom",
    },
    "not_configured": {"zh": "未评估", "en": "not evaluated"},
    "excess": {"zh": "超出", "en": "Excess"},
    "open_room": {"zh": "查看房间", "en": "Show room"},
    "no_basemap": {"zh": "未配置底图（离线模式）", "en": "No basemap configured (offline)"},
}


def texts(lang: Lang) -> dict[str, str]:
    """All texts in one language (for pages' JS)."""
    return {key: v[lang] for key, v in TEXTS.items()}


def t(key: str, lang: Lang) -> str:
    return TEXTS[key][lang]
