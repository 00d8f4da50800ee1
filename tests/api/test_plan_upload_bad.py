"""Every "Uploads" row of reliability.md: refused with a reason and location, nothing stored."""

from __future__ import annotations

import io
import json
import re
import socket
import sqlite3
import stat
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pytest
import shapely
from sqlalchemy.orm import Session

from backend.plans import service as plans
from tests.api.test_plan_upload import plan, post
from tests.backend.test_plans_support import (
    counts,
    demo_site,
    feature_collection,
    raw_feature_collection,
    rooms_in,
    to_lonlat,
    zip_bytes,
)


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Set upload limits through the environment (OFFICEMAP_UPLOAD_…)."""

    def set_(**values: Any) -> None:
        for k, v in values.items():
            monkeypatch.setenv(f"OFFICEMAP_UPLOAD_{k.upper()}", str(v))
        plans.upload_settings.cache_clear()

    yield set_
    monkeypatch.undo()
    plans.upload_settings.cache_clear()


def refused(
    client: Any, db: Session, data: bytes, name: str, status: int, code: str, **form: str
) -> dict[str, Any]:
    site = demo_site(db)
    before = counts(db, site.building_id, site.level)
    form.setdefault("crs", site.crs)
    r = post(client, site, data, name=name, **form)
    assert r.status_code == status, r.text
    body = r.json()
    codes = [e["code"] for e in body.get("errors", [])] or [body["code"]]
    assert code in codes, body
    assert {"code", "message", "message_zh"} <= set(body)
    assert counts(db, site.building_id, site.level) == before  # nothing stored
    assert_no_internals(r.text, sent=data)
    return body


# what GDAL / Python say about themselves: temporary paths, library names and versions,
# stack traces. Never in an answer (logged instead).
INTERNALS = re.compile(
    r"/vsi\w+|/tmp/|officemap-plan-|\bGDAL\b|\bOGR\b|libgdal|pyogrio|sqlite3|"
    r"Traceback|File \"|\.py\b",
    re.IGNORECASE,
)
LIBRARY_VERSIONS = [
    pyogrio.__gdal_version_string__,
    shapely.geos_version_string,
    __import__("pyproj").proj_version_str,
    sqlite3.sqlite_version,
]


def assert_no_internals(text: str, sent: bytes = b"") -> None:
    """No internals in ``text``, except words the uploader sent themselves (a zip member
    named /tmp/evil.shp is echoed as the culprit)."""
    found = [m for m in INTERNALS.findall(text) if m.encode() not in sent]
    found += [v for v in LIBRARY_VERSIONS if v in text]
    assert not found, (found, text[:2000])


def geometry_case(
    db: Session, ring: list[tuple[float, float]], holes: list[Any] | None = None
) -> bytes:
    """Two good rooms and one bad polygon (feature 2) placed inside the building."""
    site = demo_site(db)
    good = rooms_in(site, 2)
    ox, oy = good[0].bounds[2] + 0.5, good[0].bounds[1]
    shell = [[ox + x, oy + y] for x, y in ring]
    rings = [shell] + [[[ox + x, oy + y] for x, y in h] for h in holes or []]
    coords = [[list(map(list, g.exterior.coords))] for g in good] + [rings]
    return raw_feature_collection(coords, [{"number": str(k)} for k in range(3)])


@pytest.mark.parametrize(
    ("name", "ring", "holes", "code"),
    [
        ("bow-tie", [(0, 0), (4, 4), (4, 0), (0, 4), (0, 0)], None, "self_intersection"),
        (
            "spike",
            [(0, 0), (4, 0), (4, 2), (7, 2), (4, 2), (4, 4), (0, 4), (0, 0)],
            None,
            "self_intersection",
        ),
        (
            "hole outside shell",
            [(0, 0), (3, 0), (3, 3), (0, 3), (0, 0)],
            [[(5, 5), (6, 5), (6, 6), (5, 6), (5, 5)]],
            "hole_outside_shell",
        ),
        ("zero area", [(0, 0), (2, 0), (4, 0), (0, 0)], None, "zero_area"),
        ("unclosed ring", [(0, 0), (3, 0), (3, 3), (0, 3)], None, "unclosed_ring"),
    ],
)
def test_invalid_geometry_names_feature_and_location(
    client: Any, db: Session, name: str, ring: Any, holes: Any, code: str
) -> None:
    body = refused(client, db, geometry_case(db, ring, holes), "plan.geojson", 422, code)
    issue = next(e for e in body["errors"] if e["code"] == code)
    assert issue["feature"] == 2
    assert issue["location"] is not None and len(issue["location"]) == 2
    assert body["rooms"] == [] or all(r["feature"] != 2 for r in body["rooms"])


def test_repair_only_on_request_reports_the_area_change(client: Any, db: Session) -> None:
    data = geometry_case(db, [(0, 0), (4, 4), (4, 0), (0, 4), (0, 0)])
    site = demo_site(db)
    r = post(client, site, data, crs=site.crs, dry_run="true", repair="true")
    assert r.status_code == 200, r.text
    note = next(w for w in r.json()["warnings"] if w["code"] == "repaired")
    assert note["feature"] == 2 and abs(note["details"]["area_after"] - 8.0) < 1e-6


def test_nan_and_inf_coordinates_are_refused(client: Any, db: Session, tmp_path: Path) -> None:
    site = demo_site(db)
    # GeoJSON: GDAL reads NaN (reported per feature); an overflowing number is unreadable
    nan = (
        b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        b'"geometry":{"type":"Polygon","coordinates":[[[0,0],[NaN,0],[1,1],[0,0]]]}}]}'
    )
    body = refused(client, db, nan, "plan.geojson", 422, "nonfinite_coordinate")
    assert body["errors"][0]["feature"] == 0
    refused(client, db, nan.replace(b"NaN", b"1e999"), "plan.geojson", 422, "unreadable")
    # a GeoPackage can: reported per feature
    good = rooms_in(site, 2)
    bad = shapely.Polygon([(good[0].bounds[0], 0), (np.inf, 1), (good[0].bounds[0], 2)])
    path = tmp_path / "nan.gpkg"
    pyogrio.write_dataframe(_gdf([*good, bad], site.crs), path)
    body = refused(client, db, path.read_bytes(), "nan.gpkg", 422, "nonfinite_coordinate")
    assert next(e for e in body["errors"] if e["code"] == "nonfinite_coordinate")["feature"] == 2


def _gdf(geoms: list[Any], crs: str, **cols: list[Any]) -> Any:
    import geopandas as gpd

    data = cols or {"number": [str(k) for k in range(len(geoms))]}
    return gpd.GeoDataFrame(data, geometry=geoms, crs=crs)


def test_swapped_lonlat_axes_get_a_hint(client: Any, db: Session) -> None:
    site = demo_site(db)
    ll = [to_lonlat(r, site.crs) for r in rooms_in(site, 2)]
    swapped = [shapely.transform(g, lambda xy: xy[:, ::-1]) for g in ll]
    body = refused(
        client,
        db,
        feature_collection(swapped, [{}, {}]),
        "plan.geojson",
        422,
        "axes_swapped",
        crs="EPSG:4490",
    )
    assert "swapped" in body["errors"][0]["message"]


def test_swapped_projected_axes_get_a_hint(client: Any, db: Session) -> None:
    site = demo_site(db)
    swapped = [shapely.transform(g, lambda xy: xy[:, ::-1]) for g in rooms_in(site, 2)]
    refused(client, db, feature_collection(swapped, [{}, {}]), "plan.geojson", 422, "axes_swapped")


def test_plan_outside_the_buildings_region_is_refused(client: Any, db: Session) -> None:
    site = demo_site(db)
    far = [shapely.affinity.translate(r, 0, -400_000) for r in rooms_in(site, 2)]
    refused(client, db, feature_collection(far, [{}, {}]), "plan.geojson", 422, "outside_region")


def test_wrong_or_missing_crs_is_refused(client: Any, db: Session) -> None:
    site = demo_site(db)
    _, data = plan(site)
    for crs in ("", "EPSG:3857", "EPSG:4547x", "EPSG:2000"):
        r = post(client, site, data, crs=crs, dry_run="true")
        assert r.status_code == 422 and r.json()["code"] == "invalid_input", crs


def test_overlaps_rooms_outside_floor_and_duplicate_numbers(client: Any, db: Session) -> None:
    site = demo_site(db)
    rooms = rooms_in(site, 4)
    rooms[1] = shapely.affinity.translate(rooms[1], -1.0, 0)  # 5 m² overlap with room 0
    fp = site.footprint
    rooms.append(shapely.box(fp.bounds[2] - 2, fp.centroid.y, fp.bounds[2] + 3, fp.centroid.y + 3))
    props = [{"number": n} for n in ("101", "102", "103", "101", "105")]
    body = refused(client, db, feature_collection(rooms, props), "plan.geojson", 422, "overlap")
    codes = {(e["code"], e["feature"]) for e in body["errors"]}
    assert ("overlap", 0) in codes and ("duplicate_number", 3) in codes
    assert ("room_outside_floor", 4) in codes


def test_shapefile_missing_parts_and_record_mismatch(
    client: Any, db: Session, tmp_path: Path
) -> None:
    site = demo_site(db)
    pyogrio.write_dataframe(_gdf(rooms_in(site, 2), site.crs), tmp_path / "rooms.shp")
    parts = {p.name: p.read_bytes() for p in tmp_path.glob("rooms.*")}
    no_shx = {k: v for k, v in parts.items() if not k.endswith(".shx")}
    body = refused(client, db, zip_bytes(no_shx), "rooms.zip", 422, "shapefile_incomplete")
    assert body["details"]["missing"] == [".shx"]
    shx = parts["rooms.shx"]
    short = {**parts, "rooms.shx": shx[:-8]}
    body = refused(client, db, zip_bytes(short), "rooms.zip", 422, "record_count_mismatch")
    assert body["details"] == {"shx": 1, "dbf": 2}


def test_zip_bomb_is_refused_before_inflating(client: Any, db: Session) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("rooms.shp", b"\0" * 20_000_000)
    assert len(buf.getvalue()) < 100_000
    refused(client, db, buf.getvalue(), "rooms.zip", 413, "zip_bomb")


@pytest.mark.parametrize(
    ("member", "code"),
    [
        ("../../etc/evil.shp", "zip_unsafe_path"),
        ("/tmp/evil.shp", "zip_unsafe_path"),
        ("inner.zip", "zip_nested"),
        ("link.shp", "zip_symlink"),
    ],
)
def test_zip_slip_absolute_symlink_nested(client: Any, db: Session, member: str, code: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo(member)
        if code == "zip_symlink":
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, b"/etc/passwd" if code == "zip_symlink" else b"x")
    refused(client, db, buf.getvalue(), "rooms.zip", 422, code)
    assert not Path("/etc/evil.shp").exists() and not Path("/tmp/evil.shp").exists()


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd"><!ENTITY a "aaaaaaaaaa">]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&x;&a;</name></Placemark></kml>"""


