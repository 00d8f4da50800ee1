"""Editing pages of the register (rooms and occupancy, agencies): templates + ES modules.

The page carries only what its script needs to start (ids, option lists, labels) in
``data-config``; the object itself, its ETag and its history are fetched from the API,
and every write goes back through it (server-side validation, If-Match, audit).
"""

from __future__ import annotations

from collections.abc import Sequence

from map_ui import assets
from map_ui.i18n import Lang
from map_ui.pages import MAP_NAME
from map_ui.templating import render_page

LABELS: dict[str, dict[Lang, str]] = {
    "back": {"zh": "← 返回一张图", "en": "← Back to the map"},
    "room": {"zh": "房间", "en": "Room"},
    "title.room": {"zh": "房间与使用人登记", "en": "Room and occupants"},
    "title.agency": {"zh": "单位信息登记", "en": "Agency details"},
    "number": {"zh": "房间号", "en": "Number"},
    "category": {"zh": "用房类别", "en": "Category"},
    "agency_id": {"zh": "使用单位编号", "en": "Agency id"},
    "save": {"zh": "保存", "en": "Save"},
    "saved": {"zh": "已保存。", "en": "Saved."},
    "stale": {
        "zh": "保存未成功：您打开之后，他人已修改此记录。您填写的内容仍保留在表单中，"
        "各字段旁显示了当前的值，请核对后再次保存。",
        "en": "Not saved: someone changed this record after you opened it. Your entries are "
        "kept in the form and the current values are shown beside each field; check them and "
        "save again.",
    },
    "stale_occupancy": {
        "zh": "操作未成功：该使用记录已被他人修改，列表已刷新，请核对后重试。",
        "en": "Not done: someone changed this occupancy; the list was reloaded, check it and "
        "try again.",
    },
    "current_value": {"zh": "当前值：", "en": "current: "},
    "forbidden": {"zh": "当前角色无权执行此操作。", "en": "Your role may not do this."},
    "not_found": {
        "zh": "对象不存在或不在您的权限范围内。",
        "en": "Not found or outside your scope.",
    },
    "history": {"zh": "变更记录", "en": "History"},
    "no_history": {"zh": "暂无变更记录。", "en": "No changes recorded."},
    "occupancies": {"zh": "使用人", "en": "Occupants"},
    "person_name": {"zh": "姓名", "en": "Name"},
    "person_id": {"zh": "人员标识", "en": "Person key"},
    "rank_code": {"zh": "职级", "en": "Rank"},
    "start_date": {"zh": "起始日期", "en": "Start"},
    "end_date": {"zh": "腾退日期", "en": "Vacated"},
    "end": {"zh": "结束使用", "en": "End"},
    "move": {"zh": "调整房间", "en": "Move"},
    "room_id": {"zh": "新房间编号", "en": "New room id"},
    "assign": {"zh": "登记使用人", "en": "Assign a person"},
    "assigned": {"zh": "已登记。", "en": "Assigned."},
    "ended": {"zh": "已结束使用。", "en": "Ended."},
    "moved": {"zh": "已调整房间。", "en": "Moved."},
    "name": {"zh": "单位名称", "en": "Name"},
    "credit_code": {"zh": "统一社会信用代码", "en": "Credit code"},
    "level": {"zh": "级别", "en": "Level"},
    "approved_office_area_m2": {"zh": "核定面积 (m²)", "en": "Approved office area (m²)"},
    "staffing": {"zh": "编制与实有人数", "en": "Staffing"},
    "quota": {"zh": "编制", "en": "Quota"},
    "headcount": {"zh": "实有人数", "en": "Headcount"},
    "add_rank": {"zh": "增加职级", "en": "Add a rank"},
    "remove": {"zh": "删除", "en": "Remove"},
    "save_staffing": {"zh": "保存编制", "en": "Save staffing"},
    "title.plan": {"zh": "平面图上传", "en": "Floor plan upload"},
    "file": {"zh": "文件", "en": "File"},
    "crs": {"zh": "坐标系", "en": "CRS"},
    "floor": {"zh": "楼层", "en": "Level"},
    "mapping": {"zh": "字段映射 (JSON)", "en": "Field mapping (JSON)"},
    "georef": {"zh": "地理配准 (JSON)", "en": "Georeference (JSON)"},
    "dry_run": {"zh": "预检", "en": "Dry run"},
    "commit": {"zh": "确认导入", "en": "Commit"},
    "report": {"zh": "预检报告", "en": "Report"},
    "rooms_n": {"zh": "房间数", "en": "Rooms"},
    "usable_total": {"zh": "使用面积合计", "en": "Usable area"},
    "errors": {"zh": "错误", "en": "Errors"},
    "warnings": {"zh": "警告", "en": "Warnings"},
    "carry_over": {"zh": "原有使用人与问题的去向", "en": "Where the current occupants go"},
    "matched": {"zh": "已对应", "en": "Matched"},
    "unmatched": {"zh": "待决定", "en": "To decide"},
    "end_uses": {"zh": "结束使用（腾退）", "en": "End their uses"},
    "to_feature": {"zh": "转入新房间", "en": "Move to new room"},
    "imported": {"zh": "已导入新的楼层版本：", "en": "Imported as floor version "},
    "old_room": {"zh": "原房间", "en": "Old room"},
    "new_room": {"zh": "新房间", "en": "New room"},
    "by": {"zh": "依据", "en": "By"},
    "title.whatif": {"zh": "情景推演", "en": "What-if"},
    "scenario_name": {"zh": "情景名称", "en": "Scenario name"},
    "base_version": {"zh": "标准版本", "en": "Standards version"},
    "idle_threshold_days": {"zh": "闲置天数阈值", "en": "Idle threshold (days)"},
    "allowance": {"zh": "人均使用面积上限 (m²)", "en": "Allowance (m² per person)"},
    "run": {"zh": "推演", "en": "Run"},
    "group_level": {"zh": "对比层级", "en": "Compare by"},
    "live": {"zh": "现行", "en": "Live"},
    "scenario": {"zh": "情景", "en": "Scenario"},
    "gained": {"zh": "新增", "en": "Gained"},
    "lost": {"zh": "消除", "en": "Lost"},
    "over_m2": {"zh": "超标面积 (m²)", "en": "Over-standard m²"},
    "idle_m2": {"zh": "闲置面积 (m²)", "en": "Idle m²"},
    "total": {"zh": "合计", "en": "Total"},
    "export": {"zh": "导出 Excel", "en": "Export to Excel"},
    "scenarios": {"zh": "已有情景", "en": "Scenarios"},
    "title.building": {"zh": "办公楼信息登记", "en": "Building details"},
    "title.new_building": {"zh": "新增办公楼", "en": "New building"},
    "b_name": {"zh": "名称", "en": "Name"},
    "b_address": {"zh": "地址", "en": "Address"},
    "b_ownership": {"zh": "权属", "en": "Ownership"},
    "b_registered_owner": {"zh": "登记权利人", "en": "Registered owner"},
    "b_land_certificate_no": {"zh": "土地证号", "en": "Land certificate"},
    "b_building_certificate_no": {"zh": "房屋产权证号", "en": "Building certificate"},
    "b_year_built": {"zh": "建成年份", "en": "Year built"},
    "b_storeys_above": {"zh": "地上层数", "en": "Storeys above ground"},
    "b_storeys_below": {"zh": "地下层数", "en": "Storeys below ground"},
    "b_status": {"zh": "状态", "en": "Status"},
    "b_region": {"zh": "所在区划代码", "en": "Region adcode"},
    "b_footprint": {"zh": "在地图上依次点击轮廓各角点", "en": "Click the corners on the map"},
    "b_clear": {"zh": "重画", "en": "Redraw"},
}


