"""Reading surveyors' plan files safely: a per-extension driver allow-list, limits first.

Formats: GeoJSON, zipped ESRI Shapefile, GeoPackage, DXF (read by GDAL through pyogrio) and
IMDF archives (zipped GeoJSON files). The extension chooses the one format allowed; the
content must then *be* that format (magic bytes) before GDAL sees it, so a VRT, a URL or
XML named ``.geojson`` never reaches another driver. Files are written under our own names
into a private temporary directory (never a path from the upload), GDAL's network access
is disabled by configuration, and every limit (bytes, zip ratio, members, features,
vertices, JSON nesting) is checked before the expensive step it protects.

The result is a :class:`PlanData`: room geometries in the file's coordinates with their
feature index, mapped attributes, the floor outline if the file has one, and the issues
found while reading (unclosed rings are detected on the raw coordinates: shapely would
close them silently).
"""

from __future__ import annotations

import codecs
import io
import json
import re
import sqlite3
import stat
import struct
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyogrio
import shapely
from ezdxf.lldxf.encoding import decode_dxf_unicode
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gis.imdf import label as imdf_label
from gis.validate import Issue

__all__ = [
    "Limits",
    "FieldMapping",
    "PlanData",
    "UploadRefused",
    "FORMATS",
    "format_for",
    "sniff",
    "json_depth",
    "read_plan",
    "shapefile_encoding",
]

FORMATS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".zip": "zip",
    ".gpkg": "gpkg",
    ".dxf": "dxf",
    ".imdf": "imdf",
}
DRIVERS = {"geojson": "GeoJSON", "shapefile": "ESRI Shapefile", "gpkg": "GPKG", "dxf": "DXF"}

# GDAL never touches the network: HTTP goes to a closed loopback port and fails at once;
# /vsicurl/ accepts no extension. Closed DXF polylines become polygons.
GDAL_CONFIG: dict[str, Any] = {
    "GDAL_HTTP_PROXY": "127.0.0.1:9",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".officemap-network-disabled",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "DXF_CLOSED_LINE_AS_POLYGON": "TRUE",
    "OGR_SQLITE_JOURNAL": "OFF",
}
pyogrio.set_gdal_config_options(GDAL_CONFIG)

Kind = Literal["too_large", "unsupported", "invalid"]


class UploadRefused(ValueError):
    """A file refused before or while parsing (``kind`` → 413 / 415 / 422).

    ``message`` is for the uploader; ``internal`` keeps what the library said (GDAL's
    messages name its temporary paths and versions): for the log, never for an answer.
    """

    def __init__(
        self,
        kind: Kind,
        code: str,
        message: str,
        message_zh: str,
        details: Any = None,
        *,
        internal: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.message = message
        self.message_zh = message_zh
        self.details = details
        self.internal = internal

    def __reduce__(self) -> tuple[Any, ...]:
        # crosses process boundaries (files are read in worker processes)
        return (
            _rebuild_refused,
            (self.kind, self.code, self.message, self.message_zh, self.details, self.internal),
        )


def _rebuild_refused(
    kind: Kind, code: str, message: str, message_zh: str, details: Any, internal: str | None
) -> UploadRefused:
    """
    >>> import pickle
    >>> e = pickle.loads(pickle.dumps(UploadRefused("invalid", "c", "m", "中", {"a": 1}, internal="x")))
    >>> (e.kind, e.code, e.message, e.details, e.internal)
    ('invalid', 'c', 'm', {'a': 1}, 'x')
    """
    return UploadRefused(kind, code, message, message_zh, details, internal=internal)


@dataclass(frozen=True)
class Limits:
    """Upload limits (the service fills them from settings)."""

    max_bytes: int = 50 * 2**20
    max_unzipped_bytes: int = 200 * 2**20
    max_zip_ratio: float = 100.0
    max_zip_members: int = 64
    max_features: int = 20_000
    max_vertices: int = 2_000_000
    max_feature_vertices: int = 100_000
    max_json_depth: int = 32
    max_dxf_block_entities: int = 50_000


@dataclass(frozen=True)
class FieldMapping:
    """Which fields / layers of the file mean what (``mapping`` JSON of an upload)."""

    number: tuple[str, ...] = ("number", "room_no", "room_number", "房间号", "编号", "alt_name")
    category: tuple[str, ...] = ("category", "space_code", "类别", "用途")
    agency: tuple[str, ...] = ("agency_id", "agency", "单位")
    name: tuple[str, ...] = ("name", "名称")
    kind_field: str = "kind"
    outline_value: str = "outline"
    layer: str | None = None
    room_layer: str | None = None
    outline_layer: str | None = None
    label_layer: str | None = None
    encoding: str | None = None
    imdf_level: str | None = None
    imdf_building: str | None = None
    storey_height_m: float | None = None

    KEYS = (
        "number",
        "category",
        "agency",
        "name",
        "kind_field",
        "outline_value",
        "layer",
        "room_layer",
        "outline_layer",
        "label_layer",
        "encoding",
        "imdf_level",
        "imdf_building",
        "storey_height_m",
    )

    @classmethod
    def parse(cls, doc: dict[str, Any] | None) -> FieldMapping:
        """From the upload's mapping JSON; a field name may be a string or a list of candidates.

        >>> FieldMapping.parse({"number": "RoomNo", "room_layer": "A-ROOM"}).number
        ('RoomNo',)
        """
        if not doc:
            return cls()
        if not isinstance(doc, dict):
            raise ValueError("mapping must be a JSON object")
        unknown = set(doc) - set(cls.KEYS)
        if unknown:
            raise ValueError(f"unknown mapping keys: {', '.join(sorted(unknown))}")
        kw: dict[str, Any] = {}
        for key, value in doc.items():
            if key in ("number", "category", "agency", "name"):
                values = [value] if isinstance(value, str) else value
                if not (isinstance(values, list) and all(isinstance(v, str) for v in values)):
                    raise ValueError(f"mapping.{key} must be a field name or a list of names")
                kw[key] = tuple(values)
            elif key == "storey_height_m":
                if value is not None and not isinstance(value, int | float):
                    raise ValueError("mapping.storey_height_m must be a number")
                kw[key] = None if value is None else float(value)
            else:
                if value is not None and not isinstance(value, str | int):
                    raise ValueError(f"mapping.{key} must be a string")
                kw[key] = None if value is None else str(value)
        if kw.get("encoding") and text_codec(kw["encoding"]) is None:
            raise ValueError(f"{kw['encoding']!r} is not a text encoding (use GBK, GB18030, UTF-8)")
        return cls(**kw)


def text_codec(name: str) -> str | None:
    """The canonical name of a text encoding, None for unknown names and for codecs that are
    not character encodings (rot13, base64, zlib … transform bytes or text, not decode).

    >>> text_codec("GB2312"), text_codec("rot13"), text_codec("base64"), text_codec("nope")
    ('gb2312', None, None, None)
    """
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


@dataclass
class PlanData:
    """What a plan file holds, in the file's own coordinates."""

    format: str
    driver: str
    file_crs: str | None = None
    encoding: str | None = None
    encoding_source: str | None = None
    features: int = 0
    rooms: NDArray[np.object_] = field(default_factory=lambda: np.empty(0, dtype=object))
    index: list[int] = field(default_factory=list)
    numbers: list[str | None] = field(default_factory=list)
    categories: list[str | None] = field(default_factory=list)
    agencies: list[str | None] = field(default_factory=list)
    names: list[str | None] = field(default_factory=list)
    attributes: list[dict[str, Any]] = field(default_factory=list)
    outline: BaseGeometry | None = None
    outline_index: int | None = None
    level_name: str | None = None
    dxf_version: str | None = None
    units: str | None = None
    unit_scale: float | None = None
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)


