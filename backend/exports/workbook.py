"""Spreadsheet cells that are always data: the one home of formula neutralisation.

Every workbook and CSV the product writes (register, findings, stock-take ledgers,
supervision ledgers, reconciliation) builds its cells here, so text from users and files
is never a live formula in Excel, WPS or LibreOffice.
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# characters that make a spreadsheet read a typed or imported value as a formula
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
BOLD = Font(bold=True)


def cell(ws: WriteOnlyWorksheet, value: Any, *, bold: bool = False) -> Any:
    """``value`` for ``ws.append``: text as a string cell, never a formula; numbers as they
    are (bold only applies to text, e.g. headers)."""
    if not isinstance(value, str):
        return value
    c = WriteOnlyCell(ws, value=value)
    c.data_type = "s"  # openpyxl would make "=…" a formula
    if value.startswith(FORMULA_TRIGGERS):
        c.quotePrefix = True
    if bold:
        c.font = BOLD
    return c


def append(ws: WriteOnlyWorksheet, values: list[Any], *, bold: bool = False) -> None:
    """One row of cells built by :func:`cell`."""
    ws.append([cell(ws, v, bold=bold) for v in values])


def header(ws: WriteOnlyWorksheet, names: list[str]) -> None:
    """A bold header row."""
    append(ws, list(names), bold=True)


def csv_field(value: Any) -> Any:
    """A CSV field that no spreadsheet runs as a formula: risky text gets a leading apostrophe.

    >>> csv_field("=1+1"), csv_field("-3 层"), csv_field("办公室"), csv_field(-3)
    ("'=1+1", "'-3 层", '办公室', -3)
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def number(v: Any) -> float | None:
    """A Decimal/None figure as a spreadsheet number."""
    return None if v is None else float(v)


def to_bytes(wb: Workbook) -> bytes:
    """The workbook as .xlsx bytes."""
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
