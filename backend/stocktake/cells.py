"""Cell values as offices write them: numbers with units and separators, dates in every style.

Each parser takes what the workbook reader gives (str, int, float, bool, date, datetime or
None) and returns a typed value, or raises ``CellError`` with a code and both messages.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from backend.stocktake.codes import nfkc

EXCEL_EPOCH = dt.date(1899, 12, 30)  # 1900 date system (serial 60 is the phantom 1900-02-29)
BLANKS = {"", "-", "--", "—", "——", "/", "无", "空", "N/A", "n/a", "#N/A"}
_UNITS = re.compile(r"(平方米|平米|㎡|m²|m2|M2|米²|元|人|个|间|层|年)$")
_NUMBER = re.compile(r"^[+]?\d+(\.\d+)?$")


class CellError(ValueError):
    def __init__(self, code: str, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.message_zh = message_zh


def plain(value: Any) -> str | None:
    """Free text (names, addresses) exactly as written, trimmed; None for blanks.

    >>> plain("　杭州市（演示）  "), plain(101.0), plain("—")
    ('杭州市（演示）', '101', None)
    """
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    s = str(value).strip(" \t\r\n\u3000\u00a0")
    return None if s in BLANKS else s


def text(value: Any) -> str | None:
    """Trimmed text with full-width forms folded (codes, numbers, words); None for blanks."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    s = nfkc(str(value))
    return None if s in BLANKS else s


def decimal(value: Any, *, places: int = 2) -> Decimal | None:
    """A non-negative number from ``1,234.50㎡``, ``１２３４．５``, ``1 234,5``? (no) or a cell number.

    >>> [decimal(v) for v in ("1,234.50㎡", "１２３.４ 平方米", 18.005, "", 7)]
    [Decimal('1234.50'), Decimal('123.40'), Decimal('18.01'), None, Decimal('7.00')]
    """
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            raise CellError("not_a_number", "not a number", "不是数字")
        return None
    if isinstance(value, int | float):
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    else:
        s = text(value)
        if s is None:
            return None
        if not _NUMBER.match(s):  # separators and units (the plain number needs none of this)
            s = s.replace(",", "").replace("，", "").replace(" ", "").replace("\u00a0", "")
            s = _UNITS.sub("", s).strip()
        if not _NUMBER.match(s):
            raise CellError(
                "not_a_number",
                f"not a number: {str(value)[:40]!r}",
                f"无法识别的数字：{str(value)[:40]}",
            )
        try:
            d = Decimal(s)
        except InvalidOperation:
            raise CellError("not_a_number", "not a number", "不是数字") from None
    if not d.is_finite() or d < 0:
        raise CellError("negative_number", "must not be negative", "不能为负数")
    if d > Decimal("1e12"):
        raise CellError("number_too_large", "number too large", "数字过大")
    return d.quantize(Decimal(1).scaleb(-places), rounding="ROUND_HALF_UP")


def integer(value: Any) -> int | None:
    """A whole non-negative number (``12人``, ``1,200``, 12.0).

    >>> integer("1,200人"), integer(12.0)
    (1200, 12)
    """
    d = decimal(value, places=4)
    if d is None:
        return None
    if d != d.to_integral_value():
        raise CellError("not_an_integer", "must be a whole number", "须为整数")
    return int(d)


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?$"),
    re.compile(r"^(\d{4})[.\-/](\d{1,2})[.\-/](\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_MONTH_PATTERNS = (
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月$"),
    re.compile(r"^(\d{4})[.\-/](\d{1,2})$"),
)


def excel_serial(serial: float) -> dt.date:
    """Date of an Excel (1900 system) serial.

    >>> excel_serial(45352)
    datetime.date(2024, 3, 1)
    """
    return EXCEL_EPOCH + dt.timedelta(days=int(serial))


