"""Plan uploads under odd and hostile input (issue 11): real CAD files from several writers
and releases, $INSUNITS, block-expansion bombs, going back to an earlier plan, and inputs
that used to answer 500 (IMDF oddities, non-text codecs, 1e308 georefs, lying zips)."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path
from typing import Any

import ezdxf
import pytest
from sqlalchemy.orm import Session

from tests.api.test_plan_upload import plan, post
from tests.backend.test_plans_support import counts, demo_site, zip_bytes
from tests.gis.test_reader_fuzz import imdf_zip

DATA = Path(__file__).resolve().parent.parent / "data"
LIBRECAD = {"room_layer": "房间", "label_layer": "标注", "outline_layer": "轮廓"}


def _origin(site: Any) -> list[float]:
    c = site.footprint.centroid
    return [c.x - 9.0, c.y - 5.0]


def test_librecad_dxf_imports_with_labels_and_areas_scale_from_insunits(
    client: Any, db: Session
) -> None:
    """LibreCAD (libdxfrw) writes a 999 comment first; $INSUNITS = mm gives the scale."""
    data = (DATA / "librecad_floor.dxf").read_bytes()
    assert data.startswith(b"999\ndxfrw")
    site = demo_site(db)
    before = counts(db, site.building_id, site.level)
    r = post(
        client,
        site,
        data,
        name="librecad_floor.dxf",
        crs=site.crs,
        mapping=json.dumps(LIBRECAD),
        georef=json.dumps({"origin": _origin(site), "rotation_deg": 0}),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    rooms = {x["number"]: x["usable_area_m2"] for x in body["rooms"]}
    assert rooms == {"301 办公室": 24.0, "302 会议室": 24.0, "303 档案室": 24.0, "走廊": 27.0}
    assert body["floor"]["outline_area_raw"] == pytest.approx(180.0)
    assert body["source"]["dxf_version"] == "R2007" and body["source"]["units"] == "millimetre"
    assert any(w["code"] == "scale_from_insunits" for w in body["warnings"])
    after = counts(db, site.building_id, site.level)
    assert after["versions"] == before["versions"] + 1


def test_a_contradicting_scale_is_reported(client: Any, db: Session) -> None:
    site = demo_site(db)
    r = post(
        client,
        site,
        (DATA / "librecad_floor.dxf").read_bytes(),
        name="librecad_floor.dxf",
        crs=site.crs,
        mapping=json.dumps(LIBRECAD),
        georef=json.dumps({"origin": _origin(site), "scale": 0.0011}),
        dry_run="true",
    )
    assert r.status_code in (200, 422), r.text
    warning = [w for w in r.json()["warnings"] if w["code"] == "scale_contradicts_insunits"]
    assert warning and warning[0]["details"]["metres_per_unit"] == 0.001


def test_unscaled_millimetres_are_an_error(client: Any, db: Session) -> None:
    site = demo_site(db)
    before = counts(db, site.building_id, site.level)
    r = post(
        client,
        site,
        (DATA / "librecad_floor.dxf").read_bytes(),
        name="librecad_floor.dxf",
        crs=site.crs,
        mapping=json.dumps(LIBRECAD),
    )
    assert r.status_code == 422
    assert "units_not_metres" in {e["code"] for e in r.json()["errors"]}
    assert counts(db, site.building_id, site.level) == before


def _ezdxf_floor(version: str, fmt: str) -> bytes:
    doc = ezdxf.new(version, units=4)
    msp = doc.modelspace()
    add = msp.add_polyline2d if version == "R12" else msp.add_lwpolyline
    for k in range(3):
        x = k * 6000
        add([(x, 0), (x + 6000, 0), (x + 6000, 4000), (x, 4000)], close=True)
        msp.add_text(f"20{k + 1}", dxfattribs={"insert": (x + 3000, 2000)})
    stream = io.BytesIO() if fmt == "bin" else io.StringIO()
    doc.write(stream, fmt=fmt)
    value = stream.getvalue()
    return value if isinstance(value, bytes) else value.encode("utf-8")


@pytest.mark.parametrize("fmt", ["asc", "bin"])
@pytest.mark.parametrize("version", ["R12", "R2000", "R2004", "R2007", "R2010", "R2013", "R2018"])
def test_dxf_releases_ascii_and_binary(client: Any, db: Session, version: str, fmt: str) -> None:
    site = demo_site(db)
    georef: dict[str, Any] = {"origin": _origin(site)}
    if version == "R12":  # R12 has no $INSUNITS: the georef gives the scale
        georef["scale"] = 0.001
    r = post(
        client,
        site,
        _ezdxf_floor(version, fmt),
        name="floor.dxf",
        crs=site.crs,
        georef=json.dumps(georef),
        dry_run="true",
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert {x["number"]: x["usable_area_m2"] for x in body["rooms"]} == {
        "201": 24.0,
        "202": 24.0,
        "203": 24.0,
    }
    assert body["source"]["dxf_version"] == version


def _nested_block_bomb(levels: int = 5, fanout: int = 10) -> bytes:
    """Each block inserts the one below ``fanout`` times: fanout**levels lines at the top."""
    doc = ezdxf.new("R2010")
    base = doc.blocks.new("L0")
    base.add_line((0, 0), (1, 0))
    for k in range(1, levels):
        blk = doc.blocks.new(f"L{k}")
        for i in range(fanout):
            blk.add_blockref(f"L{k - 1}", (i, 0))
    msp = doc.modelspace()
    for i in range(fanout):
        msp.add_blockref(f"L{levels - 1}", (0, i))
    msp.add_lwpolyline([(0, 0), (6000, 0), (6000, 4000), (0, 4000)], close=True)
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode()


def test_nested_block_inserts_are_refused_before_expanding(client: Any, db: Session) -> None:
    data = _nested_block_bomb()
    assert len(data) < 64_000
    site = demo_site(db)
    before = counts(db, site.building_id, site.level)
    r = post(client, site, data, name="bomb.dxf", crs=site.crs, georef='{"origin": [0, 0]}')
    assert r.status_code == 413, r.text
    body = r.json()
    assert body["code"] == "dxf_block_expansion"
    assert body["details"]["expanded_at_least"] > body["details"]["limit"]
    assert counts(db, site.building_id, site.level) == before


def test_reuploading_an_earlier_plan_makes_it_current_again(client: Any, db: Session) -> None:
    site = demo_site(db)
    _, plan_a = plan(site, n=6)
    _, plan_b = plan(site, n=4)
    a = post(client, site, plan_a, crs=site.crs)
    b = post(client, site, plan_b, crs=site.crs)
    retry_b = post(client, site, plan_b, crs=site.crs)  # a retry of the latest: replayed
    a_again = post(client, site, plan_a, crs=site.crs)
    assert (a.status_code, b.status_code, a_again.status_code) == (201, 201, 201), a_again.text
    assert retry_b.status_code == 200 and retry_b.json()["status"] == "replayed"
    versions = [x.json()["floor"]["version"] for x in (a, b, a_again)]
    assert versions[0] < versions[1] < versions[2]
    current = client.get(f"/api/v1/buildings/{site.building_id}/floors/{site.level}/rooms")
    assert current.json()["numberMatched"] == 6
    # the Idempotency-Key still replays a retry of that very request
    keyed = post(client, site, plan_b, crs=site.crs, headers={"Idempotency-Key": "back-1"})
    again = post(client, site, plan_b, crs=site.crs, headers={"Idempotency-Key": "back-1"})
    assert keyed.status_code == 201 and again.json()["status"] == "replayed"
    assert again.json()["floor"]["id"] == keyed.json()["floor"]["id"]


def _imdf_level(ordinal: Any, properties: Any = None) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "L1",
                "properties": properties if properties is not None else {"ordinal": ordinal},
                "geometry": None,
            }
        ],
    }


def _units(properties: Any) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "id": "U1", "properties": properties, "geometry": None}],
    }


def _lying_zip() -> bytes:
    """A zip whose central directory claims a tiny uncompressed size for a large member."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("rooms.shp", b"\0" * 200_000)
        zf.writestr("rooms.shx", b"\0" * 100)
        zf.writestr("rooms.dbf", b"\0" * 100)
    data = bytearray(buf.getvalue())
    cd = data.rfind(b"PK\x01\x02", 0, data.find(b"rooms.shx") + len(data))
    cd = data.find(b"PK\x01\x02")  # first central directory entry: rooms.shp
    struct.pack_into("<I", data, cd + 24, 1000)  # uncompressed size: 1,000 bytes
    struct.pack_into("<I", data, 22, 1000)  # and in the local header
    return bytes(data)


