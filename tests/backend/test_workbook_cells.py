"""Every workbook the product writes builds its cells in backend.exports.workbook."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from backend.exports import workbook

RISKY = [
    "=1+1",
    "+1",
    "-1+2",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "\n=1",
    "＝1+1",
    "＋1",
    "－1",
    "＠SUM(A1)",
]


def _written(values: list[object]) -> list[object]:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("t")
    workbook.append(ws, values)
    return [c for c in next(load_workbook(io.BytesIO(workbook.to_bytes(wb))).active.iter_rows())]


@pytest.mark.parametrize("text", RISKY)
def test_text_a_spreadsheet_would_run_is_written_as_quoted_text(text: str) -> None:
    (cell,) = _written([text])
    assert cell.data_type == "s" and cell.quotePrefix and cell.value == text


def test_ordinary_text_and_numbers_stay_as_they_are() -> None:
    text, number = _written(["办公室 301", 12.5])
    assert text.value == "办公室 301" and not text.quotePrefix
    assert number.value == 12.5 and number.data_type == "n"
