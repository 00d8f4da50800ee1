"""Property-based fuzzing of every plan-file reader, with a fixed budget.

Each reader gets valid seed files mutated byte-wise (flips, truncations, insertions,
duplicated spans) and, for the JSON formats, structurally odd documents (any JSON value
where an object, a number or a list is expected). Every input must end in a ``PlanData``
(the report's material) or an ``UploadRefused`` (a 4xx) — never any other exception.
The budget is fixed (examples per reader, derandomized) so the suite's time is stable.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import ezdxf
import geopandas as gpd
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gis.io import FieldMapping, Limits, UploadRefused, read_plan

BUDGET = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LIMITS = Limits(max_bytes=2 * 2**20, max_unzipped_bytes=8 * 2**20, max_dxf_block_entities=5_000)
ROOMS = [shapely.box(x * 4.0, 0.0, x * 4.0 + 4.0, 5.0) for x in range(3)]


def _read(name: str, data: bytes, mapping: dict[str, Any] | None = None) -> None:
    try:
        plan = read_plan(
            name, data, level=1, mapping=FieldMapping.parse(mapping or {}), limits=LIMITS
        )
    except UploadRefused as exc:
        assert exc.kind in ("too_large", "unsupported", "invalid")
        assert exc.message and exc.message_zh
        return
    assert len(plan.rooms) == len(plan.index) == len(plan.numbers)


def _geojson() -> bytes:
    return (
        gpd.GeoDataFrame({"number": ["101", "102", "103"]}, geometry=ROOMS, crs=4549)
        .to_json()
        .encode()
    )


def _shapefile_zip() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        gpd.GeoDataFrame({"number": ["一", "二", "三"]}, geometry=ROOMS, crs=4549).to_file(
            Path(tmp) / "rooms.shp", encoding="gbk"
        )
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(Path(tmp).iterdir()):
                zf.write(p, p.name)
        return buf.getvalue()


def _gpkg() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rooms.gpkg"
        gpd.GeoDataFrame({"number": ["1", "2", "3"]}, geometry=ROOMS, crs=4549).to_file(path)
        return path.read_bytes()


def _dxf(fmt: str, version: str = "R2010") -> bytes:
    doc = ezdxf.new(version, units=6)
    msp = doc.modelspace()
    block = doc.blocks.new("DOOR")
    block.add_line((0, 0), (1, 0))
    for k, room in enumerate(ROOMS):
        msp.add_lwpolyline(list(room.exterior.coords)[:-1], close=True)
        msp.add_text(f"10{k}", dxfattribs={"insert": room.centroid.coords[0]})
        msp.add_blockref("DOOR", room.centroid.coords[0])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.dxf"
        doc.saveas(path, fmt=fmt)
        return path.read_bytes()


def imdf_zip(level: Any, units: Any, manifest: Any = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest or {"version": "1.0.0"}))
        zf.writestr("level.geojson", json.dumps(level))
        zf.writestr("unit.geojson", json.dumps(units))
    return buf.getvalue()


def _imdf() -> bytes:
    outline = shapely.box(120.0, 30.0, 120.001, 30.001)
    level = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "L1",
                "properties": {"ordinal": 1, "name": {"en": "1F"}, "building_ids": ["B"]},
                "geometry": shapely.geometry.mapping(outline),
            }
        ],
    }
    units = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": f"U{k}",
                "properties": {"level_id": "L1", "category": "office", "alt_name": f"{k}"},
                "geometry": shapely.geometry.mapping(
                    shapely.box(120.0 + k * 1e-4, 30.0, 120.0 + (k + 1) * 1e-4, 30.0001)
                ),
            }
            for k in range(3)
        ],
    }
    return imdf_zip(level, units)


SEEDS = {
    "plan.geojson": _geojson(),
    "plan.zip": _shapefile_zip(),
    "plan.gpkg": _gpkg(),
    "plan.dxf": _dxf("asc"),
    "binary.dxf": _dxf("bin"),
    "venue.imdf": _imdf(),
}


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "duplicate", "overwrite"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "duplicate":
            end = min(len(data), pos + draw(st.integers(1, 256)))
            data[pos:pos] = data[pos:end] * draw(st.integers(1, 8))
        else:
            chunk = draw(st.binary(min_size=1, max_size=8))
            data[pos : pos + len(chunk)] = chunk
    return bytes(data)


def _fuzz(name: str) -> Any:
    @BUDGET
    @given(data=mutated(SEEDS[name]))
    def run(data: bytes) -> None:
        _read(name, data)

    return run


def test_seeds_are_readable() -> None:
    for name, data in SEEDS.items():
        plan = read_plan(name, data, level=1, mapping=FieldMapping(), limits=LIMITS)
        assert len(plan.rooms) == 3, name


def test_fuzz_geojson() -> None:
    _fuzz("plan.geojson")()


def test_fuzz_shapefile_zip() -> None:
    _fuzz("plan.zip")()


def test_fuzz_geopackage() -> None:
    _fuzz("plan.gpkg")()


def test_fuzz_dxf_ascii() -> None:
    _fuzz("plan.dxf")()


def test_fuzz_dxf_binary() -> None:
    _fuzz("binary.dxf")()


def test_fuzz_imdf_bytes() -> None:
    _fuzz("venue.imdf")()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@BUDGET
@given(ordinal=JSON, props=JSON, geometry=JSON, features=JSON, building_ids=JSON)
def test_fuzz_imdf_structure(
    ordinal: Any, props: Any, geometry: Any, features: Any, building_ids: Any
) -> None:
    """Any JSON where IMDF expects an ordinal, an object, a geometry or a list."""
    level = {
        "type": "FeatureCollection",
        "features": [
            {
                "id": "L1",
                "properties": {"ordinal": ordinal, "building_ids": building_ids},
                "geometry": geometry,
            },
            {"id": "L2", "properties": props, "geometry": geometry},
        ],
    }
    units = {
        "type": "FeatureCollection",
        "features": [
            {"id": "U1", "properties": {"level_id": "L1"}, "geometry": geometry},
            {"id": "U2", "properties": props, "geometry": geometry},
        ],
    }
    _read("venue.imdf", imdf_zip(level, units))
    _read("venue.imdf", imdf_zip(level, units), {"imdf_building": "B"})
    _read("venue.imdf", imdf_zip(features, features, manifest=props))


@BUDGET
@given(props=JSON, geometry=JSON, doc=JSON)
def test_fuzz_geojson_structure(props: Any, geometry: Any, doc: Any) -> None:
    fc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": props, "geometry": geometry}],
    }
    _read("plan.geojson", json.dumps(fc).encode())
    _read("plan.geojson", json.dumps(doc).encode())
