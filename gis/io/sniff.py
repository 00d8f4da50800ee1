"""Which format a file may be (by extension) and whether its content is that format."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from gis.io.base import Limits, UploadRefused

FORMATS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".zip": "zip",
    ".gpkg": "gpkg",
    ".dxf": "dxf",
    ".imdf": "imdf",
}


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


def check_json(data: bytes, limits: Limits, what: str) -> None:
    depth = json_depth(data)
    if depth > limits.max_json_depth:
        raise UploadRefused(
            "invalid",
            "json_too_deep",
            f"{what}: JSON nested {depth} levels deep (limit {limits.max_json_depth})",
            f"{what}：JSON 嵌套层数 {depth} 超过上限 {limits.max_json_depth}",
            {"depth": depth, "limit": limits.max_json_depth},
        )