def date(value: Any) -> dt.date | None:
    """A date from ``2024年3月1日``, ``2024.3.1``, ``2024-03-01``, an Excel serial or a cell date.

    >>> [date(v) for v in ("2024年3月1日", "2024.3.1", 45352, "2024/03/01 00:00:00", "2024年3月")]
    [datetime.date(2024, 3, 1), datetime.date(2024, 3, 1), datetime.date(2024, 3, 1), datetime.date(2024, 3, 1), datetime.date(2024, 3, 1)]
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value < 2_958_466:  # up to 9999-12-31
            return excel_serial(value)
        raise CellError("not_a_date", "not a date", "不是有效日期")
    s = text(value)
    if s is None:
        return None
    s = re.sub(r"\s+0{1,2}:0{2}(:0{2})?$", "", s)
    try:
        for p in _DATE_PATTERNS:
            m = p.match(s)
            if m:
                return dt.date(int(m[1]), int(m[2]), int(m[3]))
        for p in _MONTH_PATTERNS:
            m = p.match(s)
            if m:
                return dt.date(int(m[1]), int(m[2]), 1)
        if re.fullmatch(r"\d+(\.0+)?", s):
            return excel_serial(float(s))
    except ValueError:
        pass
    raise CellError(
        "not_a_date", f"not a date: {str(value)[:40]!r}", f"无法识别的日期：{str(value)[:40]}"
    )


def year(value: Any) -> int | None:
    """A year from ``1998``, ``1998年``, a date or ``1998.5``.

    >>> year("1998年"), year(1998.0), year("2001-05-01")
    (1998, 1998, 2001)
    """
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.year
    s = text(value)
    if s is None:
        return None
    m = re.fullmatch(r"(\d{4})(年)?(\.0)?", s)
    y = int(m[1]) if m else date(value).year  # type: ignore[union-attr]
    if not 1800 <= y <= 2100:
        raise CellError("year_out_of_range", "year out of range", "年份超出范围")
    return y


_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}
_CN_DIGITS |= {"八": 8, "九": 9}


def _cn_number(s: str) -> int | None:
    if s.isdigit():
        return int(s)
    if s == "十":
        return 10
    if len(s) == 2 and s[0] == "十" and s[1] in _CN_DIGITS:
        return 10 + _CN_DIGITS[s[1]]
    if len(s) == 2 and s[1] == "十" and s[0] in _CN_DIGITS:
        return 10 * _CN_DIGITS[s[0]]
    if len(s) == 3 and s[1] == "十" and s[0] in _CN_DIGITS and s[2] in _CN_DIGITS:
        return 10 * _CN_DIGITS[s[0]] + _CN_DIGITS[s[2]]
    if len(s) == 1 and s in _CN_DIGITS:
        return _CN_DIGITS[s]
    return None


def floor_level(value: Any) -> int | None:
    """Level number from ``3``, ``3层``, ``3F``, ``三楼``, ``B1``, ``地下一层``, ``负2层``.

    >>> [floor_level(v) for v in (3, "3层", "F12", "三楼", "B1", "地下一层", "-2", "负2层")]
    [3, 3, 12, 3, -1, -1, -2, -2]
    """
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and value == int(value) and -20 <= value <= 200 and value != 0:
        return int(value)
    s = text(value)
    if s is None:
        return None
    s = s.replace(" ", "").upper()
    sign = 1
    for prefix in ("地下", "负", "-", "B"):
        if s.startswith(prefix):
            sign, s = -1, s[len(prefix) :]
            break
    s = re.sub(r"^(第|F)", "", s)
    s = re.sub(r"(层|楼|F)$", "", s)
    s = s.removesuffix(".0")
    n = _cn_number(s)
    if n is None or n > 200 or (n == 0 and sign == -1):
        raise CellError(
            "not_a_floor",
            f"not a floor number: {str(value)[:20]!r}",
            f"无法识别的楼层：{str(value)[:20]}",
        )
    return sign * n


_YES = {"是", "Y", "YES", "TRUE", "1", "√", "✓", "兼职"}
_NO = {"否", "N", "NO", "FALSE", "0", "×", "专职"}


def flag(value: Any) -> bool | None:
    """是/否 and the like.

    >>> flag("是"), flag("否"), flag(True), flag(None)
    (True, False, True, None)
    """
    if isinstance(value, bool):
        return value
    s = text(value)
    if s is None:
        return None
    s = s.upper()
    if s in _YES:
        return True
    if s in _NO:
        return False
    raise CellError("not_a_flag", "expected 是 or 否", "应填“是”或“否”")
