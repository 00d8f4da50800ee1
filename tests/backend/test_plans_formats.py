"""Each format imports a realistic plan: GBK Shapefile, DXF from CAD (georeferenced), the
real PolyMap IMDF; plus the import-plan command line."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import ezdxf
import numpy as np
import pyogrio
import pytest
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.accounts.access import SYSTEM
from backend.plans import service as plans
from backend.services.scope import Scope
from backend.settings import DATA_DIR
from gis.area import round_area
from gis.crs import gk3_zone_crs, transformer
from tests.backend.test_plans_support import counts, demo_site, rooms_in, zip_bytes

NAMES = ["局长办公室", "会议室（一）", "档案室", "副局长办公室"]


def run(db: Session, site: Any, name: str, data: bytes, **kw: Any) -> plans.PlanOutcome:
    req = plans.PlanRequest(
        building_id=site.building_id,
        level=site.level,
        filename=name,
        data=data,
        crs=kw.pop("crs", site.crs),
        **kw,
    )
    return plans.import_plan(db, req, principal=SYSTEM, scope=Scope.everything())


def gbk_shapefile(db: Session, tmp_path: Path) -> tuple[Any, dict[str, bytes]]:
    import geopandas as gpd

    site = demo_site(db)
    gdf = gpd.GeoDataFrame(
        {"number": ["201", "202", "203", "204"], "名称": NAMES},
        geometry=rooms_in(site, 4),
        crs=site.crs,
    )
    pyogrio.write_dataframe(gdf, tmp_path / "rooms.shp", encoding="GBK")
    parts = {p.name: p.read_bytes() for p in tmp_path.glob("rooms.*")}
    assert "局长".encode("gbk") in parts["rooms.dbf"]  # really GBK bytes on disk
    return site, parts


def _ldid(parts: dict[str, bytes], value: int) -> dict[str, bytes]:
    dbf = bytearray(parts["rooms.dbf"])
    dbf[29] = value
    return {k: v for k, v in parts.items() if not k.endswith(".cpg")} | {"rooms.dbf": bytes(dbf)}


@pytest.mark.parametrize("variant", ["cpg", "ldid", "neither"])
def test_gbk_shapefile_text_round_trips(db: Session, tmp_path: Path, variant: str) -> None:
    site, parts = gbk_shapefile(db, tmp_path)
    if variant == "cpg":
        assert parts["rooms.cpg"].strip().upper() in (b"GBK", b"936", b"CP936")
        files = {**parts, "rooms.dbf": _ldid(parts, 0)["rooms.dbf"]}
    elif variant == "ldid":
        files = _ldid(parts, 0x4D)
    else:
        files = _ldid(parts, 0)
    out = run(db, site, "rooms.zip", zip_bytes(files), mapping={"name": "名称"})
    assert out.status == "imported", out.report["errors"]
    assert [r["name"] for r in out.report["rooms"]] == NAMES
    stored = (
        db.execute(
            text("SELECT attributes->>'名称' FROM rooms WHERE floor_id = :f ORDER BY number"),
            {"f": out.floor_id},
        )
        .scalars()
        .all()
    )
    assert stored == NAMES
    warned = [w["code"] for w in out.report["warnings"]]
    assert ("encoding_guessed" in warned) == (variant == "neither")
    assert (
        out.report["source"]["encoding_source"]
        == {"cpg": "cpg", "ldid": "dbf_ldid", "neither": "guessed"}[variant]
    )


def test_wrong_declared_encoding_is_refused_not_garbled(db: Session, tmp_path: Path) -> None:
    site, parts = gbk_shapefile(db, tmp_path)
    files = {**parts, "rooms.cpg": b"UTF-8"}
    before = counts(db, site.building_id, site.level)
    with pytest.raises(plans.InvalidInput) as err:
        run(db, site, "rooms.zip", zip_bytes(files))
    assert err.value.code == "encoding_mismatch"
    assert counts(db, site.building_id, site.level) == before


def cad_drawing(path: Path) -> None:
    """A floor drawn in millimetres in a local CAD grid: rooms, labels, an outline, a stray line."""
    doc = ezdxf.new()
    msp = doc.modelspace()
    msp.add_lwpolyline(
        [(-1000, -1000), (12000, -1000), (12000, 11000), (-1000, 11000)],
        close=True,
        dxfattribs={"layer": "OUTLINE"},
    )
    for k in range(3):
        x = k * 3600
        msp.add_lwpolyline(
            [(x, 0), (x + 3600, 0), (x + 3600, 5000), (x, 5000)],
            close=True,
            dxfattribs={"layer": "ROOMS"},
        )
        msp.add_text(f"30{k + 1}", dxfattribs={"layer": "LABELS", "insert": (x + 1000, 2500)})
    hatch = msp.add_hatch(dxfattribs={"layer": "ROOMS"})
    hatch.paths.add_polyline_path(
        [(0, 6000), (7200, 6000), (7200, 10000), (0, 10000)], is_closed=True
    )
    msp.add_text("304", dxfattribs={"layer": "LABELS", "insert": (3000, 8000)})
    msp.add_lwpolyline([(8000, 6000), (10000, 6000), (10000, 9000)], dxfattribs={"layer": "ROOMS"})
    doc.saveas(path)


DXF_MAPPING = {"room_layer": "ROOMS", "outline_layer": "OUTLINE", "label_layer": "LABELS"}


def test_dxf_with_origin_rotation_scale(db: Session, tmp_path: Path) -> None:
    site = demo_site(db)
    cad_drawing(tmp_path / "floor.dxf")
    c = site.footprint.centroid
    georef = {"origin": [c.x - 5, c.y - 5], "rotation_deg": 0.0, "scale": 0.001}
    out = run(
        db,
        site,
        "floor.dxf",
        (tmp_path / "floor.dxf").read_bytes(),
        mapping=DXF_MAPPING,
        georef=georef,
        dry_run=True,
    )
    rooms = {r["number"]: r for r in out.report["rooms"]}
    assert set(rooms) == {"301", "302", "303", "304"}
    assert [rooms[n]["usable_area_m2"] for n in ("301", "302", "303", "304")] == [
        18.0,
        18.0,
        18.0,
        28.8,
    ]
    assert any(w["code"] == "open_polyline" for w in out.report["warnings"])
    assert out.report["floor"]["outline_source"] == "file"
    assert out.report["floor"]["outline_area_raw"] == pytest.approx(13.0 * 12.0)
    # the footprint of the demo building is smaller than this drawing's outline: fine in a
    # dry run; the errors name the rooms, never crash
    assert all("code" in e for e in out.report["errors"])


def test_dxf_with_control_points_rotated(db: Session, tmp_path: Path) -> None:
    site = demo_site(db)
    cad_drawing(tmp_path / "floor.dxf")
    c = site.footprint.centroid
    theta = np.radians(30)
    local = np.array([[0.0, 0.0], [10000.0, 0.0], [0.0, 8000.0]])
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    target = (local * 0.001) @ rot.T + [c.x - 3, c.y - 3]
    georef = {
        "control_points": [
            {"local": lp.tolist(), "target": tp.tolist()}
            for lp, tp in zip(local, target, strict=True)
        ]
    }
    out = run(
        db,
        site,
        "floor.dxf",
        (tmp_path / "floor.dxf").read_bytes(),
        mapping={"room_layer": "ROOMS", "label_layer": "LABELS"},
        georef=georef,
        dry_run=True,
    )
    note = next(w for w in out.report["warnings"] if w["code"] == "georeferenced")
    assert note["details"]["rotation_deg"] == pytest.approx(30.0)
    assert note["details"]["rms_m"] < 1e-6
    areas = {r["number"]: r["usable_area_m2"] for r in out.report["rooms"]}
    assert areas["304"] == 28.8 and areas["301"] == 18.0
    bad = {
        "control_points": [
            {"local": [0, 0], "target": [c.x, c.y]},
            {"local": [1000, 0], "target": [c.x + 5, c.y]},
            {"local": [0, 1000], "target": [c.x, c.y + 1]},
        ]
    }
    out = run(
        db, site, "floor.dxf", (tmp_path / "floor.dxf").read_bytes(), georef=bad, dry_run=True
    )
    assert "georef_residuals" in [e["code"] for e in out.report["errors"]]


@pytest.fixture
def polymap_site(db: Session) -> Any:
    """A region and building at the PolyMap venue's real position (St Petersburg)."""
    db.execute(
        text(
            "INSERT INTO regions (adcode, name, level, boundary) VALUES (990000, 'test: St Petersburg', "
            "'province', ST_Multi(ST_MakeEnvelope(30.2, 59.9, 30.5, 60.1, 4490)))"
        )
    )
    bid = db.execute(
        text(
            "INSERT INTO buildings (name, region_adcode, footprint, ownership, status) VALUES "
            "('PolyMap', 990000, ST_Multi(ST_MakeEnvelope(30.370, 60.004, 30.385, 60.010, 4490)), "
            "'owned', 'in_use') RETURNING id"
        )
    ).scalar_one()
    folder = DATA_DIR / "demo" / "polymap-imdf"
    data = zip_bytes({p.name: p.read_bytes() for p in folder.glob("*.*json")})
    return bid, data, json.loads((folder / "level.geojson").read_text())["features"]


