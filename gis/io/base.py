"""What every plan reader shares: the refusal, the limits, the field mapping and the result.

The result is a :class:`PlanData`: room geometries in the file's coordinates with their
feature index, mapped attributes, the floor outline if the file has one, and the issues
found while reading.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gis.io.limits import Limits
from gis.validate import Issue

__all__ = [
    "FieldMapping",
    "Kind",
    "Limits",
    "PlanData",
    "UploadRefused",
    "text_codec",
    "too_many",
]

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


def too_many(n: int, limits: Limits) -> UploadRefused:
    return UploadRefused(
        "invalid",
        "too_many_features",
        f"the file has {n} features (limit {limits.max_features})",
        f"要素数 {n} 超过上限 {limits.max_features}",
        {"features": n, "limit": limits.max_features},
    )