def test_kml_gml_with_entities_are_refused(client: Any, db: Session) -> None:
    refused(client, db, XXE, "plan.kml", 415, "extension_not_allowed")
    refused(client, db, XXE.replace(b"kml", b"gml"), "plan.gml", 415, "extension_not_allowed")
    body = refused(client, db, XXE, "plan.geojson", 415, "xml_not_accepted")
    assert "root:" not in json.dumps(body)


@pytest.fixture
def listener() -> Iterator[tuple[int, list[int]]]:
    """A loopback TCP server counting connections (GDAL must never connect)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    hits: list[int] = []
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                hits.append(1)
                conn.close()
            except OSError:
                pass

    t = threading.Thread(target=run, daemon=True)
    t.start()
    yield srv.getsockname()[1], hits
    stop.set()
    t.join(timeout=2)
    srv.close()


def test_other_drivers_content_and_urls_never_open(
    client: Any, db: Session, listener: tuple[int, list[int]]
) -> None:
    port, hits = listener
    url = f"http://127.0.0.1:{port}/rooms.geojson"
    vrt = (
        f'<OGRVRTDataSource><OGRVRTLayer name="r"><SrcDataSource>/vsicurl/{url}'
        "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>"
    ).encode()
    for name in ("plan.geojson", "plan.gpkg", "plan.dxf"):
        refused(client, db, vrt, name, 415, "xml_not_accepted")
    refused(client, db, url.encode(), "plan.geojson", 415, "content_mismatch")
    refused(client, db, f"/vsicurl/{url}".encode(), "plan.dxf", 415, "content_mismatch")
    refused(client, db, b'{"type": "FeatureCollection"}', "plan.gpkg", 415, "content_mismatch")
    refused(client, db, b"hello", "plan.txt", 415, "extension_not_allowed")
    assert hits == []


def _gpkg_with(tmp_path: Path, db: Session, sql: str) -> bytes:
    site = demo_site(db)
    path = tmp_path / "rooms.gpkg"
    pyogrio.write_dataframe(_gdf(rooms_in(site, 2), site.crs), path)
    con = sqlite3.connect(path)
    con.executescript("CREATE TABLE log (msg TEXT);" + sql)
    con.commit()
    con.close()
    return path.read_bytes()


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TRIGGER evil AFTER INSERT ON rooms BEGIN INSERT INTO log VALUES ('ran'); END;",
        "CREATE VIEW rooms_view AS SELECT * FROM rooms;",
    ],
)
def test_geopackage_with_triggers_or_views_is_refused(
    client: Any, db: Session, tmp_path: Path, sql: str
) -> None:
    data = _gpkg_with(tmp_path, db, sql)
    refused(client, db, data, "rooms.gpkg", 422, "gpkg_active_content")
    con = sqlite3.connect(tmp_path / "rooms.gpkg")
    assert con.execute("SELECT count(*) FROM log").fetchone() == (0,)
    con.close()


def test_standard_geopackage_triggers_are_accepted(
    client: Any, db: Session, tmp_path: Path
) -> None:
    site = demo_site(db)
    path = tmp_path / "rooms.gpkg"
    pyogrio.write_dataframe(_gdf(rooms_in(site, 4), site.crs), path)  # rtree triggers inside
    con = sqlite3.connect(path)
    assert con.execute("SELECT count(*) FROM sqlite_master WHERE type='trigger'").fetchone()[0] > 0
    con.close()
    r = post(client, site, path.read_bytes(), name="rooms.gpkg", crs=site.crs, dry_run="true")
    assert r.status_code == 200, r.text
    assert len(r.json()["rooms"]) == 4


def test_oversize_file_is_refused_before_parsing(client: Any, db: Session, limits: Any) -> None:
    limits(max_bytes=2000)
    site = demo_site(db)
    _, data = plan(site)
    assert len(data) > 2000
    refused(client, db, data + b" " * 100_000, "plan.geojson", 413, "payload_too_large")


def test_too_many_features_and_vertex_bombs(client: Any, db: Session, limits: Any) -> None:
    limits(max_features=3, max_feature_vertices=500)
    site = demo_site(db)
    _, data = plan(site, 4)
    refused(client, db, data, "plan.geojson", 422, "too_many_features")
    circle = site.footprint.centroid.buffer(2, quad_segs=1000)
    refused(
        client, db, feature_collection([circle], [{}]), "plan.geojson", 422, "too_many_vertices"
    )


def test_deep_json_nesting_is_refused_fast(client: Any, db: Session) -> None:
    deep = b'{"type":"FeatureCollection","features":' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    body = refused(client, db, deep, "plan.geojson", 422, "json_too_deep")
    assert body["details"]["depth"] > 32


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("plan.gpkg", b"SQLite format 3\x00" + b"\x00" * 200),  # truncated database
        ("plan.gpkg", b"SQLite format 3\x00" + bytes(range(256)) * 20),
        ("plan.dxf", b"0\nSECTION\n2\nENTITIES\n0\nLWPOLYLINE\n10\nnot-a-number\n"),
        ("plan.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feat'),
        ("plan.geojson", b'{"type": "FeatureCollection", "features": 7}'),
        ("plan.zip", b"PK\x03\x04" + b"\x00" * 100),
        ("plan.zip", None),  # a zip whose .shp is garbage
    ],
)
def test_failing_uploads_never_answer_library_internals(
    client: Any, db: Session, name: str, data: bytes | None
) -> None:
    """GDAL's temporary paths (/vsimem, /tmp), library names and versions and stack traces
    stay in the log: the answer says what is wrong with the file, in the product's words."""
    if data is None:
        data = zip_bytes(
            {
                "plan.shp": b"\x00\x00\x27\x0a" + b"\xff" * 200,
                "plan.shx": b"x" * 10,
                "plan.dbf": b"\x03" + b"\x00" * 50,
            }
        )
    site = demo_site(db)
    before = counts(db, site.building_id, site.level)
    for form in ({"crs": site.crs}, {"crs": site.crs, "dry_run": "true"}):
        r = post(client, site, data, name=name, **form)
        assert r.status_code in (413, 415, 422), r.text
        assert_no_internals(r.text, sent=data)
        body = r.json()
        assert {"code", "message", "message_zh"} <= set(body)
    assert counts(db, site.building_id, site.level) == before


def test_an_unexpected_library_error_answers_without_its_text(
    app: Any, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even an error nobody foresaw (a crash inside the reader) gives no trace or path."""
    from fastapi.testclient import TestClient

    from tests.conftest import bearer

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            f"GDAL {pyogrio.__gdal_version_string__}: /vsimem/officemap-plan-x/plan.shp failed"
        )

    monkeypatch.setattr(plans, "read_plan", crash)
    site = demo_site(db)
    _, data = plan(site)
    with TestClient(app, headers=bearer("admin"), raise_server_exceptions=False) as c:
        r = post(c, site, data, crs=site.crs, dry_run="true")
    assert r.status_code == 500
    assert_no_internals(r.text)