BAD_INPUTS = {
    "imdf_ordinal_text": lambda: (
        "venue.imdf",
        imdf_zip(_imdf_level("first floor"), _units({"level_id": "L1"})),
        {},
    ),
    "imdf_ordinal_object": lambda: (
        "venue.imdf",
        imdf_zip(_imdf_level({"n": 1}), _units({"level_id": "L1"})),
        {},
    ),
    "imdf_properties_not_object": lambda: (
        "venue.imdf",
        imdf_zip(_imdf_level(None, properties=["ordinal", 1]), _units("L1")),
        {},
    ),
    "imdf_features_not_list": lambda: (
        "venue.imdf",
        imdf_zip({"type": "FeatureCollection", "features": 7}, [1, 2]),
        {},
    ),
    "mapping_encoding_rot13": lambda: (
        "rooms.zip",
        b"PK\x05\x06" + b"\0" * 18,
        {"mapping": '{"encoding": "rot13"}'},
    ),
    "cpg_names_non_text_codec": lambda: ("rooms.zip", _cpg_zip(b"base64"), {}),
    "georef_1e308": lambda: (
        "floor.dxf",
        _ezdxf_floor("R2010", "asc"),
        {"georef": '{"origin": [1e308, 1e308], "scale": 1e308}'},
    ),
    "georef_1e308_control_points": lambda: (
        "floor.dxf",
        _ezdxf_floor("R2010", "asc"),
        {
            "georef": json.dumps(
                {
                    "control_points": [
                        {"local": [0, 0], "target": [1e308, 0]},
                        {"local": [1, 0], "target": [-1e308, 1e308]},
                    ]
                }
            )
        },
    ),
    "zip_lying_sizes": lambda: ("rooms.zip", _lying_zip(), {}),
}


def _cpg_zip(cpg: bytes) -> bytes:
    import tempfile

    import geopandas as gpd
    import shapely

    with tempfile.TemporaryDirectory() as tmp:
        gpd.GeoDataFrame({"number": ["1"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4549).to_file(
            Path(tmp) / "rooms.shp"
        )
        members = {p.name: p.read_bytes() for p in Path(tmp).iterdir() if p.suffix != ".cpg"}
    members["rooms.cpg"] = cpg
    return zip_bytes(members)


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_odd_inputs_answer_4xx_and_store_nothing(client: Any, db: Session, case: str) -> None:
    name, data, form = BAD_INPUTS[case]()
    site = demo_site(db)
    before = counts(db, site.building_id, site.level)
    r = post(client, site, data, name=name, crs=site.crs, **form)
    assert 400 <= r.status_code < 500, (case, r.status_code, r.text)
    body = r.json()
    assert {"code", "message", "message_zh"} <= set(body)
    assert counts(db, site.building_id, site.level) == before
