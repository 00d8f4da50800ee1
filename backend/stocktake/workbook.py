"""Reading ledger files safely: xlsx (python-calamine) and CSV (UTF-8 or GBK/GB18030).

Everything that can be refused is refused before parsing: the extension (``.xlsm`` and
other macro or binary formats), encrypted workbooks (an OLE container, not a zip), the
file size, zip bombs (member count, declared and actual inflated sizes, ratios), macro
parts and XML with a DOCTYPE. Formulas are read by their cached values; the cells of
formulas without one are listed so the import reports them as errors.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from xml.etree import ElementTree

from python_calamine import CalamineWorkbook, SheetVisibleEnum

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MACRO_EXTENSIONS = {".xlsm", ".xltm", ".xlam", ".xlsb", ".xls", ".xla", ".xlt"}
NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}
# a formula cell whose cached value is missing or empty
_FORMULA_NO_VALUE = re.compile(
    rb'<c r="([A-Z]{1,3})(\d+)"[^>]*>\s*<f(?:\s[^>]*)?(?:/>|>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>'
)


class Refused(Exception):
    """The file is refused before parsing; ``status`` 413, 415 or 422."""

    def __init__(self, status: int, code: str, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.message_zh = message_zh


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_unzipped_bytes: int
    max_zip_ratio: float
    max_zip_members: int
    max_rows: int


@dataclass
class RawSheet:
    """One sheet's rows (0-based indices; row ``i`` is Excel row ``i + 1``)."""

    name: str
    hidden: bool
    rows: list[list[Any]]
    no_value: set[tuple[int, int]] = field(default_factory=set)  # formula cells w/o value


@dataclass
class RawFile:
    format: str
    sheets: list[RawSheet]
    encoding: str | None = None


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n - 1


def read(filename: str, data: bytes, limits: Limits) -> RawFile:
    """The file's sheets; raises Refused for anything not to be parsed."""
    suffix = PurePosixPath(filename.lower()).suffix
    if len(data) > limits.max_bytes:
        raise Refused(
            413,
            "file_too_large",
            f"file of {len(data)} bytes exceeds the limit of {limits.max_bytes}",
            f"文件大小 {len(data)} 字节超过上限 {limits.max_bytes}",
        )
    if suffix in MACRO_EXTENSIONS:
        raise Refused(
            415,
            "macro_or_binary_workbook",
            f"{suffix} workbooks are not accepted (macros or binary format): save as .xlsx",
            f"不接受 {suffix} 文件（含宏或二进制格式），请另存为 .xlsx",
        )
    if suffix == ".csv":
        return _read_csv(filename, data, limits)
    if suffix != ".xlsx":
        raise Refused(
            415,
            "unsupported_format",
            "only .xlsx workbooks and .csv files are accepted",
            "仅接受 .xlsx 工作簿和 .csv 文件",
        )
    if data.startswith(OLE_MAGIC):
        raise Refused(
            415,
            "encrypted_workbook",
            "the workbook is encrypted (password-protected) or a legacy binary file",
            "工作簿已加密（设有密码）或为旧版二进制格式，请去除密码后另存为 .xlsx",
        )
    return _read_xlsx(data, limits)


# ---------------------------------------------------------------- csv
def _read_csv(filename: str, data: bytes, limits: Limits) -> RawFile:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            content = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise Refused(422, "undecodable_csv", "CSV is neither UTF-8 nor GBK", "CSV 编码无法识别")
    rows: list[list[Any]] = []
    for row in csv.reader(io.StringIO(content, newline="")):
        rows.append(list(row))
        if len(rows) > limits.max_rows + 100:
            raise _too_many_rows(limits)
    name = PurePosixPath(filename).stem or "csv"
    return RawFile(
        "csv", [RawSheet(name, False, rows)], "GB18030" if encoding != "utf-8-sig" else "UTF-8"
    )


def _too_many_rows(limits: Limits) -> Refused:
    return Refused(
        413,
        "too_many_rows",
        f"more than {limits.max_rows} rows",
        f"行数超过上限 {limits.max_rows}",
    )


# ---------------------------------------------------------------- xlsx
def _inflate(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: list[int]) -> bytes:
    """A member's bytes, never inflating past its declared size or the total budget."""
    out = bytearray()
    with zf.open(info) as f:
        while chunk := f.read(1 << 20):
            out += chunk
            budget[0] -= len(chunk)
            if len(out) > info.file_size or budget[0] < 0:
                raise Refused(
                    413,
                    "zip_bomb",
                    "the workbook inflates beyond its declared size or the limit",
                    "工作簿解压后超出声明大小或上限（疑似压缩炸弹）",
                )
    return bytes(out)


