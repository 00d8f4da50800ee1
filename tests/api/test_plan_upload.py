"""POST /api/v1/buildings/{id}/floors/{level}/plan end to end: dry run, commit, versions, retries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import shapely
from pyproj import Geod
from sqlalchemy.orm import Session

from gis.area import round_area
from tests.backend.test_plans_support import (
    Site,
    counts,
    demo_site,
    feature_collection,
    rooms_in,
    to_lonlat,
)


def url(site: Site, level: int | None = None) -> str:
    return (
        f"/api/v1/buildings/{site.building_id}/floors/{site.level if level is None else level}/plan"
    )


def precondition(client: Any, site: Site, level: int | None = None) -> dict[str, str]:
    """What a client sends to commit: the ETag of the level's current floor (read from its
    rooms), or ``If-None-Match: *`` for a level without a floor yet."""
    lvl = site.level if level is None else level
    r = client.get(f"/api/v1/buildings/{site.building_id}/floors/{lvl}/rooms?limit=1")
    if r.status_code == 404:
        return {"If-None-Match": "*"}
    assert r.status_code == 200, r.text
    return {"If-Match": r.headers["ETag"]}


def post(
    client: Any,
    site: Site,
    data: bytes,
    name: str = "plan.geojson",
    level: int | None = None,
    headers: dict[str, str] | None = None,
    **form: str,
) -> Any:
    """Upload as a client does: commits name the floor version they replace, unless the
    test sets If-Match / If-None-Match itself."""
    headers = dict(headers or {})
    named = {h.lower() for h in headers} & {"if-match", "if-none-match"}
    if form.get("dry_run") != "true" and not named:
        headers.update(precondition(client, site, level))
    return client.post(
        url(site, level),
        files={"file": (name, data, "application/octet-stream")},
        data=form,
        headers=headers,
    )


def plan(site: Site, n: int = 6) -> tuple[list[Any], bytes]:
    rooms = rooms_in(site, n)
    props = [{"number": f"1{k:02d}", "category": "office.staff_office"} for k in range(n)]
    return rooms, feature_collection(rooms, props)


def test_dry_run_reports_rooms_with_areas_and_stores_nothing(client: Any, db: Session) -> None:
    site = demo_site(db)
    rooms, data = plan(site)
    before = counts(db, site.building_id, site.level)
    r = post(client, site, data, crs=site.crs, dry_run="true")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "dry_run" and body["errors"] == []
    assert [x["number"] for x in body["rooms"]] == [f"1{k:02d}" for k in range(6)]
    assert {x["category"] for x in body["rooms"]} == {"office"}
    # drawn in GK metres: the planar area is exactly what was drawn
    assert [x["usable_area_m2"] for x in body["rooms"]] == [18.0] * 6
    assert body["floor"]["area_method"] == f"planar:{site.crs}"
    assert body["floor"]["usable_coefficient_rule"] == "not configured"
    assert counts(db, site.building_id, site.level) == before


def test_commit_makes_a_new_version_keeps_the_old_one_and_audits(client: Any, db: Session) -> None:
    site = demo_site(db)
    rooms, data = plan(site)
    before = counts(db, site.building_id, site.level)
    old = client.get(f"/api/v1/buildings/{site.building_id}/floors/{site.level}/rooms").json()
    r = post(client, site, data, crs=site.crs)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "imported"
    after = counts(db, site.building_id, site.level)
    assert after["versions"] == before["versions"] + 1
    assert after["rooms"] == 6
    assert after["files"] == before["files"] + 1
    assert after["imports"] == before["imports"] + 1
    assert after["audits"] == before["audits"] + 1
    version = body["floor"]["version"]
    current = client.get(f"/api/v1/buildings/{site.building_id}/floors/{site.level}/rooms").json()
    assert sorted(f["properties"]["number"] for f in current["features"]) == [
        f"1{k:02d}" for k in range(6)
    ]
    assert all(
        Decimal(str(f["properties"]["usable_area_m2"])) == Decimal("18.00")
        for f in current["features"]
    )
    earlier = client.get(
        f"/api/v1/buildings/{site.building_id}/floors/{site.level}/rooms?version={version - 1}"
    ).json()
    assert earlier["numberMatched"] == old["numberMatched"] > 0
    # geometry stored in lon/lat: re-projecting it gives the drawn rooms back
    stored = shapely.from_geojson(__import__("json").dumps(current["features"][0]["geometry"]))
    assert stored.bounds[0] > 70  # longitude first


def test_retry_is_idempotent_by_content_and_by_key(client: Any, db: Session) -> None:
    site = demo_site(db)
    _, data = plan(site)
    first = post(client, site, data, crs=site.crs, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.text
    mid = counts(db, site.building_id, site.level)
    again = post(client, site, data, crs=site.crs)
    assert again.status_code == 200 and again.json()["status"] == "replayed"
    assert again.json()["floor"]["id"] == first.json()["floor"]["id"]
    assert again.json()["rooms"] == first.json()["rooms"]
    by_key = post(client, site, data, crs=site.crs, headers={"Idempotency-Key": "k-1"})
    assert by_key.json()["status"] == "replayed"
    assert counts(db, site.building_id, site.level) == mid
    # the same key with another file is a conflict, not a second import
    _, other = plan(site, n=4)
    clash = post(client, site, other, crs=site.crs, headers={"Idempotency-Key": "k-1"})
    assert clash.status_code == 409
    assert counts(db, site.building_id, site.level) == mid


def test_lonlat_upload_areas_match_an_independent_gk_computation(client: Any, db: Session) -> None:
    site = demo_site(db)
    # irregular rooms (not rectangles) drawn in GK, sent as lon/lat
    rooms = rooms_in(site, 4)
    rooms = [
        shapely.Polygon(
            [
                (r.bounds[0], r.bounds[1]),
                (r.bounds[2], r.bounds[1] + 0.37),
                (r.bounds[2] - 0.21, r.bounds[3]),
                (r.bounds[0], r.bounds[3]),
            ]
        )
        for r in rooms
    ]
    ll = [to_lonlat(r, site.crs) for r in rooms]
    data = feature_collection(ll, [{"number": str(k)} for k in range(4)])
    r = post(client, site, data, crs="EPSG:4490", dry_run="true")
    assert r.status_code == 200, r.text
    body = r.json()
    # independent: pyproj straight to the zone, shoelace formula
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4490", site.crs, always_xy=True)
    geod = Geod(ellps="GRS80")
    for room, g in zip(body["rooms"], ll, strict=True):
        x, y = tr.transform(*np.asarray(g.exterior.coords).T)
        shoelace = 0.5 * abs(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))
        assert Decimal(str(room["usable_area_m2"])) == round_area(shoelace)
        geodesic = abs(geod.geometry_area_perimeter(g)[0])
        assert abs(room["usable_area_raw"] / geodesic - 1) < 1e-3
        assert abs(room["geodesic_area_m2"] - geodesic) < 1e-3  # PostGIS agrees with pyproj


def test_commit_needs_surveyor_or_admin_but_dry_run_does_not(client_as: Any, db: Session) -> None:
    site = demo_site(db)
    _, data = plan(site)
    planner = client_as("planner", regions=[site.region_adcode])
    denied = post(planner, site, data, crs=site.crs)
    assert denied.status_code == 403
    assert post(planner, site, data, crs=site.crs, dry_run="true").status_code == 200
    surveyor = client_as("surveyor", regions=[site.region_adcode])
    assert post(surveyor, site, data, crs=site.crs).status_code == 201
    outsider = client_as("surveyor", regions=[330000 + 9900])
    assert post(outsider, site, data, crs=site.crs, dry_run="true").status_code == 404


def test_commits_take_if_match_on_the_floors_current_version(client: Any, db: Session) -> None:
    """428 without a precondition, 412 when the floor moved on; nothing stored either way."""
    site = demo_site(db)
    _, data = plan(site)
    _, other = plan(site, n=4)
    before = counts(db, site.building_id, site.level)
    tag = precondition(client, site)
    assert (
        tag["If-Match"]
        == client.get(f"/api/v1/buildings/{site.building_id}/floors/{site.level}/rooms").headers[
            "ETag"
        ]
    )

    missing = client.post(url(site), files={"file": ("plan.geojson", data)}, data={"crs": site.crs})
    assert missing.status_code == 428, missing.text
    assert counts(db, site.building_id, site.level) == before
    # a dry run writes nothing and needs no precondition
    dry = client.post(
        url(site), files={"file": ("plan.geojson", data)}, data={"crs": site.crs, "dry_run": "1"}
    )
    assert dry.status_code == 200

    first = post(client, site, data, crs=site.crs, headers={**tag, "Idempotency-Key": "u-1"})
    assert first.status_code == 201, first.text
    assert first.headers["ETag"] == f'"{first.json()["floor"]["version"]}"' != tag["If-Match"]
    mid = counts(db, site.building_id, site.level)
    # a second surveyor who read the floor before the first import
    stale = post(client, site, other, crs=site.crs, headers=tag)
    assert stale.status_code == 412, stale.text
    assert stale.json()["details"]["current_version"] == first.json()["floor"]["version"]
    assert counts(db, site.building_id, site.level) == mid
    # the first surveyor's retry is answered from the first import, not refused
    retry = post(client, site, data, crs=site.crs, headers={**tag, "Idempotency-Key": "u-1"})
    assert retry.status_code == 200 and retry.json()["status"] == "replayed"
    # "create the first version" on a level that has one is stale as well
    exists = post(client, site, other, crs=site.crs, headers={"If-None-Match": "*"})
    assert exists.status_code == 412
    # an edit of the floor moves its version: an upload based on the earlier one is stale
    floor_id = first.json()["floor"]["id"]
    etag = client.get(f"/api/v1/floors/{floor_id}").headers["ETag"]
    assert etag == first.headers["ETag"]
    edit = client.patch(
        f"/api/v1/floors/{floor_id}", json={"name": "一层"}, headers={"If-Match": etag}
    )
    assert edit.status_code == 200, edit.text
    late = post(client, site, other, crs=site.crs, headers={"If-Match": etag})
    assert late.status_code == 412
    ok = post(client, site, other, crs=site.crs, headers={"If-Match": edit.headers["ETag"]})
    assert ok.status_code == 201, ok.text


def test_the_first_version_of_a_new_level_needs_if_none_match(client: Any, db: Session) -> None:
    site = demo_site(db)
    level = 150
    _, data = plan(site)
    assert (
        client.get(f"/api/v1/buildings/{site.building_id}/floors/{level}/rooms").status_code == 404
    )
    before = counts(db, site.building_id, level)
    bare = client.post(
        url(site, level), files={"file": ("plan.geojson", data)}, data={"crs": site.crs}
    )
    assert bare.status_code == 428, bare.text
    for headers, status in (({"If-Match": '"1"'}, 412), ({"If-None-Match": "x"}, 422)):
        r = post(client, site, data, crs=site.crs, level=level, headers=headers)
        assert r.status_code == status, (headers, r.text)
    assert counts(db, site.building_id, level) == before
    created = post(client, site, data, crs=site.crs, level=level, headers={"If-None-Match": "*"})
    assert created.status_code == 201, created.text
    assert created.json()["floor"]["version"] == 1
    _, other = plan(site, n=4)
    again = post(client, site, other, crs=site.crs, level=level, headers={"If-None-Match": "*"})
    assert again.status_code == 412