# ------------------------------------------------------------------ sniffing
def format_for(filename: str) -> str:
    """The one format allowed for a file name's extension, or refuse (415).

    >>> format_for("plan.GeoJSON"), format_for("floor3.gpkg")
    ('geojson', 'gpkg')
    """
    suffix = Path(filename.lower()).suffix
    fmt = FORMATS.get(suffix)
    if fmt is None:
        raise UploadRefused(
            "unsupported",
            "extension_not_allowed",
            f"files ending in {suffix or '(no extension)'} are not accepted; "
            f"use one of {', '.join(sorted(FORMATS))}",
            "不支持该文件类型，请上传 GeoJSON、Shapefile（zip）、GeoPackage、DXF 或 IMDF",
            {"extension": suffix, "allowed": sorted(FORMATS)},
        )
    return fmt


def _looks_like(head: bytes) -> str:
    h = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if h.startswith(b"PK\x03\x04") or h.startswith(b"PK\x05\x06"):
        return "zip"
    if h.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if h.startswith(b"<"):
        return "xml"
    if h.startswith((b"{", b"[")):
        return "json"
    if re.match(rb"^(/vsi|[a-z][a-z0-9+.-]*://)", h, re.IGNORECASE):
        return "url"
    return "unknown"


def sniff(fmt: str, data: bytes) -> None:
    """Refuse content that is not the format its extension names (415).

    >>> sniff("geojson", b'{"type": "FeatureCollection", "features": []}')
    >>> try:
    ...     sniff("geojson", b"<OGRVRTDataSource/>")
    ... except UploadRefused as e:
    ...     print(e.code)
    xml_not_accepted
    """
    kind = _looks_like(data[:4096])
    # DXF has no fixed signature (comments, ASCII or binary, any release): only content that
    # is clearly another format is refused here; GDAL's own driver identification decides
    want = {"geojson": "json", "gpkg": "sqlite", "dxf": "unknown", "zip": "zip", "imdf": "zip"}[fmt]
    ok = kind == want
    if ok and fmt == "gpkg" and data[68:72] not in (b"GPKG", b"GP10", b"GP11"):
        ok, kind = False, "sqlite (not a GeoPackage)"
    if ok and fmt == "geojson" and re.search(rb"<!(DOCTYPE|ENTITY)", data[:65536], re.I):
        kind, ok = "xml", False
    if ok:
        return
    if kind == "xml":
        raise UploadRefused(
            "unsupported",
            "xml_not_accepted",
            "XML content (KML/GML/VRT, DOCTYPE or entities) is not accepted",
            "不接受 XML 内容（KML/GML/VRT、DOCTYPE 或实体声明）",
            {"format": fmt, "content": kind},
        )
    raise UploadRefused(
        "unsupported",
        "content_mismatch",
        f"the file's content is {kind}, not {fmt} as its extension says",
        f"文件内容（{kind}）与扩展名（{fmt}）不符",
        {"format": fmt, "content": kind},
    )


def json_depth(data: bytes) -> int:
    """Nesting depth of brackets in a JSON text, counted without parsing (an upper bound).

    >>> json_depth(b'{"a": [[1, 2], [3]]}'), json_depth(b'{"s": "[[["}')
    (3, 1)
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    quote = buf == ord('"')
    if quote.any():
        # a quote escaped by an odd run of backslashes does not toggle a string
        back = buf == ord("\\")
        run = np.zeros(len(buf), dtype=np.int64)
        idx = np.flatnonzero(back)
        if len(idx):
            starts = np.r_[True, np.diff(idx) > 1]
            group = np.cumsum(starts)
            first = idx[starts][group - 1]
            run[idx] = idx - first + 1
        prev_run = np.r_[0, run[:-1]]
        quote &= prev_run % 2 == 0
    in_string = (np.cumsum(quote) - quote) % 2 == 1
    opens = ((buf == ord("{")) | (buf == ord("["))) & ~in_string
    closes = ((buf == ord("}")) | (buf == ord("]"))) & ~in_string
    step = opens.astype(np.int64) - closes.astype(np.int64)
    return int(np.cumsum(step).max(initial=0))


def _check_json(data: bytes, limits: Limits, what: str) -> None:
    depth = json_depth(data)
    if depth > limits.max_json_depth:
        raise UploadRefused(
            "invalid",
            "json_too_deep",
            f"{what}: JSON nested {depth} levels deep (limit {limits.max_json_depth})",
            f"{what}：JSON 嵌套层数 {depth} 超过上限 {limits.max_json_depth}",
            {"depth": depth, "limit": limits.max_json_depth},
        )


# ------------------------------------------------------------------ zips
def _zip_members(data: bytes, limits: Limits) -> dict[str, bytes]:
    """Safe members of a zip: refuse slips, links, nesting and bombs before inflating."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise UploadRefused(
            "invalid",
            "bad_zip",
            "not a readable zip archive",
            "zip 文件无法读取",
            internal=str(exc),
        ) from exc
    files = [
        i
        for i in infos
        if not i.is_dir() and not i.filename.startswith("__MACOSX/") and "/._" not in i.filename
    ]
    if len(files) > limits.max_zip_members:
        raise UploadRefused(
            "too_large",
            "zip_too_many_members",
            f"the zip holds {len(files)} files (limit {limits.max_zip_members})",
            f"zip 内文件数 {len(files)} 超过上限 {limits.max_zip_members}",
        )
    for i in infos:
        name = i.filename
        parts = re.split(r"[\\/]", name)
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            raise UploadRefused(
                "invalid",
                "zip_unsafe_path",
                f"zip member {name!r} has an absolute or parent path (zip-slip)",
                f"zip 成员路径不安全（绝对路径或 ..）：{name}",
                {"member": name},
            )
        mode = (i.external_attr >> 16) & 0o170000
        if mode == stat.S_IFLNK:
            raise UploadRefused(
                "invalid",
                "zip_symlink",
                f"zip member {name!r} is a symbolic link",
                f"zip 成员是符号链接：{name}",
                {"member": name},
            )
        if i.flag_bits & 0x1:
            raise UploadRefused(
                "invalid", "zip_encrypted", f"zip member {name!r} is encrypted", "zip 成员已加密"
            )
        if re.search(r"\.(zip|gz|tgz|bz2|xz|7z|rar|tar|kmz)$", name, re.I):
            raise UploadRefused(
                "invalid",
                "zip_nested",
                f"zip member {name!r} is itself an archive (nested archives are refused)",
                f"不接受嵌套压缩包：{name}",
                {"member": name},
            )
    declared = sum(i.file_size for i in files)
    ratio = declared / max(1, sum(i.compress_size for i in files))
    if declared > limits.max_unzipped_bytes or ratio > limits.max_zip_ratio:
        raise UploadRefused(
            "too_large",
            "zip_bomb",
            f"the zip inflates to {declared} bytes (ratio {ratio:.0f}:1; limits "
            f"{limits.max_unzipped_bytes} bytes, {limits.max_zip_ratio:.0f}:1)",
            "zip 解压后过大或压缩比异常（疑似 zip 炸弹）",
            {"declared_bytes": declared, "ratio": round(ratio, 1)},
        )
    out: dict[str, bytes] = {}
    budget = min(limits.max_unzipped_bytes, int(len(data) * limits.max_zip_ratio) + 1)
    for i in files:
        out[i.filename] = _inflate(zf, i, limits, budget)
        budget -= len(out[i.filename])
    return out


