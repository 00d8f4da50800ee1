"""Supervision pages 监督检查: inspection plan, on-site check form, ledger, leaders' panel.

Each page is the ``supervision.html`` shell and one ES module; every figure and name
comes from the API at run time and reaches the DOM as text.
"""

from __future__ import annotations

from typing import Any

from map_ui.i18n import Lang
from map_ui.templating import render_page

TEXTS: dict[str, dict[Lang, str]] = {
    "heading": {"zh": "监督检查", "en": "Supervision"},
    "nav.plan": {"zh": "检查计划", "en": "Inspection plan"},
    "nav.ledger": {"zh": "整改台账", "en": "Rectification ledger"},
    "nav.leaders": {"zh": "领导看板", "en": "Leaders' panel"},
    "nav.map": {"zh": "一张图", "en": "Map"},
    "loading": {"zh": "加载中…", "en": "Loading…"},
    "title.plan": {"zh": "检查计划", "en": "Inspection plan"},
    "title.inspection": {"zh": "现场核查", "en": "On-site check"},
    "title.ledger": {"zh": "整改台账", "en": "Rectification ledger"},
    "title.leaders": {"zh": "整改进度与考核排名", "en": "Rectification progress and ranking"},
    "inspections": {"zh": "检查任务", "en": "Inspections"},
    "new_inspection": {"zh": "新建检查", "en": "New inspection"},
    "kind": {"zh": "检查类型", "en": "Type"},
    "title": {"zh": "名称", "en": "Title"},
    "region": {"zh": "组织地区（区划代码）", "en": "Organising region (adcode)"},
    "scope_regions": {"zh": "检查范围：地区（逗号分隔）", "en": "Scope: regions (comma-separated)"},
    "scope_buildings": {
        "zh": "检查范围：办公楼编号（逗号分隔）",
        "en": "Scope: building ids (comma-separated)",
    },
    "team": {"zh": "检查组成员（用户名，逗号分隔）", "en": "Team (usernames, comma-separated)"},
    "starts_on": {"zh": "开始日期", "en": "Starts"},
    "ends_on": {"zh": "结束日期", "en": "Ends"},
    "share": {"zh": "抽取比例（0–1，空为全部）", "en": "Sample share (0–1, empty: all)"},
    "seed": {"zh": "随机种子", "en": "Random seed"},
    "weighting": {"zh": "抽样权重", "en": "Weighting"},
    "weighting.open_findings": {"zh": "按未整改问题加权", "en": "By open findings"},
    "weighting.uniform": {"zh": "等概率", "en": "Uniform"},
    "create": {"zh": "创建并抽取", "en": "Create and draw"},
    "status": {"zh": "状态", "en": "Status"},
    "status.planned": {"zh": "计划中", "en": "Planned"},
    "status.in_progress": {"zh": "进行中", "en": "In progress"},
    "status.completed": {"zh": "已结束", "en": "Completed"},
    "dates": {"zh": "日期", "en": "Dates"},
    "buildings": {"zh": "抽取的办公楼", "en": "Drawn buildings"},
    "rank": {"zh": "序号", "en": "#"},
    "building": {"zh": "办公楼", "en": "Building"},
    "open_findings": {"zh": "未整改问题", "en": "Open findings"},
    "weight": {"zh": "权重", "en": "Weight"},
    "checks": {"zh": "核查记录", "en": "Checks"},
    "check": {"zh": "核查", "en": "Check"},
    "check_form": {"zh": "现场核查表", "en": "On-site check form"},
    "room": {"zh": "房间", "en": "Room"},
    "whole_building": {"zh": "（整栋楼）", "en": "(whole building)"},
    "measured_area": {"zh": "实测面积（m²）", "en": "Measured area (m²)"},
    "register_area": {"zh": "登记面积", "en": "Registered area"},
    "actual_use": {"zh": "实际用途", "en": "Actual use"},
    "occupant_found": {"zh": "实际使用人", "en": "Occupant found"},
    "lease_found": {"zh": "发现出租出借", "en": "Lease or lending found"},
    "lease_note": {"zh": "出租出借情况", "en": "Lease details"},
    "notes": {"zh": "备注", "en": "Notes"},
    "outcome": {"zh": "核查结论", "en": "Outcome"},
    "outcome.no_issue": {"zh": "未发现问题", "en": "No issue"},
    "outcome.confirm": {"zh": "确认问题", "en": "Confirm a finding"},
    "outcome.manual": {"zh": "新发现问题", "en": "Raise a finding"},
    "photo": {
        "zh": "现场照片 / 测量单（JPEG、PNG、PDF）",
        "en": "Photo / measurement sheet (JPEG, PNG, PDF)",
    },
    "save_check": {"zh": "保存核查", "en": "Save check"},
    "saved": {"zh": "已保存", "en": "Saved"},
    "to_ledger": {"zh": "列入整改台账", "en": "Put on the ledger"},
    "responsible_person": {"zh": "整改责任人", "en": "Responsible person"},
    "responsible_post": {"zh": "职务", "en": "Post"},
    "responsible_agency": {"zh": "整改责任单位", "en": "Responsible agency"},
    "deadline": {"zh": "整改期限", "en": "Deadline"},
    "problem": {"zh": "存在问题", "en": "Problem"},
    "measures": {"zh": "整改措施", "en": "Measures"},
    "after_state": {"zh": "整改后情况", "en": "State after"},
    "not_rectified_reason": {"zh": "未整改原因", "en": "Reason not rectified"},
    "verification_note": {"zh": "核验意见", "en": "Verification note"},
    "evidence": {"zh": "佐证材料", "en": "Evidence"},
    "phase.before": {"zh": "整改前", "en": "Before"},
    "phase.after": {"zh": "整改后", "en": "After"},
    "phase.verification": {"zh": "核验", "en": "Verification"},
    "phase.check": {"zh": "核查", "en": "Check"},
    "upload": {"zh": "上传", "en": "Upload"},
    "start": {"zh": "开始整改", "en": "Start"},
    "submit": {"zh": "提交核验", "en": "Submit for verification"},
    "verify": {"zh": "核验销号", "en": "Verify and close (销号)"},
    "send_back": {"zh": "退回整改", "en": "Send back"},
    "save": {"zh": "保存", "en": "Save"},
    "export": {"zh": "导出整改台账（Excel）", "en": "Export ledger (Excel)"},
    "filter.all": {"zh": "全部", "en": "All"},
    "filter.open": {"zh": "未销号", "en": "Not closed"},
    "filter.overdue": {"zh": "逾期", "en": "Overdue"},
    "closure_proposed": {
        "zh": "规则复核已不再产生该问题：建议核验销号",
        "en": "The rules no longer produce this finding: closure proposed",
    },
    "overdue_days": {"zh": "逾期天数", "en": "Days overdue"},
    "none": {"zh": "暂无", "en": "None"},
    "progress": {"zh": "整改进度（按月）", "en": "Rectification progress per month"},
    "month": {"zh": "月份", "en": "Month"},
    "opened": {"zh": "新增", "en": "Opened"},
    "closed": {"zh": "销号", "en": "Closed"},
    "open_at_end": {"zh": "月末在办", "en": "Open at month end"},
    "overdue_at_end": {"zh": "月末逾期", "en": "Overdue at month end"},
    "ranking": {"zh": "考核排名", "en": "Assessment ranking"},
    "score": {"zh": "得分", "en": "Score"},
    "trend": {"zh": "得分趋势", "en": "Score trend"},
    "scheme": {"zh": "考核方案", "en": "Scheme"},
    "export_ranking": {"zh": "导出考核排名（Excel）", "en": "Export ranking (Excel)"},
    "forbidden": {"zh": "当前角色无权查看", "en": "Your role may not see this"},
    "reminders": {"zh": "催办提醒", "en": "Reminders"},
}

PAGES = {
    "plan": ("/supervision", "title.plan", "supervision-plan"),
    "inspection": ("/supervision/inspections", "title.inspection", "supervision-inspection"),
    "ledger": ("/supervision/ledger", "title.ledger", "supervision-ledger"),
    "leaders": ("/supervision/leaders", "title.leaders", "supervision-leaders"),
}


def texts(lang: Lang) -> dict[str, str]:
    return {k: v[lang] for k, v in TEXTS.items()}


def page(name: str, *, lang: Lang, config: dict[str, Any] | None = None) -> str:
    """The HTML of one supervision page (shell + its module)."""
    path, title_key, script = PAGES[name]
    t = texts(lang)
    nav = [
        ("/supervision", t["nav.plan"]),
        ("/supervision/ledger", t["nav.ledger"]),
        ("/supervision/leaders", t["nav.leaders"]),
    ]
    return render_page(
        "supervision.html",
        lang=lang,
        title=f"{t[title_key]} · {t['heading']}",
        config={"api": "/api/v1", "sv": t, **(config or {})},
        heading=t["heading"],
        nav=nav,
        current=path,
        map_label=t["nav.map"],
        loading=t["loading"],
        page=script,
    )
