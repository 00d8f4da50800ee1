"""The ledger template: its four sheets, their columns, and the header names recognised.

The same definition recognises headers on import, writes the empty template and writes
the ledger sheets of the register export, so an export read back changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from backend.stocktake.codes import LADDER, nfkc

KINDS = ("agencies", "buildings", "rooms", "occupants")
SHEET_TITLES = {
    "agencies": "单位",
    "buildings": "房屋",
    "rooms": "房间",
    "occupants": "使用人",
}
KIND_NAMES_EN = {
    "agencies": "agencies",
    "buildings": "buildings",
    "rooms": "rooms",
    "occupants": "occupants",
}


@dataclass(frozen=True)
class Column:
    field: str
    header: str  # what the template writes
    aliases: tuple[str, ...] = ()
    group: str | None = None  # top header of a two-row header (merged across its columns)
    required: bool = False
    key: bool = False  # recognises the sheet


def _staffing(prefix: str, group: str) -> tuple[Column, ...]:
    return tuple(Column(f"{prefix}.{i + 1}", name, group=group) for i, name in enumerate(LADDER))


COLUMNS: dict[str, tuple[Column, ...]] = {
    "agencies": (
        Column("name", "单位名称", ("单位", "机关名称", "单位全称", "机构名称"), required=True),
        Column(
            "credit_code",
            "统一社会信用代码",
            ("信用代码", "社会信用代码", "统一代码", "机构代码"),
            required=True,
            key=True,
        ),
        Column("level", "单位级别", ("级别", "机构级别", "行政级别", "层级"), required=True),
        Column(
            "region",
            "行政区划代码",
            ("区划代码", "所在区划代码", "统计用区划代码", "所属区划", "行政区划"),
            required=True,
        ),
        Column(
            "parent",
            "上级单位统一社会信用代码",
            ("上级单位", "上级单位信用代码", "主管单位", "主管部门", "上级单位代码"),
        ),
        Column(
            "approved_area",
            "核定面积",
            ("核定办公用房面积", "核定办公面积", "核定使用面积"),
            key=True,
        ),
        *_staffing("quota", "核定编制"),
        *_staffing("headcount", "实有人数"),
    ),
    "buildings": (
        Column("building_id", "房屋编号", ("楼栋编号", "房屋ID", "办公楼编号")),
        Column(
            "name",
            "房屋名称",
            ("办公楼名称", "楼栋名称", "建筑名称", "办公楼"),
            required=True,
            key=True,
        ),
        Column("address", "坐落", ("地址", "坐落地址", "房屋坐落", "详细地址", "座落")),
        Column("region", "行政区划代码", ("区划代码", "所在区划代码", "统计用区划代码")),
        Column(
            "agency",
            "管理单位统一社会信用代码",
            ("管理单位", "产权单位", "主要使用单位", "管理单位信用代码"),
            required=True,
        ),
        Column("users", "使用单位", ("使用单位统一社会信用代码", "使用单位信用代码")),
        Column("lon", "经度", ("东经", "经度(CGCS2000)", "经度(WGS84)")),
        Column("lat", "纬度", ("北纬", "纬度(CGCS2000)", "纬度(WGS84)")),
        Column("x", "X坐标", ("X", "横坐标", "东坐标")),
        Column("y", "Y坐标", ("Y", "纵坐标", "北坐标")),
        Column("crs", "坐标系", ("坐标系统", "EPSG", "投影")),
        Column("certificate_no", "不动产权证号", ("产权证号", "房产证号", "不动产证号", "权证号")),
        Column("title_area", "证载面积", ("证载建筑面积", "产权面积", "登记面积"), key=True),
        Column("registered_owner", "权属人", ("权利人", "产权人", "登记权利人")),
        Column("ownership", "权属性质", ("产权性质", "权属类型", "使用方式")),
        Column("use", "用途", ("规划用途", "房屋用途", "证载用途")),
        Column("issued_on", "发证日期", ("登记日期", "发证时间")),
        Column("year_built", "建成年份", ("建成年代", "竣工年份", "建成时间", "竣工时间")),
        Column("storeys_above", "地上层数", ("层数", "总层数")),
        Column("storeys_below", "地下层数", ()),
    ),
    "rooms": (
        Column("building", "房屋名称", ("办公楼名称", "楼栋名称", "所在房屋", "办公楼")),
        Column("building_id", "房屋编号", ("楼栋编号", "办公楼编号")),
        Column("level", "楼层", ("所在楼层", "层次", "层"), required=True),
        Column("number", "房间号", ("房号", "房间编号", "门牌号"), required=True, key=True),
        Column("category", "用房类别", ("房间类别", "用途分类", "房间用途", "类别"), required=True),
        Column(
            "recorded_area",
            "账面面积",
            ("使用面积", "面积", "房间面积", "账面使用面积"),
            required=True,
            key=True,
        ),
        Column("agency", "使用单位统一社会信用代码", ("使用单位", "使用单位信用代码")),
    ),
    "occupants": (
        Column("person_id", "人员编号", ("工号", "人员代码", "编号"), required=True, key=True),
        Column("person_name", "姓名", ("使用人", "使用人姓名", "人员姓名")),
        Column("post_title", "职务", ("现任职务", "岗位")),
        Column(
            "rank", "职级", ("职务职级", "级别", "职务级别", "职级层次"), required=True, key=True
        ),
        Column("agency", "所在单位统一社会信用代码", ("所在单位", "工作单位", "单位信用代码")),
        Column("building", "房屋名称", ("办公楼名称", "办公楼", "所在房屋")),
        Column("building_id", "房屋编号", ("楼栋编号", "办公楼编号")),
        Column("level", "楼层", ("所在楼层",), required=True),
        Column("number", "房间号", ("房号", "办公室房间号", "房间编号"), required=True),
        Column("start_date", "起始日期", ("使用起始日期", "入驻日期", "开始使用日期", "起始时间")),
        Column("concurrent", "是否兼职", ("兼职", "是否兼任", "兼任")),
    ),
}


def header_key(value: str) -> str:
    """Header text as compared: full-width folded, no spaces, ``*``, line breaks or units.

    >>> header_key(" *核定面积\\n（㎡） "), header_key("经度(CGCS2000)"), header_key("正厅(局)级")
    ('核定面积', '经度', '正厅(局)级')
    """
    s = nfkc(value)
    s = re.sub(r"[\s*＊:：]", "", s)
    s = re.sub(r"\([^()]*\)$", "", s)  # units and notes: (㎡), (全称), (CGCS2000)
    return s


def lookup(kind: str) -> dict[str, str]:
    """Recognised header → field for one kind (group/sub names as ``group/sub``)."""
    out: dict[str, str] = {}
    for c in COLUMNS[kind]:
        names = (c.header, *c.aliases)
        for n in names:
            k = header_key(n)
            out[f"{header_key(c.group)}/{k}" if c.group else k] = c.field
    return out


SUB_HEADERS = {header_key(n) for n in LADDER} | {"合计", "小计"}