def _inflate(zf: zipfile.ZipFile, i: zipfile.ZipInfo, limits: Limits, budget: int) -> bytes:
    """One member, refusing it as soon as it inflates past its declared size or the budget;
    a member whose headers lie (sizes, CRC, method) or whose stream is broken is a 422."""
    try:
        return _inflate_unchecked(zf, i, budget)
    except UploadRefused:
        raise
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise UploadRefused(
            "invalid",
            "bad_zip",
            f"zip member {i.filename!r} cannot be inflated: its headers or data are damaged "
            f"({type(exc).__name__})",
            "zip 成员无法解压：文件头或数据已损坏",
            {"member": i.filename},
        ) from exc


def _inflate_unchecked(zf: zipfile.ZipFile, i: zipfile.ZipInfo, budget: int) -> bytes:
    chunks: list[bytes] = []
    got = 0
    with zf.open(i) as member:
        while chunk := member.read(1 << 16):
            got += len(chunk)
            budget -= len(chunk)
            if got > i.file_size or budget < 0:
                raise UploadRefused(
                    "too_large",
                    "zip_bomb",
                    f"zip member {i.filename!r} inflates past its declared size or the cap",
                    "zip 成员解压超过声明大小或上限（疑似 zip 炸弹）",
                    {"member": i.filename},
                )
            chunks.append(chunk)
    return b"".join(chunks)


# ------------------------------------------------------------------ shapefile
LDID_CODEPAGES = {
    0x01: "cp437",
    0x02: "cp850",
    0x03: "cp1252",
    0x4D: "gbk",  # Chinese GBK (PRC), Windows code page 936
    0x7A: "gbk",  # PRC GBK, code page 936
    0x57: "cp1252",
    0x78: "big5",
    0x7B: "cp949",
    0x7C: "cp874",
    0x7D: "cp932",
}
CPG_ALIASES = {
    "936": "gbk",
    "cp936": "gbk",
    "ansi 936": "gbk",
    "gbk": "gbk",
    "gb2312": "gbk",
    "gb18030": "gb18030",
    "54936": "gb18030",
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "65001": "utf-8",
}


def _dbf_text(dbf: bytes) -> bytes:
    """The record area of a DBF (header and field descriptors skipped)."""
    if len(dbf) < 32:
        return b""
    header_len = struct.unpack("<H", dbf[8:10])[0]
    return dbf[header_len:]


def shapefile_encoding(
    dbf: bytes, cpg: bytes | None, explicit: str | None
) -> tuple[str, str, Issue | None]:
    """(encoding, where it came from, warning) for a shapefile's attribute text.

    Order: the explicit choice, the .cpg file, the DBF language-driver byte, then a guess
    (UTF-8 if the bytes decode as UTF-8, else GB18030) that is always reported.

    >>> dbf = bytearray(64); dbf[8:10] = (33).to_bytes(2, "little"); dbf[29] = 0x4D
    >>> shapefile_encoding(bytes(dbf), None, None)[:2]
    ('gbk', 'dbf_ldid')
    """
    if explicit:
        name = text_codec(explicit)
        if name is None:
            raise UploadRefused(
                "invalid",
                "unknown_encoding",
                f"{explicit[:40]!r} is not a text encoding",
                "编码名称无效",
                {"encoding": explicit[:40]},
            )
        return name, "explicit", None
    if cpg is not None:
        label = cpg[:64].decode("ascii", "replace").strip().lower()
        name = CPG_ALIASES.get(label) or text_codec(label)
        if name:
            return name, "cpg", None
    if len(dbf) > 29 and dbf[29] in LDID_CODEPAGES:
        return LDID_CODEPAGES[dbf[29]], "dbf_ldid", None
    text = _dbf_text(dbf)
    if text.isascii():
        return "utf-8", "ascii", None
    try:
        text.decode("utf-8")
        guess = "utf-8"
    except UnicodeDecodeError:
        guess = "gb18030"
    return (
        guess,
        "guessed",
        Issue(
            "encoding_guessed",
            f"the shapefile names no encoding (.cpg or DBF code-page byte); read as {guess}. "
            "Check the names, or set mapping.encoding",
            severity="warning",
            details={"encoding": guess},
        ),
    )


def _shapefile_parts(members: dict[str, bytes], mapping: FieldMapping) -> dict[str, bytes]:
    """The .shp/.shx/.dbf (+ .prj/.cpg) of the one shapefile in the zip."""
    stems: dict[str, dict[str, str]] = {}
    for name in members:
        p = Path(name)
        stems.setdefault(str(p.with_suffix("")).lower(), {})[p.suffix.lower()] = name
    shp = [s for s, parts in stems.items() if ".shp" in parts]
    if mapping.layer:
        shp = [s for s in shp if Path(s).name == mapping.layer.lower()]
    if len(shp) != 1:
        found = sorted(Path(s).name for s in stems if ".shp" in stems[s])
        raise UploadRefused(
            "invalid",
            "shapefile_missing" if not shp else "shapefile_ambiguous",
            "the zip must hold exactly one shapefile (.shp + .shx + .dbf)"
            + (f"; found {found}: choose one with mapping.layer" if found else ""),
            "zip 内须恰好有一个 Shapefile（.shp、.shx、.dbf）",
            {"shapefiles": found},
        )
    parts = stems[shp[0]]
    missing = [ext for ext in (".shp", ".shx", ".dbf") if ext not in parts]
    if missing:
        raise UploadRefused(
            "invalid",
            "shapefile_incomplete",
            f"the shapefile is missing {', '.join(missing)}",
            f"Shapefile 缺少文件：{', '.join(missing)}",
            {"missing": missing},
        )
    return {ext: members[name] for ext, name in parts.items()}


