"""Realistic ledger workbooks, made with openpyxl as agencies make them.

Title row and fill-in block above a two-row header with merged cells, 合计 and signature
rows below, numbers as text with units and separators, dates in every style, full-width
characters, columns in any order, a hidden sheet, formulas with cached values.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook

from backend.stocktake.codes import LADDER, with_check_char

ADCODE_CITY = 330100  # 杭州市
ADCODE_COUNTY = 330106  # 西湖区


def code(n: int, region: int = ADCODE_COUNTY) -> str:
    """A valid 统一社会信用代码 for test agency ``n``."""
    return with_check_char(f"11{region:06d}{n:09d}"[:17])


def bad_checksum(c: str) -> str:
    last = "0" if c[-1] != "0" else "1"
    return c[:17] + last


AGENCIES = [
    # name, code, level, region, parent, approved area, quota by ladder step, headcount by step
    (
        "西湖区测试局",
        code(1),
        "县级",
        ADCODE_COUNTY,
        None,
        "1,234.50㎡",
        {5: 1, 6: 2, 7: 3, 9: 10},
        {5: 1, 6: 2, 7: 3, 9: 8},
    ),
    ("西湖区测试局办公室", code(2), "县", ADCODE_COUNTY, code(1), None, {9: 5}, {9: 4}),
]
BUILDINGS = [
    # name, address, agency code, lon, lat, title area, issued
    (
        "测试综合楼",
        "浙江省杭州市西湖区文三路 1 号",
        code(1),
        "120.1300",
        "30.2800",
        "3,000.00 平方米",
        "2010年5月1日",
    ),
    ("测试附楼", "杭州市西湖区文三路 3 号", code(1), None, None, None, "2012.6.30"),
]
ROOMS = [
    # building, floor, number, category, area, agency
    ("测试综合楼", "3层", "301", "一般工作人员办公室", "18.50㎡", code(1)),
    ("测试综合楼", "3层", "302", "领导人员办公室", "２４．００", code(1)),
    ("测试综合楼", "F1", "101", "会议室", 60, code(1)),
    ("测试附楼", "地下一层", "B01", "汽车库", "1,200.5", code(2)),
]
OCCUPANTS = [
    # person id, name, post, rank, building, floor, room, start, concurrent
    ("P001", "张三", "科员", "一级科员", "测试综合楼", 3, "301", "2024年3月1日", "否"),
    ("P002", "李四", "局长", "县级正职", "测试综合楼", 3, "302", dt.date(2023, 1, 5), "否"),
    ("P003", "王五", "副局长", "二级调研员", "测试综合楼", 3, "302", 45352, "是"),
]


def _block(ws: Any, title: str, width: int) -> None:
    ws.append([title])
    ws.merge_cells(start_row=1, end_row=1, start_column=1, end_column=width)
    ws.append(["填报单位（盖章）：西湖区测试局", None, None, "填报日期：2024年3月1日"])


def _footer(ws: Any, n_cols: int, sum_col: int | None = None) -> None:
    row = ["合计"] + [None] * (n_cols - 1)
    ws.append(row)
    ws.append(["填表人：", None, "审核人：", None, "单位负责人（签字）："])


def agencies_sheet(
    wb: Workbook, rows: Sequence[tuple[Any, ...]] = AGENCIES, *, name: str = "单位"
) -> None:
    ws = wb.create_sheet(name)
    fixed = [
        "统一社会信用代码",
        "单位名称（全称）",
        "单位级别",
        "行政区划代码",
        "上级单位",
        "核定面积（㎡）",
    ]
    width = len(fixed) + 2 * len(LADDER)
    _block(ws, "党政机关办公用房清查登记表（单位）", width)
    top = (
        fixed
        + ["核定编制"]
        + [None] * (len(LADDER) - 1)
        + ["实有人数"]
        + [None] * (len(LADDER) - 1)
    )
    sub = [None] * len(fixed) + list(LADDER) + list(LADDER)
    ws.append(top)
    ws.append(sub)
    for i in range(1, len(fixed) + 1):
        ws.merge_cells(start_row=3, end_row=4, start_column=i, end_column=i)
    ws.merge_cells(
        start_row=3, end_row=3, start_column=len(fixed) + 1, end_column=len(fixed) + len(LADDER)
    )
    ws.merge_cells(
        start_row=3, end_row=3, start_column=len(fixed) + len(LADDER) + 1, end_column=width
    )
    for name_, c, level, region, parent, area, quota, heads in rows:
        ws.append(
            [c, name_, level, region, parent, area]
            + [quota.get(i) for i in range(1, 10)]
            + [heads.get(i) for i in range(1, 10)]
        )
    _footer(ws, width)


def buildings_sheet(wb: Workbook, rows: Sequence[tuple[Any, ...]] = BUILDINGS) -> None:
    ws = wb.create_sheet("房屋")
    header = [
        "房屋名称",
        "坐落",
        "管理单位",
        "经度",
        "纬度",
        "证载面积",
        "发证日期",
        "权属性质",
        "建成年份",
    ]
    _block(ws, "党政机关办公用房清查登记表（房屋）", len(header))
    ws.append(header)
    for name_, addr, agency, lon, lat, area, issued in rows:
        ws.append([name_, addr, agency, lon, lat, area, issued, "自有", "1998年"])
    _footer(ws, len(header))


def rooms_sheet(wb: Workbook, rows: Sequence[tuple[Any, ...]] = ROOMS) -> None:
    ws = wb.create_sheet("房间")
    header = ["使用面积（㎡）", "所在房屋", "楼层", "房间号", "用房类别", "使用单位"]
    _block(ws, "党政机关办公用房清查登记表（房间）", len(header))
    ws.append(header)
    for b, floor, number, cat, area, agency in rows:
        ws.append([area, b, floor, number, cat, agency])
    ws.append(["=SUM(A4:A7)", "合计"])  # a 合计 row whose sum is a formula
    _footer(ws, len(header))


def occupants_sheet(wb: Workbook, rows: Sequence[tuple[Any, ...]] = OCCUPANTS) -> None:
    ws = wb.create_sheet("使用人")
    header = [
        "人员编号",
        "姓名",
        "职务",
        "职级",
        "所在房屋",
        "楼层",
        "房间号",
        "起始日期",
        "是否兼职",
    ]
    _block(ws, "党政机关办公用房清查登记表（使用人）", len(header))
    ws.append(header)
    for row in rows:
        ws.append(list(row))
    _footer(ws, len(header))


def workbook(
    *,
    agencies: Sequence[tuple[Any, ...]] | None = AGENCIES,
    buildings: Sequence[tuple[Any, ...]] | None = BUILDINGS,
    rooms: Sequence[tuple[Any, ...]] | None = ROOMS,
    occupants: Sequence[tuple[Any, ...]] | None = OCCUPANTS,
    hidden: bool = True,
) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    if agencies is not None:
        agencies_sheet(wb, agencies)
    if buildings is not None:
        buildings_sheet(wb, buildings)
    if rooms is not None:
        rooms_sheet(wb, rooms)
    if occupants is not None:
        occupants_sheet(wb, occupants)
    if hidden:
        ws = wb.create_sheet("下拉选项")
        ws.append(["单位级别", "中央", "省", "市", "县", "乡"])
        ws.sheet_state = "hidden"
    return save(wb)


def save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def with_cached_values(data: bytes, values: dict[str, str]) -> bytes:
    """Give formula cells cached values (openpyxl writes formulas without them).

    ``values``: cell reference → value, for every sheet.
    """
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename.startswith("xl/worksheets/sheet"):
                text = body.decode()
                for ref, v in values.items():
                    text = text.replace(f'<c r="{ref}"><f>', f'<c r="{ref}"><f>', 1)
                    start = text.find(f'<c r="{ref}"><f>')
                    if start >= 0:
                        end = text.find("</c>", start)
                        cell = text[start:end]
                        cell = cell.replace("<v></v>", "").replace("<v />", "") + f"<v>{v}</v>"
                        text = text[:start] + cell + text[end:]
                body = text.encode()
            dst.writestr(info, body)
    return out.getvalue()


def with_users(data: bytes, users: dict[str, str]) -> bytes:
    """The workbook with a 使用单位 column on its 房屋 sheet (building name → codes)."""
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    ws = wb["房屋"]
    col = ws.max_column + 1
    ws.cell(row=3, column=col, value="使用单位")
    for row in range(4, ws.max_row + 1):
        name = ws.cell(row=row, column=1).value
        if name in users:
            ws.cell(row=row, column=col, value=users[name])
    return save(wb)