def _xml(data: bytes) -> ElementTree.Element:
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:4096]:
        raise Refused(422, "xml_doctype", "XML with a DOCTYPE is refused", "拒绝含 DOCTYPE 的 XML")
    return ElementTree.fromstring(data)


def _check_zip(zf: zipfile.ZipFile, limits: Limits) -> None:
    infos = zf.infolist()
    if len(infos) > limits.max_zip_members:
        raise Refused(413, "zip_members", "the workbook has too many parts", "工作簿内部文件过多")
    total = sum(i.file_size for i in infos)
    if total > limits.max_unzipped_bytes:
        raise Refused(
            413,
            "zip_bomb",
            f"the workbook inflates to {total} bytes, over the limit",
            "工作簿解压后超出上限（疑似压缩炸弹）",
        )
    for i in infos:
        if i.file_size > 1 << 20 and i.file_size > limits.max_zip_ratio * max(i.compress_size, 1):
            raise Refused(
                413,
                "zip_bomb",
                f"part {i.filename[:80]} has a compression ratio over {limits.max_zip_ratio:g}",
                "工作簿压缩比异常（疑似压缩炸弹）",
            )
        low = i.filename.lower()
        if "vbaproject" in low or low.endswith(".bin") and "printersettings" not in low:
            raise Refused(
                415,
                "macro_workbook",
                "the workbook contains macros (VBA) or binary parts",
                "工作簿含宏（VBA）或二进制部件，不予接受",
            )


def _read_xlsx(data: bytes, limits: Limits) -> RawFile:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise Refused(
            415, "not_a_workbook", "the file is not an .xlsx workbook", "文件不是 .xlsx 工作簿"
        ) from None
    with zf:
        _check_zip(zf, limits)
        budget = [limits.max_unzipped_bytes]
        names = set(zf.namelist())
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise Refused(
                415, "not_a_workbook", "the file is not an .xlsx workbook", "文件不是 .xlsx 工作簿"
            )
        types = _inflate(zf, zf.getinfo("[Content_Types].xml"), budget)
        if b"macroEnabled" in types or b"vbaProject" in types:
            raise Refused(
                415,
                "macro_workbook",
                "the workbook is macro-enabled",
                "工作簿启用了宏，不予接受",
            )
        book = _xml(_inflate(zf, zf.getinfo("xl/workbook.xml"), budget))
        rels: dict[str, str] = {}
        if "xl/_rels/workbook.xml.rels" in names:
            for rel in _xml(_inflate(zf, zf.getinfo("xl/_rels/workbook.xml.rels"), budget)):
                target = rel.get("Target", "")
                target = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                rels[rel.get("Id", "")] = target
        parts: dict[str, tuple[bool, str | None]] = {}
        for s in book.iterfind("m:sheets/m:sheet", NS):
            rid = s.get(f"{{{NS['r']}}}id", "")
            parts[s.get("name", "")] = (s.get("state", "visible") != "visible", rels.get(rid))
        no_value: dict[str, set[tuple[int, int]]] = {}
        for name, (_, part) in parts.items():
            if part and part in names:
                xml = _inflate(zf, zf.getinfo(part), budget)
                if b"<!DOCTYPE" in xml[:4096]:
                    raise Refused(
                        422, "xml_doctype", "XML with a DOCTYPE is refused", "拒绝含 DOCTYPE 的 XML"
                    )
                no_value[name] = {
                    (int(m[2]) - 1, _col_index(m[1])) for m in _FORMULA_NO_VALUE.finditer(xml)
                }
                del xml
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - any parser failure is the file's fault
        raise Refused(
            422, "unreadable_workbook", "the workbook cannot be read", "工作簿无法读取"
        ) from exc
    sheets: list[RawSheet] = []
    total = 0
    visible = {m.name: m.visible == SheetVisibleEnum.Visible for m in wb.sheets_metadata}
    for name in wb.sheet_names:
        try:
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as exc:  # noqa: BLE001
            raise Refused(
                422, "unreadable_workbook", f"sheet {name[:40]} cannot be read", "工作表无法读取"
            ) from exc
        total += len(rows)
        if total > limits.max_rows + 100 * len(parts):
            raise _too_many_rows(limits)
        hidden = not visible.get(name, True) or parts.get(name, (False, None))[0]
        sheets.append(RawSheet(name, hidden, rows, no_value.get(name, set())))
    return RawFile("xlsx", sheets)


def iter_cells(sheet: RawSheet) -> Iterator[tuple[int, list[Any]]]:
    yield from enumerate(sheet.rows)