def _check_shapefile_counts(parts: dict[str, bytes]) -> None:
    shp, shx, dbf = parts[".shp"], parts[".shx"], parts[".dbf"]
    if len(shp) < 100 or shp[:4] != b"\x00\x00\x27\x0a" or len(shx) < 100:
        raise UploadRefused(
            "invalid",
            "shapefile_corrupt",
            "the .shp/.shx header is not a shapefile's",
            ".shp/.shx 文件头无效",
        )
    shx_records = (len(shx) - 100) // 8
    dbf_records = struct.unpack("<I", dbf[4:8])[0] if len(dbf) >= 32 else -1
    if shx_records != dbf_records:
        raise UploadRefused(
            "invalid",
            "record_count_mismatch",
            f"the .shx indexes {shx_records} shapes but the .dbf holds {dbf_records} records",
            f".shx 有 {shx_records} 个图形而 .dbf 有 {dbf_records} 条记录，二者不一致",
            {"shx": shx_records, "dbf": dbf_records},
        )


# ------------------------------------------------------------------ geopackage
_GPKG_TRIGGER = re.compile(
    r"^(rtree_.+_(insert|insert\d|update\d?|update\d|delete)|"
    r"gpkg_(tile_matrix|metadata|data_columns|extensions|spatial_ref_sys)_.+|"
    r"trigger_(insert|update)_feature_count_.+|trigger_delete_feature_count_.+)$"
)


def _check_gpkg(path: Path) -> list[str]:
    """Inspect sqlite_master read-only before GDAL opens the file: no views, no own triggers."""
    uri = f"file:{path}?mode=ro&immutable=1"
    try:
        con = sqlite3.connect(uri, uri=True)
        try:
            rows = con.execute("SELECT type, name, tbl_name FROM sqlite_master").fetchall()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise UploadRefused(
            "invalid",
            "gpkg_corrupt",
            "not a readable GeoPackage",
            "GeoPackage 无法读取",
            internal=str(exc),
        ) from exc
    views = [n for t, n, _ in rows if t == "view"]
    triggers = [n for t, n, _ in rows if t == "trigger" and not _GPKG_TRIGGER.match(n)]
    if views or triggers:
        raise UploadRefused(
            "invalid",
            "gpkg_active_content",
            "the GeoPackage contains views or triggers beyond the standard ones; "
            "they are refused (nothing was executed)",
            "GeoPackage 含有视图或非标准触发器，已拒绝（未执行任何内容）",
            {"views": views, "triggers": triggers},
        )
    return [n for t, n, tbl in rows if t == "table"]


# ------------------------------------------------------------------ reading
def _gdal_read(
    path: Path,
    driver: str,
    limits: Limits,
    *,
    layer: str | None = None,
    encoding: str | None = None,
    before_reading: Callable[[], dict[str, str]] | None = None,
) -> tuple[dict[str, Any], NDArray[np.object_], dict[str, NDArray[Any]]]:
    """Open with GDAL, which identifies the driver from the content; refuse any driver but
    ``driver``; run ``before_reading`` (checks of the identified file, which answer the
    dataset open options to read with); then read."""
    try:
        info = pyogrio.read_info(path, layer=layer, encoding=encoding)
    except Exception as exc:  # GDAL reports any unreadable file as a generic error
        raise UploadRefused(
            "invalid",
            "unreadable",
            f"the file cannot be read as {driver}",
            f"无法按 {driver} 格式读取该文件",
            internal=str(exc),
        ) from exc
    if info.get("driver") != driver:
        raise UploadRefused(
            "unsupported",
            "content_mismatch",
            f"the content is {info.get('driver')}, not the allowed {driver}",
            "文件内容与扩展名不符",
        )
    if int(info.get("features") or 0) > limits.max_features:
        raise _too_many(int(info["features"]), limits)
    options = before_reading() if before_reading is not None else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            meta, _, geoms, values = pyogrio.raw.read(
                path,
                layer=layer,
                encoding=encoding,
                max_features=limits.max_features + 1,
                **options,
            )
    except Exception as exc:
        raise UploadRefused(
            "invalid",
            "unreadable",
            f"the file cannot be read as {driver}",
            f"无法按 {driver} 格式读取该文件",
            internal=str(exc),
        ) from exc
    if len(geoms) > limits.max_features:
        raise _too_many(len(geoms), limits)
    fields = {str(n): v for n, v in zip(meta["fields"], values, strict=True)}
    return meta, np.asarray(geoms, dtype=object), fields


def _too_many(n: int, limits: Limits) -> UploadRefused:
    return UploadRefused(
        "invalid",
        "too_many_features",
        f"the file has {n} features (limit {limits.max_features})",
        f"要素数 {n} 超过上限 {limits.max_features}",
        {"features": n, "limit": limits.max_features},
    )


def _check_vertices(geoms: NDArray[np.object_], limits: Limits) -> None:
    counts = shapely.get_num_coordinates(geoms)
    total = int(counts.sum())
    worst = int(counts.max(initial=0))
    if total > limits.max_vertices or worst > limits.max_feature_vertices:
        raise UploadRefused(
            "invalid",
            "too_many_vertices",
            f"{total} vertices in all, {worst} in one feature (limits {limits.max_vertices}, "
            f"{limits.max_feature_vertices})",
            "顶点数超过上限",
            {"vertices": total, "max_in_one_feature": worst},
        )