def labels(lang: Lang) -> dict[str, str]:
    return {k: v[lang] for k, v in LABELS.items()}


Option = tuple[str, str]


def _options(items: Sequence[Option]) -> list[dict[str, str]]:
    return [{"code": code, "label": label} for code, label in items]


def room_edit_page(
    *,
    lang: Lang,
    room_id: int,
    today: str,
    categories: Sequence[Option],
    ranks: Sequence[Option],
) -> str:
    """Room form (number, category, agency), its occupants (assign, end, move), history."""
    return render_page(
        "edit.html",
        lang=lang,
        title=LABELS["title.room"][lang],
        back=LABELS["back"][lang],
        page="room-edit",
        config={
            "roomId": room_id,
            "today": today,
            "categories": _options(categories),
            "ranks": _options(ranks),
            "labels": labels(lang),
        },
    )


def agency_edit_page(
    *, lang: Lang, agency_id: int, levels: Sequence[Option], ranks: Sequence[Option]
) -> str:
    """Agency form (details, approved area), staffing per rank, history."""
    return render_page(
        "edit.html",
        lang=lang,
        title=LABELS["title.agency"][lang],
        back=LABELS["back"][lang],
        page="agency-edit",
        config={
            "agencyId": agency_id,
            "levels": _options(levels),
            "ranks": _options(ranks),
            "labels": labels(lang),
        },
    )


