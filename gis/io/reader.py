"""``read_plan``: the one entry point, choosing the reader by extension after the checks."""

from __future__ import annotations

import tempfile
from pathlib import Path

from gis.io.archive import zip_members
from gis.io.base import FieldMapping, Limits, PlanData, UploadRefused
from gis.io.dxf import read_dxf
from gis.io.imdf import read_imdf
from gis.io.shapefile import read_shapefile
from gis.io.sniff import check_json, format_for, sniff
from gis.io.vector import read_file


def _check_size(data: bytes, limits: Limits) -> None:
    if len(data) > limits.max_bytes:
        raise UploadRefused(
            "too_large",
            "file_too_large",
            f"the file has {len(data)} bytes (limit {limits.max_bytes})",
            f"文件大小 {len(data)} 字节超过上限 {limits.max_bytes}",
            {"bytes": len(data), "limit": limits.max_bytes},
        )


def read_plan(
    filename: str, data: bytes, *, level: int, mapping: FieldMapping, limits: Limits
) -> PlanData:
    """Read an uploaded plan file; refuse (``UploadRefused``) anything unsafe or unreadable."""
    _check_size(data, limits)
    fmt = format_for(filename)
    sniff(fmt, data)
    if fmt in ("zip", "imdf"):
        members = zip_members(data, limits)
        names = {Path(n).name.lower() for n in members}
        if fmt == "imdf" or "manifest.json" in names:
            return read_imdf(members, level, mapping, limits)
        return read_shapefile(members, mapping, limits)
    if fmt == "geojson":
        check_json(data, limits, "GeoJSON")
    if fmt == "dxf":
        with tempfile.TemporaryDirectory(prefix="officemap-plan-") as tmp:
            path = Path(tmp) / "plan.dxf"
            path.write_bytes(data)
            return read_dxf(path, mapping, limits)
    return read_file(data, fmt, mapping, limits)
