"""From raw sheets to records: which template sheet each is, where its header is, its rows.

Real ledgers have a title row and a fill-in block (填报单位、填报日期) above a header of one
or two rows (the top row merged across its sub-columns), and 合计 / signature rows below.
The header is the row (or pair of rows) in the first rows of the sheet that names the
most of one kind's columns, by their Chinese names or common variants; a mapping given
with the upload can name more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from backend.stocktake import template
from backend.stocktake.codes import nfkc
from backend.stocktake.template import COLUMNS, KINDS, SUB_HEADERS, header_key
from backend.stocktake.workbook import RawSheet

HEADER_SCAN_ROWS = 30
# sheets of the register's own exports that are views, not ledger sheets (登记造册 lists the
# surveyed rooms; importing it as declared rooms would turn 实 into 账)
VIEW_SHEETS = {"登记造册", "问题清单", "尚欠事项"}
_FOOTER = re.compile(
    r"^(合计|总计|小计|共计|填表人|填报人|制表人|审核人|审核|负责人|单位负责人|联系人|联系电话|"
    r"签字|签章|盖章|单位盖章|填报日期|填表日期|备注|说明|注[:：])"
)


@dataclass(frozen=True)
class Issue:
    sheet: str
    row: int | None
    column: str | None
    code: str
    message: str
    message_zh: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "message": self.message,
            "message_zh": self.message_zh,
        }


@dataclass(slots=True)
class Record:
    """One data row: its Excel row number and the raw value of each field."""

    row: int
    values: dict[str, Any]
    columns: dict[str, str]  # field → column letter (for reports)
    no_value: set[str] = field(default_factory=set)  # fields whose formula has no value


@dataclass
class Sheet:
    name: str
    kind: str
    records: list[Record]
    rows_read: int = 0


def column_letter(index: int) -> str:
    """0 → A, 27 → AB.

    >>> column_letter(0), column_letter(27)
    ('A', 'AB')
    """
    s = ""
    index += 1
    while index:
        index, r = divmod(index - 1, 26)
        s = chr(65 + r) + s
    return s


def _cell_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return header_key(str(v))


@dataclass(frozen=True)
class Mapping:
    """An upload's overrides: header → field, sheet name → kind."""

    columns: dict[str, str] = field(default_factory=dict)
    sheets: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> Mapping:
        if not raw:
            return cls()
        unknown = set(raw) - {"columns", "sheets"}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}: use 'columns' and 'sheets'")
        cols = raw.get("columns") or {}
        sheets = raw.get("sheets") or {}
        if not isinstance(cols, dict) or not isinstance(sheets, dict):
            raise ValueError("'columns' and 'sheets' must be objects")
        fields = {c.field for cs in COLUMNS.values() for c in cs}
        for k, v in cols.items():
            if not isinstance(k, str) or v not in fields:
                raise ValueError(f"column {str(k)[:40]!r}: unknown field {str(v)[:40]!r}")
        for k, v in sheets.items():
            if not isinstance(k, str) or v not in (*KINDS, "ignore"):
                raise ValueError(f"sheet {str(k)[:40]!r}: kind must be one of {KINDS} or 'ignore'")
        return cls({header_key(k): v for k, v in cols.items()}, dict(sheets))


def _labels(rows: list[list[Any]], r: int, two: bool) -> list[str]:
    top = [_cell_text(v) for v in rows[r]]
    if not two:
        return top
    sub = [_cell_text(v) for v in rows[r + 1]] if r + 1 < len(rows) else []
    sub += [""] * (len(top) - len(sub))
    top += [""] * (len(sub) - len(top))
    out: list[str] = []
    group = ""
    for t, s in zip(top, sub, strict=True):
        if t:
            group = t if s else ""
        if s and group:
            out.append(f"{group}/{s}")
        elif s and not t:
            out.append(s)
        else:
            out.append(t)
    return out


def _match(labels: list[str], kind: str, mapping: Mapping) -> dict[int, str]:
    known = template.lookup(kind)
    allowed = {c.field for c in COLUMNS[kind]}
    out: dict[int, str] = {}
    for i, label in enumerate(labels):
        if not label:
            continue
        f = mapping.columns.get(label) or known.get(label)
        if f is None and "/" in label:  # a group header not in the template: its sub-label
            f = mapping.columns.get(label.split("/", 1)[1])
        if f in allowed and f not in out.values():
            out[i] = f
    return out