def _wkb_budget(wkb: NDArray[np.object_], limits: Limits) -> None:
    # 16 bytes per 2D vertex: refuse vertex bombs before GEOS builds them
    size = sum(len(w) for w in wkb if w is not None)
    if size > 16 * limits.max_vertices + 64 * len(wkb) + 1024:
        raise UploadRefused(
            "invalid",
            "too_many_vertices",
            f"geometries hold about {size // 16} vertices (limit {limits.max_vertices})",
            "顶点数超过上限",
            {"vertices_estimate": size // 16},
        )


def _parse_wkb(wkb: NDArray[np.object_], limits: Limits) -> tuple[NDArray[np.object_], list[Issue]]:
    """Geometries from WKB (2D); unclosed rings reported on the raw coordinates."""
    _wkb_budget(wkb, limits)
    geoms = np.asarray(shapely.from_wkb(wkb, on_invalid="ignore"), dtype=object)
    issues: list[Issue] = []
    broken = np.flatnonzero(shapely.is_missing(geoms) & np.array([w is not None for w in wkb]))
    if len(broken):
        fixed = shapely.from_wkb(wkb[broken], on_invalid="fix")
        for i, g in zip(broken, fixed, strict=True):
            loc = shapely.get_coordinates(g)[:1].tolist() if g is not None else []
            issues.append(
                Issue(
                    "unclosed_ring",
                    "ring is not closed: its last vertex differs from the first",
                    feature=int(i),
                    location=loc[0] if loc else None,
                )
            )
            geoms[i] = g
    geoms = np.asarray(shapely.force_2d(geoms), dtype=object)
    _check_vertices(geoms, limits)
    return geoms, issues


def _text(values: Any) -> list[str | None]:
    out: list[str | None] = []
    for v in values:
        if v is None or (isinstance(v, float) and not np.isfinite(v)):
            out.append(None)
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            s = str(v).strip()
            out.append(s or None)
    return out


def _pick(fields: dict[str, NDArray[Any]], names: Sequence[str], n: int) -> list[str | None]:
    lower = {k.lower(): k for k in fields}
    for name in names:
        key = name if name in fields else lower.get(name.lower())
        if key is not None:
            return _text(fields[key])
    return [None] * n


def _json_safe(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, str | int | float | bool) or v is None:
        return v
    return str(v)


def _attributes(fields: dict[str, NDArray[Any]], n: int) -> list[dict[str, Any]]:
    return [{k: _json_safe(v[i]) for k, v in fields.items()} for i in range(n)]


def _is_polygonal(geoms: NDArray[np.object_]) -> NDArray[np.bool_]:
    kinds = shapely.get_type_id(geoms)
    return np.isin(kinds, (3, 6))


def _rooms_from(
    plan: PlanData,
    geoms: NDArray[np.object_],
    fields: dict[str, NDArray[Any]],
    mapping: FieldMapping,
    *,
    index: NDArray[np.int64],
    outline_mask: NDArray[np.bool_],
) -> None:
    """Fill ``plan`` with rooms (polygonal features) and the outline (marked features)."""
    n = len(geoms)
    numbers = _pick(fields, mapping.number, n)
    categories = _pick(fields, mapping.category, n)
    agencies = _pick(fields, mapping.agency, n)
    names = _pick(fields, mapping.name, n)
    attrs = _attributes(fields, n)
    poly = _is_polygonal(geoms)
    if outline_mask.any():
        outline = geoms[outline_mask & poly]
        plan.outline = shapely.union_all(outline) if len(outline) > 1 else outline[0]
        plan.outline_index = int(index[np.flatnonzero(outline_mask)[0]])
    rooms = poly & ~outline_mask
    for i in np.flatnonzero(~poly & ~outline_mask & ~shapely.is_missing(geoms)):
        plan.warnings.append(
            Issue(
                "not_a_polygon",
                f"feature is a {shapely.get_type_id(geoms[i]) and geoms[i].geom_type}, "
                "not a room polygon; ignored",
                feature=int(index[i]),
                location=shapely.get_coordinates(geoms[i])[:1].tolist()[0]
                if shapely.get_num_coordinates(geoms[i])
                else None,
                severity="warning",
            )
        )
    for i in np.flatnonzero(shapely.is_missing(geoms)):
        if not any(e.feature == int(index[i]) for e in plan.errors):
            plan.errors.append(
                Issue("missing_geometry", "feature has no geometry", feature=int(index[i]))
            )
    sel = np.flatnonzero(rooms)
    plan.rooms = np.asarray(geoms[sel], dtype=object)
    plan.index = [int(index[i]) for i in sel]
    plan.numbers = [numbers[i] for i in sel]
    plan.categories = [categories[i] for i in sel]
    plan.agencies = [agencies[i] for i in sel]
    plan.names = [names[i] for i in sel]
    plan.attributes = [attrs[i] for i in sel]


def _read_vector(
    path: Path, fmt: str, mapping: FieldMapping, limits: Limits, encoding: str | None = None
) -> PlanData:
    driver = DRIVERS[fmt]
    plan = PlanData(format=fmt, driver=driver, encoding=encoding)
    layer = mapping.layer if fmt == "gpkg" else None
    if fmt == "gpkg":
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
        wanted = [n for n in (mapping.layer, mapping.outline_layer) if n]
        missing = [n for n in wanted if n not in layers]
        if missing or (
            layer is None and len([n for n in layers if n != mapping.outline_layer]) != 1
        ):
            raise UploadRefused(
                "invalid",
                "layer_not_found" if missing else "layer_ambiguous",
                "choose the room layer with mapping.layer"
                + (f": {missing} not found" if missing else ""),
                "请用 mapping.layer 指定房间图层",
                {"layers": layers},
            )
        layer = layer or next(n for n in layers if n != mapping.outline_layer)
    meta, wkb, fields = _gdal_read(path, driver, limits, layer=layer, encoding=encoding)
    plan.file_crs = meta.get("crs")
    plan.features = len(wkb)
    geoms, issues = _parse_wkb(wkb, limits)
    plan.errors += issues
    index = np.arange(len(geoms), dtype=np.int64)
    kind = fields.get(mapping.kind_field) if mapping.kind_field else None
    outline_mask = (
        np.array([str(k).lower() == mapping.outline_value.lower() for k in kind])
        if kind is not None
        else np.zeros(len(geoms), dtype=bool)
    )
    _rooms_from(plan, geoms, fields, mapping, index=index, outline_mask=outline_mask)
    if fmt == "gpkg" and mapping.outline_layer:
        _, owkb, _ = _gdal_read(path, driver, limits, layer=mapping.outline_layer)
        outlines, oissues = _parse_wkb(owkb, limits)
        plan.errors += [
            Issue(i.code, "floor outline: " + i.message, feature=None, location=i.location)
            for i in oissues
        ]
        outlines = outlines[_is_polygonal(outlines)]
        if len(outlines):
            plan.outline = shapely.union_all(outlines) if len(outlines) > 1 else outlines[0]
    return plan


def _read_dxf(path: Path, mapping: FieldMapping, limits: Limits) -> PlanData:
    plan = PlanData(format="dxf", driver="DXF")

    def scan() -> dict[str, str]:
        info = dxf_scan(path.read_bytes(), limits)
        plan.dxf_version, plan.units, plan.unit_scale = info.version, info.units, info.unit_scale
        # R2007 and later store text as UTF-8 whatever $DWGCODEPAGE says; before that the
        # code page applies (ANSI_936 = GBK), unless the mapping names the encoding
        if mapping.encoding:
            plan.encoding, plan.encoding_source = text_codec(mapping.encoding), "explicit"
            return {"ENCODING": mapping.encoding}
        if info.utf8:
            plan.encoding, plan.encoding_source = "utf-8", "dxf_release"
            return {"ENCODING": "UTF-8"}
        return {}

    meta, wkb, fields = _gdal_read(path, "DXF", limits, before_reading=scan)
    plan.features = len(wkb)
    geoms, issues = _parse_wkb(wkb, limits)
    plan.errors += issues
    layers = np.array([str(v) for v in fields.get("Layer", np.full(len(geoms), ""))], dtype=object)
    text = [
        None if t is None else decode_dxf_unicode(t)
        for t in _text(fields.get("Text", np.full(len(geoms), None)))
    ]
    kinds = shapely.get_type_id(geoms)
    is_text = (kinds == 0) & np.array([t is not None for t in text], dtype=bool)
    on_room = layers == mapping.room_layer if mapping.room_layer else np.ones(len(geoms), bool)
    on_outline = (
        layers == mapping.outline_layer if mapping.outline_layer else np.zeros(len(geoms), bool)
    )
    on_label = layers == mapping.label_layer if mapping.label_layer else np.ones(len(geoms), bool)
    if mapping.room_layer is None:
        on_room &= ~on_outline & ~(layers == mapping.label_layer)
    poly = _is_polygonal(geoms)
    lines = np.isin(kinds, (1, 5))
    for i in np.flatnonzero(lines & on_room):
        start = shapely.get_coordinates(geoms[i])[:1].tolist()
        plan.warnings.append(
            Issue(
                "open_polyline",
                f"open polyline on layer {layers[i]!r}: not a room (close it in CAD)",
                feature=int(i),
                location=start[0] if start else None,
                severity="warning",
            )
        )
    if mapping.outline_layer:
        outlines = geoms[on_outline & poly]
        if len(outlines):
            plan.outline = shapely.union_all(outlines) if len(outlines) > 1 else outlines[0]
            plan.outline_index = int(np.flatnonzero(on_outline & poly)[0])
    sel = np.flatnonzero(on_room & poly)
    rooms = np.asarray(geoms[sel], dtype=object)
    numbers: list[str | None] = [None] * len(sel)
    labels = np.flatnonzero(is_text & on_label)
    if len(sel) and len(labels):
        tree = shapely.STRtree(rooms)
        pts, hit = tree.query(geoms[labels], predicate="within")
        for p, r in zip(pts, hit, strict=True):
            t = text[labels[p]]
            if numbers[r] is None:
                numbers[r] = t
            elif numbers[r] != t:
                plan.warnings.append(
                    Issue(
                        "several_labels",
                        f"room holds several texts ({numbers[r]!r}, {t!r}); the first is its number",
                        feature=int(sel[r]),
                        severity="warning",
                    )
                )
    plan.rooms = rooms
    plan.index = [int(i) for i in sel]
    plan.numbers = numbers
    plan.categories = [None] * len(sel)
    plan.agencies = [None] * len(sel)
    plan.names = [None] * len(sel)
    plan.attributes = [
        {
            "layer": str(layers[i]),
            "handle": _json_safe(fields.get("EntityHandle", [None] * len(geoms))[i]),
        }
        for i in sel
    ]
    return plan


# ------------------------------------------------------------------ DXF structure
# $INSUNITS → (name, metres per drawing unit); 0 = unitless
INSUNITS: dict[int, tuple[str, float]] = {
    1: ("inch", 0.0254),
    2: ("foot", 0.3048),
    3: ("mile", 1609.344),
    4: ("millimetre", 0.001),
    5: ("centimetre", 0.01),
    6: ("metre", 1.0),
    7: ("kilometre", 1000.0),
    8: ("microinch", 0.0254e-6),
    9: ("mil", 0.0254e-3),
    10: ("yard", 0.9144),
    11: ("angstrom", 1e-10),
    12: ("nanometre", 1e-9),
    13: ("micron", 1e-6),
    14: ("decimetre", 0.1),
    15: ("decametre", 10.0),
    16: ("hectometre", 100.0),
    17: ("gigametre", 1e9),
    18: ("astronomical unit", 1.495978707e11),
    19: ("light year", 9.4607304725808e15),
    20: ("parsec", 3.0856775814913673e16),
    21: ("US survey foot", 1200 / 3937),
}
ACAD_RELEASES = {
    "AC1009": "R12",
    "AC1012": "R13",
    "AC1014": "R14",
    "AC1015": "R2000",
    "AC1018": "R2004",
    "AC1021": "R2007",
    "AC1024": "R2010",
    "AC1027": "R2013",
    "AC1032": "R2018",
}
BINARY_DXF = b"AutoCAD Binary DXF\r\n\x1a\x00"


@dataclass(frozen=True)
class DxfInfo:
    """What the DXF's structure says before any geometry is built."""

    version: str | None
    units: str | None
    unit_scale: float | None
    binary: bool
    expanded_entities: int

    @property
    def utf8(self) -> bool:
        """Text is UTF-8 from R2007 (AC1021) on."""
        return self.version in ("R2007", "R2010", "R2013", "R2018")


def _dxf_tags(data: bytes) -> Iterator[tuple[int, str]]:
    """(group code, value) pairs of an ASCII or binary DXF (ezdxf's low-level loaders)."""
    from ezdxf.lldxf.tagger import ascii_tags_loader, binary_tags_loader

    if data.startswith(BINARY_DXF):
        for tag in binary_tags_loader(data, errors="replace"):
            yield tag.code, str(tag.value)
        return
    # the structure is ASCII; latin-1 keeps every byte (GBK / UTF-8 text is not read here)
    stream = io.StringIO(data.decode("latin-1"))
    for tag in ascii_tags_loader(stream, skip_comments=True):
        yield tag.code, str(tag.value)


def dxf_scan(data: bytes, limits: Limits) -> DxfInfo:
    r"""Release, $INSUNITS and the number of entities block inserts would expand to,
    counted from the tag stream before GDAL expands anything (nested blocks multiply:
    an INSERT of a block holding ten INSERTs of a ten-entity block is 100 entities).
    Refuses (413) a drawing whose expansion exceeds ``limits.max_dxf_block_entities``,
    and recursive block definitions.

    >>> doc = b"0\nSECTION\n2\nHEADER\n9\n$ACADVER\n1\nAC1009\n9\n$INSUNITS\n70\n4\n0\nENDSEC\n0\nEOF\n"
    >>> dxf_scan(doc, Limits())
    DxfInfo(version='R12', units='millimetre', unit_scale=0.001, binary=False, expanded_entities=0)
    """
    version = None
    insunits: int | None = None
    section = None
    var = None
    block: str | None = None
    entity: str | None = None
    direct: dict[str, int] = {}  # block → own entities (INSERTs excluded)
    nested: dict[str, dict[str, int]] = {}  # block → inserted block → copies
    top_entities = 0
    top_inserts: dict[str, int] = {}
    insert_name: str | None = None
    copies = 1
    expect_section_name = False

    def close_insert() -> None:
        nonlocal insert_name, copies
        if entity == "INSERT" and insert_name is not None:
            target = nested.setdefault(block, {}) if block is not None else top_inserts
            target[insert_name] = target.get(insert_name, 0) + max(1, copies)
        insert_name, copies = None, 1

    try:
        for code, value in _dxf_tags(data):
            if code == 0:
                close_insert()
                entity = value.strip().upper()
                if entity == "SECTION":
                    expect_section_name = True
                elif entity == "ENDSEC":
                    section = None
                elif section == "BLOCKS" and entity == "ENDBLK":
                    block = None
                elif section == "BLOCKS" and entity == "BLOCK":
                    block = ""  # named by its code 2
                elif section == "BLOCKS" and block is not None and entity != "INSERT":
                    direct[block] = direct.get(block, 0) + 1
                elif section == "ENTITIES" and entity != "INSERT":
                    top_entities += 1
                continue
            if expect_section_name and code == 2:
                section, expect_section_name = value.strip().upper(), False
                continue
            if section == "HEADER":
                if code == 9:
                    var = value.strip().upper()
                elif var == "$ACADVER" and code == 1:
                    version = value.strip().upper()
                elif var == "$INSUNITS" and code == 70:
                    insunits = int(value.strip())
            elif section == "BLOCKS" and entity == "BLOCK" and block == "" and code == 2:
                block = value.strip()
                direct.setdefault(block, 0)
            elif entity == "INSERT" and section in ("BLOCKS", "ENTITIES"):
                if code == 2:
                    insert_name = value.strip()
                elif code in (70, 71):  # MINSERT columns × rows
                    copies *= max(1, min(int(value.strip()), 32767))
        close_insert()
    except UploadRefused:
        raise
    except Exception as exc:  # ezdxf's loaders raise on any malformed tag stream
        raise UploadRefused(
            "invalid",
            "unreadable",
            f"the DXF's tag structure is damaged ({type(exc).__name__})",
            "DXF 文件结构已损坏",
        ) from exc

    cap = limits.max_dxf_block_entities
    sizes: dict[str, int] = {}

    def size(name: str, path: tuple[str, ...]) -> int:
        if name in path:
            raise UploadRefused(
                "invalid",
                "dxf_recursive_block",
                f"block {name!r} inserts itself (through {' → '.join(path)})",
                f"DXF 图块 {name} 递归引用自身",
                {"block": name},
            )
        if name not in sizes:
            total = direct.get(name, 0)
            for child, n in nested.get(name, {}).items():
                total += n * size(child, (*path, name))
                if total > cap:
                    break
            sizes[name] = min(total, cap + 1)
        return sizes[name]

    expanded = top_entities
    for name, n in top_inserts.items():
        expanded += n * size(name, ())
        if expanded > cap:
            break
    if expanded > cap:
        raise UploadRefused(
            "too_large",
            "dxf_block_expansion",
            f"block inserts would expand the drawing to more than {cap} entities "
            "(refused before expanding; explode or purge nested blocks in CAD)",
            f"图块插入展开后实体数超过上限 {cap}（未展开即拒绝）",
            {"limit": cap, "expanded_at_least": expanded},
        )
    name_scale = INSUNITS.get(insunits or 0)
    return DxfInfo(
        version=ACAD_RELEASES.get(version or "", version),
        units=name_scale[0] if name_scale else None,
        unit_scale=name_scale[1] if name_scale else None,
        binary=data.startswith(BINARY_DXF),
        expanded_entities=expanded,
    )


def _ring_closed(coords: Any) -> bool:
    return isinstance(coords, list) and len(coords) > 0 and coords[0] == coords[-1]


def _raw_unclosed(geometry: Any) -> list[float] | None:
    """First vertex of an unclosed ring in a GeoJSON polygon, from the raw coordinates."""
    if not isinstance(geometry, dict):
        return None
    polys = (
        [geometry.get("coordinates")]
        if geometry.get("type") == "Polygon"
        else (geometry.get("coordinates") or [])
        if geometry.get("type") == "MultiPolygon"
        else []
    )
    for poly in polys if isinstance(polys, list) else []:
        for ring in poly if isinstance(poly, list) else []:
            if not _ring_closed(ring):
                first = ring[0] if isinstance(ring, list) and ring else None
                return list(first[:2]) if isinstance(first, list) else None
    return None


def _imdf_features(doc: Any, name: str) -> list[dict[str, Any]]:
    """The feature objects of an IMDF GeoJSON file (a FeatureCollection), else refuse."""
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise UploadRefused(
            "invalid",
            "imdf_not_feature_collection",
            f"{name} is not a GeoJSON FeatureCollection",
            f"{name} 不是 GeoJSON 要素集合",
            {"file": name},
        )
    return [f for f in features if isinstance(f, dict)]


def _imdf_feature(f: dict[str, Any]) -> dict[str, Any]:
    """A feature whose ``properties`` is an object (anything else counts as none) and whose
    ``id`` is a string or number."""
    props = f.get("properties")
    fid = f.get("id")
    return {
        **f,
        "properties": props if isinstance(props, dict) else {},
        "id": fid if isinstance(fid, str | int) and not isinstance(fid, bool) else None,
    }


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _ordinal(props: dict[str, Any]) -> int | None:
    """An IMDF level's ``ordinal`` as an integer; None when missing or not an integer.

    >>> _ordinal({"ordinal": 2}), _ordinal({"ordinal": "2"}), _ordinal({"ordinal": "two"})
    (2, 2, None)
    """
    value = props.get("ordinal")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e6:
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,6}", value.strip()):
        return int(value)
    return None


