"""Zipped ESRI Shapefiles: the one shapefile of the archive, record counts, the DBF code page."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

from gis.io.base import FieldMapping, Limits, PlanData, UploadRefused, text_codec
from gis.io.vector import read_vector
from gis.validate import Issue

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


def dbf_text(dbf: bytes) -> bytes:
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
    text = dbf_text(dbf)
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


def shapefile_parts(members: dict[str, bytes], mapping: FieldMapping) -> dict[str, bytes]:
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


def check_shapefile_counts(parts: dict[str, bytes]) -> None:
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


def read_shapefile(members: dict[str, bytes], mapping: FieldMapping, limits: Limits) -> PlanData:
    """The one shapefile of a zip's members, its attribute text in its declared (or guessed)
    encoding; written under our own names in a private directory for GDAL."""
    parts = shapefile_parts(members, mapping)
    check_shapefile_counts(parts)
    encoding, source, warning = shapefile_encoding(
        parts[".dbf"], parts.get(".cpg"), mapping.encoding
    )
    try:
        dbf_text(parts[".dbf"]).decode(encoding)
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
        plan = read_vector(Path(tmp) / "plan.shp", "shapefile", mapping, limits, encoding)
    plan.encoding, plan.encoding_source = encoding, source
    if warning:
        plan.warnings.append(warning)
    return plan
