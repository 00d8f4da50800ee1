"""DXF drawings from CAD: the tag structure first (release, $INSUNITS, block expansion),
then GDAL's DXF driver for the geometry; room numbers from the texts inside each room."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from ezdxf.lldxf.encoding import decode_dxf_unicode
from numpy.typing import NDArray

from gis.io.base import FieldMapping, Limits, PlanData, UploadRefused, text_codec
from gis.io.gdal import gdal_read, is_polygonal, json_safe, parse_wkb, text_values
from gis.validate import Issue

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


@dataclass
class _Structure:
    """What the tag stream says, gathered tag by tag: header variables, and per block its
    own entities and the blocks it inserts (nested blocks multiply)."""

    version: str | None = None
    insunits: int | None = None
    section: str | None = None
    var: str | None = None
    block: str | None = None
    entity: str | None = None
    direct: dict[str, int] = field(default_factory=dict)  # block → own entities (no INSERTs)
    nested: dict[str, dict[str, int]] = field(default_factory=dict)  # block → inserted → copies
    top_entities: int = 0
    top_inserts: dict[str, int] = field(default_factory=dict)
    insert_name: str | None = None
    copies: int = 1
    expect_section_name: bool = False

    def close_insert(self) -> None:
        if self.entity == "INSERT" and self.insert_name is not None:
            target = (
                self.nested.setdefault(self.block, {})
                if self.block is not None
                else self.top_inserts
            )
            target[self.insert_name] = target.get(self.insert_name, 0) + max(1, self.copies)
        self.insert_name, self.copies = None, 1

    def tag(self, code: int, value: str) -> None:
        if code == 0:
            self._entity(value.strip().upper())
        elif self.expect_section_name and code == 2:
            self.section, self.expect_section_name = value.strip().upper(), False
        elif self.section == "HEADER":
            self._header(code, value)
        elif self.section == "BLOCKS" and self.entity == "BLOCK" and self.block == "" and code == 2:
            self.block = value.strip()
            self.direct.setdefault(self.block, 0)
        elif self.entity == "INSERT" and self.section in ("BLOCKS", "ENTITIES"):
            if code == 2:
                self.insert_name = value.strip()
            elif code in (70, 71):  # MINSERT columns × rows
                self.copies *= max(1, min(int(value.strip()), 32767))

    def _entity(self, entity: str) -> None:
        self.close_insert()
        self.entity = entity
        section, block = self.section, self.block
        if entity == "SECTION":
            self.expect_section_name = True
        elif entity == "ENDSEC":
            self.section = None
        elif section == "BLOCKS" and entity == "ENDBLK":
            self.block = None
        elif section == "BLOCKS" and entity == "BLOCK":
            self.block = ""  # named by its code 2
        elif section == "BLOCKS" and block is not None and entity != "INSERT":
            self.direct[block] = self.direct.get(block, 0) + 1
        elif section == "ENTITIES" and entity != "INSERT":
            self.top_entities += 1

    def _header(self, code: int, value: str) -> None:
        if code == 9:
            self.var = value.strip().upper()
        elif self.var == "$ACADVER" and code == 1:
            self.version = value.strip().upper()
        elif self.var == "$INSUNITS" and code == 70:
            self.insunits = int(value.strip())

    def expanded(self, cap: int) -> int:
        """Entities after expanding every insert (stops counting past ``cap``); refuses
        recursive block definitions."""
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
                total = self.direct.get(name, 0)
                for child, n in self.nested.get(name, {}).items():
                    total += n * size(child, (*path, name))
                    if total > cap:
                        break
                sizes[name] = min(total, cap + 1)
            return sizes[name]

        expanded = self.top_entities
        for name, n in self.top_inserts.items():
            expanded += n * size(name, ())
            if expanded > cap:
                break
        return expanded


def _structure(data: bytes) -> _Structure:
    found = _Structure()
    try:
        for code, value in _dxf_tags(data):
            found.tag(code, value)
        found.close_insert()
    except UploadRefused:
        raise
    except Exception as exc:  # ezdxf's loaders raise on any malformed tag stream
        raise UploadRefused(
            "invalid",
            "unreadable",
            f"the DXF's tag structure is damaged ({type(exc).__name__})",
            "DXF 文件结构已损坏",
        ) from exc
    return found


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
    found = _structure(data)
    cap = limits.max_dxf_block_entities
    expanded = found.expanded(cap)
    if expanded > cap:
        raise UploadRefused(
            "too_large",
            "dxf_block_expansion",
            f"block inserts would expand the drawing to more than {cap} entities "
            "(refused before expanding; explode or purge nested blocks in CAD)",
            f"图块插入展开后实体数超过上限 {cap}（未展开即拒绝）",
            {"limit": cap, "expanded_at_least": expanded},
        )
    name_scale = INSUNITS.get(found.insunits or 0)
    return DxfInfo(
        version=ACAD_RELEASES.get(found.version or "", found.version),
        units=name_scale[0] if name_scale else None,
        unit_scale=name_scale[1] if name_scale else None,
        binary=data.startswith(BINARY_DXF),
        expanded_entities=expanded,
    )


def _reading_options(
    path: Path, mapping: FieldMapping, plan: PlanData, limits: Limits
) -> Callable[[], dict[str, str]]:
    """The check GDAL runs once it has identified the DXF: scan its structure (refusing
    block bombs) and answer the text encoding to read with."""

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

    return scan


@dataclass
class _Layers:
    """Which entities are rooms, outline and labels (by layer and kind)."""

    layers: NDArray[np.object_]
    room: NDArray[np.bool_]
    outline: NDArray[np.bool_]
    label: NDArray[np.bool_]

    @classmethod
    def of(cls, fields: dict[str, NDArray[Any]], n: int, mapping: FieldMapping) -> _Layers:
        layers = np.array([str(v) for v in fields.get("Layer", np.full(n, ""))], dtype=object)
        room = layers == mapping.room_layer if mapping.room_layer else np.ones(n, bool)
        outline = layers == mapping.outline_layer if mapping.outline_layer else np.zeros(n, bool)
        label = layers == mapping.label_layer if mapping.label_layer else np.ones(n, bool)
        if mapping.room_layer is None:
            room &= ~outline & ~(layers == mapping.label_layer)
        return cls(layers, room, outline, label)


def _open_polylines(geoms: NDArray[np.object_], on: _Layers) -> list[Issue]:
    lines = np.isin(shapely.get_type_id(geoms), (1, 5))
    out = []
    for i in np.flatnonzero(lines & on.room):
        start = shapely.get_coordinates(geoms[i])[:1].tolist()
        out.append(
            Issue(
                "open_polyline",
                f"open polyline on layer {on.layers[i]!r}: not a room (close it in CAD)",
                feature=int(i),
                location=start[0] if start else None,
                severity="warning",
            )
        )
    return out


def _room_numbers(
    geoms: NDArray[np.object_], sel: NDArray[np.int64], text: list[str | None], on: _Layers
) -> tuple[list[str | None], list[Issue]]:
    """Each room's number: the text entity (on the label layer) inside it, the first one
    when it holds several (reported)."""
    rooms = np.asarray(geoms[sel], dtype=object)
    is_text = (shapely.get_type_id(geoms) == 0) & np.array([t is not None for t in text], bool)
    numbers: list[str | None] = [None] * len(sel)
    issues: list[Issue] = []
    labels = np.flatnonzero(is_text & on.label)
    if not (len(sel) and len(labels)):
        return numbers, issues
    pts, hit = shapely.STRtree(rooms).query(geoms[labels], predicate="within")
    for p, r in zip(pts, hit, strict=True):
        t = text[labels[p]]
        if numbers[r] is None:
            numbers[r] = t
        elif numbers[r] != t:
            issues.append(
                Issue(
                    "several_labels",
                    f"room holds several texts ({numbers[r]!r}, {t!r}); the first is its number",
                    feature=int(sel[r]),
                    severity="warning",
                )
            )
    return numbers, issues


def read_dxf(path: Path, mapping: FieldMapping, limits: Limits) -> PlanData:
    plan = PlanData(format="dxf", driver="DXF")
    scan = _reading_options(path, mapping, plan, limits)
    _, wkb, fields = gdal_read(path, "DXF", limits, before_reading=scan)
    plan.features = len(wkb)
    geoms, issues = parse_wkb(wkb, limits)
    plan.errors += issues
    n = len(geoms)
    on = _Layers.of(fields, n, mapping)
    text = [
        None if t is None else decode_dxf_unicode(t)
        for t in text_values(fields.get("Text", np.full(n, None)))
    ]
    poly = is_polygonal(geoms)
    plan.warnings += _open_polylines(geoms, on)
    if mapping.outline_layer:
        outlines = geoms[on.outline & poly]
        if len(outlines):
            plan.outline = shapely.union_all(outlines) if len(outlines) > 1 else outlines[0]
            plan.outline_index = int(np.flatnonzero(on.outline & poly)[0])
    sel = np.flatnonzero(on.room & poly)
    numbers, label_issues = _room_numbers(geoms, sel, text, on)
    plan.warnings += label_issues
    plan.rooms = np.asarray(geoms[sel], dtype=object)
    plan.index = [int(i) for i in sel]
    plan.numbers = numbers
    plan.categories = [None] * len(sel)
    plan.agencies = [None] * len(sel)
    plan.names = [None] * len(sel)
    handles = fields.get("EntityHandle", [None] * n)
    plan.attributes = [{"layer": str(on.layers[i]), "handle": json_safe(handles[i])} for i in sel]
    return plan