def _read_imdf(
    members: dict[str, bytes], level: int, mapping: FieldMapping, limits: Limits
) -> PlanData:
    plan = PlanData(format="imdf", driver="IMDF (GeoJSON)", file_crs="EPSG:4326")
    by_name = {Path(n).name: d for n, d in members.items()}
    if (
        "manifest.json" not in by_name
        or "unit.geojson" not in by_name
        or "level.geojson" not in by_name
    ):
        raise UploadRefused(
            "invalid",
            "imdf_incomplete",
            "an IMDF archive needs manifest.json, level.geojson and unit.geojson",
            "IMDF 压缩包须包含 manifest.json、level.geojson 和 unit.geojson",
            {"files": sorted(by_name)},
        )
    docs: dict[str, Any] = {}
    for name in ("manifest.json", "level.geojson", "unit.geojson"):
        _check_json(by_name[name], limits, name)
        try:
            docs[name] = json.loads(by_name[name])
        except (ValueError, RecursionError) as exc:
            raise UploadRefused(
                "invalid",
                "unreadable",
                f"{name} is not valid JSON: {exc}",
                f"{name} 不是有效的 JSON",
            ) from exc
    levels = [_imdf_feature(f) for f in _imdf_features(docs["level.geojson"], "level.geojson")]
    units = [_imdf_feature(f) for f in _imdf_features(docs["unit.geojson"], "unit.geojson")]
    if len(units) > limits.max_features:
        raise _too_many(len(units), limits)
    if mapping.imdf_level:
        chosen = [f for f in levels if str(f.get("id")) == mapping.imdf_level]
    else:
        chosen = [
            f
            for f in levels
            if _ordinal(f["properties"]) == level
            and (
                mapping.imdf_building is None
                or mapping.imdf_building in _as_list(f["properties"].get("building_ids"))
            )
        ]
    if len(chosen) != 1:
        options = [
            {
                "id": f.get("id"),
                "ordinal": (f.get("properties") or {}).get("ordinal"),
                "building_ids": (f.get("properties") or {}).get("building_ids"),
            }
            for f in levels
        ]
        raise UploadRefused(
            "invalid",
            "imdf_level_ambiguous" if chosen else "imdf_level_not_found",
            f"{len(chosen)} IMDF levels match level {level}; choose one with "
            "mapping.imdf_level (level id) or mapping.imdf_building",
            "无法确定 IMDF 楼层，请用 mapping.imdf_level 或 mapping.imdf_building 指定",
            {"levels": options},
        )
    lv = chosen[0]
    plan.level_name = imdf_label((lv.get("properties") or {}).get("short_name")) or imdf_label(
        (lv.get("properties") or {}).get("name")
    )
    mine = [u for u in units if (u.get("properties") or {}).get("level_id") == lv.get("id")]
    plan.features = len(mine)
    raw = [json.dumps(u.get("geometry")) if u.get("geometry") else None for u in mine]
    geoms = np.asarray(
        shapely.from_geojson(np.array(raw, dtype=object), on_invalid="ignore"), dtype=object
    )
    for i, u in enumerate(mine):
        loc = _raw_unclosed(u.get("geometry"))
        if loc is not None:
            plan.errors.append(
                Issue(
                    "unclosed_ring", "ring is not closed (raw coordinates)", feature=i, location=loc
                )
            )
    _check_vertices(geoms, limits)
    outline_loc = _raw_unclosed(lv.get("geometry"))
    if outline_loc is not None:
        plan.errors.append(
            Issue("unclosed_ring", "floor outline ring is not closed", location=outline_loc)
        )
    elif lv.get("geometry"):
        plan.outline = shapely.from_geojson(json.dumps(lv["geometry"]), on_invalid="ignore")
    props = [u.get("properties") or {} for u in mine]
    plan.rooms = geoms
    plan.index = list(range(len(mine)))
    number_keys = mapping.number
    plan.numbers = [
        next((imdf_label(p.get(k)) for k in number_keys if imdf_label(p.get(k))), None)
        for p in props
    ]
    plan.categories = [str(p.get("category")) if p.get("category") else None for p in props]
    plan.agencies = [None] * len(mine)
    plan.names = [imdf_label(p.get("name")) or None for p in props]
    plan.attributes = [
        {"imdf_id": str(u.get("id")), "imdf_category": p.get("category")}
        for u, p in zip(mine, props, strict=True)
    ]
    missing = [i for i, g in enumerate(geoms) if g is None]
    plan.errors += [
        Issue("missing_geometry", "unit has no readable geometry", feature=i)
        for i in missing
        if not any(e.feature == i for e in plan.errors)
    ]
    plan.rooms = np.asarray(shapely.force_2d(geoms), dtype=object)
    return plan