def plan_upload_page(
    *,
    lang: Lang,
    building_id: int,
    level: int,
    bounds: tuple[float, float, float, float] | None,
    crs_options: Sequence[Option],
    crs: str,
) -> str:
    """Upload a floor plan: file, CRS, mapping/georef; the dry run is drawn on the map
    (rooms coloured by error / warning, areas labelled) and re-survey decisions are taken
    before the commit."""
    return render_page(
        "edit_map.html",
        lang=lang,
        title=LABELS["title.plan"][lang],
        back=LABELS["back"][lang],
        page="plan-upload",
        map_id=MAP_NAME,
        map_script="/map/leaflet.js",
        css=[href for _, href in assets.MAP_CSS],
        js=[src for _, src in assets.MAP_JS],
        config={
            "mapName": MAP_NAME,
            "buildingId": building_id,
            "level": level,
            "bounds": list(bounds) if bounds else None,
            "crsOptions": _options(crs_options),
            "crs": crs,
            "labels": labels(lang),
        },
    )


def whatif_page(*, lang: Lang, versions: Sequence[Option], rank_names: dict[str, str]) -> str:
    """Run a what-if scenario (a draft edited here, another version or threshold) and read
    its comparison with the live findings; export it to Excel."""
    return render_page(
        "edit.html",
        lang=lang,
        title=LABELS["title.whatif"][lang],
        back=LABELS["back"][lang],
        page="whatif",
        config={"versions": _options(versions), "rankNames": rank_names, "labels": labels(lang)},
    )


def building_edit_page(
    *,
    lang: Lang,
    building_id: int | None,
    bounds: tuple[float, float, float, float] | None,
    ownership: Sequence[Option],
    statuses: Sequence[Option],
) -> str:
    """A building's details and title (If-Match), or a new building placed by clicking its
    footprint on the map (``building_id`` None)."""
    key = "title.building" if building_id else "title.new_building"
    return render_page(
        "edit_map.html",
        lang=lang,
        title=LABELS[key][lang],
        back=LABELS["back"][lang],
        page="building-edit",
        map_id=MAP_NAME,
        map_script="/map/leaflet.js",
        css=[href for _, href in assets.MAP_CSS],
        js=[src for _, src in assets.MAP_JS],
        config={
            "mapName": MAP_NAME,
            "buildingId": building_id,
            "bounds": list(bounds) if bounds else None,
            "ownership": _options(ownership),
            "statuses": _options(statuses),
            "labels": labels(lang),
        },
    )