def test_real_polymap_imdf_validates_and_imports(db: Session, polymap_site: Any) -> None:
    bid, data, levels = polymap_site

    class S:
        building_id = bid
        crs = "EPSG:4326"

    outcomes = {}
    for lv in levels:
        S.level = lv["properties"]["ordinal"]  # type: ignore[attr-defined]
        outcomes[lv["id"]] = run(
            db, S, "venue.imdf", data, mapping={"imdf_level": lv["id"]}, dry_run=True
        )
    holed = [
        k
        for k, o in outcomes.items()
        if "outline_hole_outside_shell" in [e["code"] for e in o.report["errors"]]
    ]
    assert len(holed) == 2  # the two real invalid level outlines
    # level 3 of the first building: a 0.14 m² sliver overlap between two real units is
    # reported at the default tolerance; with the outline repaired on request and the
    # overlap tolerance (a setting) at 0.2 m², it commits
    lv = next(lv for lv in levels if lv["id"].startswith("8e898ea9"))
    assert lv["id"] in holed
    S.level = lv["properties"]["ordinal"]  # type: ignore[attr-defined]
    strict = run(
        db, S, "venue.imdf", data, mapping={"imdf_level": lv["id"]}, repair=True, dry_run=True
    )
    assert [e["code"] for e in strict.report["errors"]] == ["overlap"]
    lenient = plans.UploadSettings(overlap_tolerance_m2=0.2)
    req = plans.PlanRequest(
        building_id=bid,
        level=S.level,
        filename="venue.imdf",
        data=data,
        crs="EPSG:4326",
        mapping={"imdf_level": lv["id"]},
        repair=True,
    )
    out = plans.import_plan(db, req, principal=SYSTEM, scope=Scope.everything(), settings=lenient)
    assert out.status == "imported", out.report["errors"]
    assert any(w["code"] == "outline_repaired" for w in out.report["warnings"])
    units = [
        u
        for u in json.loads((DATA_DIR / "demo/polymap-imdf/unit.geojson").read_text())["features"]
        if u["properties"]["level_id"] == lv["id"]
    ]
    assert len(out.report["rooms"]) == len(units)
    gk = gk3_zone_crs(30.38)
    tr = transformer("EPSG:4490", gk)
    for room, u in zip(out.report["rooms"], units, strict=True):
        g = shapely.from_geojson(json.dumps(u["geometry"]))
        proj = shapely.transform(g, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
        assert Decimal(str(room["usable_area_m2"])) == round_area(proj.area)
    assert out.report["floor"]["area_method"] == f"planar:{gk}"


def test_cli_import_plan_dry_run_and_commit(engine: Any, database_url: str, tmp_path: Path) -> None:
    from sqlalchemy.orm import Session as S

    with S(engine) as s:
        site = demo_site(s)
        rooms = rooms_in(site, 2)
    from tests.backend.test_plans_support import feature_collection

    path = tmp_path / "plan.geojson"
    path.write_bytes(feature_collection(rooms, [{"number": "A1"}, {"number": "A2"}]))
    env = {"OFFICEMAP_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    cmd = [
        str(Path(sys.executable).parent / "officemap"),
        "import-plan",
        str(path),
        "--building",
        str(site.building_id),
        "--level",
        "77",
        "--crs",
        site.crs,
        "--json",
    ]
    dry = subprocess.run([*cmd, "--dry-run"], capture_output=True, text=True, env=env, timeout=120)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["status"] == "dry_run"
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    try:
        assert report["status"] == "imported" and report["floor"]["version"] == 1
        again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        assert json.loads(again.stdout)["status"] == "replayed"
        bad = subprocess.run(
            [*cmd[:-1], "--crs", "EPSG:3857"], capture_output=True, text=True, env=env, timeout=120
        )
        assert bad.returncode == 2
    finally:  # the CLI committed: clean up the committed test floor
        with engine.begin() as conn:
            conn.execute(
                text("DELETE FROM plan_imports WHERE floor_id = :f"), {"f": report["floor"]["id"]}
            )
            conn.execute(text("DELETE FROM floors WHERE id = :f"), {"f": report["floor"]["id"]})