def read_plan(
    filename: str, data: bytes, *, level: int, mapping: FieldMapping, limits: Limits
) -> PlanData:
    """Read an uploaded plan file; refuse (``UploadRefused``) anything unsafe or unreadable."""
    if len(data) > limits.max_bytes:
        raise UploadRefused(
            "too_large",
            "file_too_large",
            f"the file has {len(data)} bytes (limit {limits.max_bytes})",
            f"文件大小 {len(data)} 字节超过上限 {limits.max_bytes}",
            {"bytes": len(data), "limit": limits.max_bytes},
        )
    fmt = format_for(filename)
    sniff(fmt, data)
    if fmt in ("zip", "imdf"):
        members = _zip_members(data, limits)
        names = {Path(n).name.lower() for n in members}
        if fmt == "imdf" or "manifest.json" in names:
            return _read_imdf(members, level, mapping, limits)
        parts = _shapefile_parts(members, mapping)
        _check_shapefile_counts(parts)
        encoding, source, warning = shapefile_encoding(
            parts[".dbf"], parts.get(".cpg"), mapping.encoding
        )
        try:
            _dbf_text(parts[".dbf"]).decode(encoding)
        except UnicodeDecodeError as exc:
            raise UploadRefused(
                "invalid",
                "encoding_mismatch",
                f"the attribute text is not valid {encoding} (from {source}); "
                "set mapping.encoding to the right one (GBK, GB18030, UTF-8)",
                f"属性文字不是有效的 {encoding} 编码，请在 mapping.encoding 中指定正确的编码",
                {"encoding": encoding, "source": source, "byte": exc.start},
            ) from exc
        with tempfile.TemporaryDirectory(prefix="officemap-plan-") as tmp:
            for ext, blob in parts.items():
                if ext in (".shp", ".shx", ".dbf", ".prj"):
                    (Path(tmp) / f"plan{ext}").write_bytes(blob)
            plan = _read_vector(Path(tmp) / "plan.shp", "shapefile", mapping, limits, encoding)
        plan.encoding, plan.encoding_source = encoding, source
        if warning:
            plan.warnings.append(warning)
        return plan
    if fmt == "geojson":
        _check_json(data, limits, "GeoJSON")
    with tempfile.TemporaryDirectory(prefix="officemap-plan-") as tmp:
        path = Path(tmp) / f"plan.{fmt}"
        path.write_bytes(data)
        if fmt == "gpkg":
            _check_gpkg(path)
        if fmt == "dxf":
            return _read_dxf(path, mapping, limits)
        return _read_vector(path, fmt, mapping, limits)