def _score(found: dict[int, str], kind: str) -> int:
    fields = set(found.values())
    cols = COLUMNS[kind]
    if not any(c.key and c.field in fields for c in cols):
        return 0
    return len(fields) + 3 * sum(1 for c in cols if c.required and c.field in fields)


def locate(raw: RawSheet, mapping: Mapping) -> tuple[str, int, int, dict[int, str]] | None:
    """(kind, first header row, rows of header, column → field) of the best header found."""
    forced = mapping.sheets.get(raw.name)
    kinds = (forced,) if forced in KINDS else KINDS
    best: tuple[int, str, int, int, dict[int, str]] | None = None
    for r in range(min(HEADER_SCAN_ROWS, len(raw.rows))):
        if sum(1 for v in raw.rows[r] if v not in (None, "")) < 2:
            continue
        sub = [_cell_text(v) for v in raw.rows[r + 1]] if r + 1 < len(raw.rows) else []
        two_candidates = (False, True) if any(s in SUB_HEADERS for s in sub) else (False,)
        for two in two_candidates:
            labels = _labels(raw.rows, r, two)
            for kind in kinds:
                assert kind is not None
                found = _match(labels, kind, mapping)
                score = _score(found, kind)
                if score and (best is None or score > best[0]):
                    best = (score, kind, r, 2 if two else 1, found)
    if best is None:
        return None
    return best[1], best[2], best[3], best[4]


_FOOTER_FIRST = {
    "合",
    "总",
    "小",
    "共",
    "填",
    "制",
    "审",
    "负",
    "单",
    "联",
    "签",
    "盖",
    "备",
    "说",
    "注",
}


def _is_footer(row: list[Any]) -> bool:
    """合计 / signature rows: the first text cell (numbers may stand before it) says so."""
    first = next((v for v in row if isinstance(v, str) and v.strip()), None)
    if first is None:
        return False
    first = first.lstrip(" \u3000")
    return first[:1] in _FOOTER_FIRST and bool(_FOOTER.match(nfkc(first).replace(" ", "")))


def records(raw: RawSheet, mapping: Mapping, issues: list[Issue]) -> Sheet | None:
    """The sheet's data rows, or None (with a warning) when it is no ledger sheet."""
    if mapping.sheets.get(raw.name) == "ignore":
        return None
    if raw.name in VIEW_SHEETS and raw.name not in mapping.sheets:
        issues.append(
            Issue(
                raw.name,
                None,
                None,
                "view_sheet_ignored",
                "a view of the register export, not a ledger sheet: ignored",
                "登记造册导出的汇总视图，不是台账工作表，已忽略",
            )
        )
        return None
    if raw.hidden and raw.name not in mapping.sheets:
        issues.append(
            Issue(
                raw.name,
                None,
                None,
                "hidden_sheet_ignored",
                "hidden sheet ignored (name it in mapping.sheets to import it)",
                "隐藏工作表已忽略（如需导入，请在 mapping.sheets 中指定）",
            )
        )
        return None
    found = locate(raw, mapping)
    if found is None:
        issues.append(
            Issue(
                raw.name,
                None,
                None,
                "sheet_not_recognised",
                "no ledger header found: sheet ignored",
                "未识别到台账表头，该工作表已忽略",
            )
        )
        return None
    kind, start, height, columns = found
    missing = [c for c in COLUMNS[kind] if c.required and c.field not in columns.values()]
    for c in missing:
        issues.append(
            Issue(
                raw.name,
                start + 1,
                None,
                "missing_column",
                f"required column {c.header} not found",
                f"缺少必填列“{c.header}”",
            )
        )
    letters = {f: column_letter(i) for i, f in columns.items()}
    out: list[Record] = []
    pairs = sorted(columns.items())
    width = max(columns) + 1
    no_value_rows = {r for r, _ in raw.no_value}
    empty: set[str] = set()
    for r in range(start + height, len(raw.rows)):
        row = raw.rows[r]
        if len(row) < width:
            row = [*row, *([None] * (width - len(row)))]
        values = {f: (None if row[i] == "" else row[i]) for i, f in pairs}
        formula_gap = r in no_value_rows
        no_value = {f for i, f in pairs if (r, i) in raw.no_value} if formula_gap else empty
        if not no_value and all(v is None for v in values.values()):
            continue
        if _is_footer(row):
            continue
        out.append(Record(r + 1, values, letters, no_value))
    return Sheet(raw.name, kind, out, rows_read=len(out))
