"""Vector tiles: decoded with mapbox_vector_tile and checked against SQL on the same tile."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import mapbox_vector_tile
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.maps import tiles
from backend.services.scope import Scope


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Tests write inside rolled-back transactions: never serve another test's tile."""
    tiles.invalidate()
    tiles.clear_cache()
    yield
    tiles.invalidate()
    tiles.clear_cache()


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def decode(content: bytes) -> dict[str, Any]:
    return mapbox_vector_tile.decode(content) if content else {}


def ids(layer: dict[str, Any]) -> set[int]:
    return {int(f["id"]) for f in layer["features"]}


def building_point(db: Session, building_id: int = 1) -> tuple[float, float]:
    row = db.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(footprint) p "
            "FROM buildings WHERE id = :id) s"
        ),
        {"id": building_id},
    ).one()
    return float(row[0]), float(row[1])


@pytest.mark.parametrize("z", [12, 14, 16])
def test_rooms_tile_has_every_current_room_of_the_tile(client: Any, db: Session, z: int) -> None:
    lon, lat = building_point(db)
    x, y = tile_of(lon, lat, z)
    r = client.get(f"/tiles/rooms/{z}/{x}/{y}.pbf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layer = decode(r.content)["rooms"]
    expected = set(
        db.execute(
            text(
                "SELECT r.id FROM rooms r JOIN floors f ON f.id = r.floor_id WHERE f.valid_to "
                "IS NULL AND ST_Intersects(r.geom, ST_Transform(ST_TileEnvelope(:z, :x, :y), 4490))"
            ),
            {"z": z, "x": x, "y": y},
        ).scalars()
    )
    assert len(expected) > 10
    assert ids(layer) == expected
    props = next(f["properties"] for f in layer["features"] if f["properties"]["category"])
    assert {"room_id", "number", "category", "usable_area_m2", "floor_id", "level"} <= set(props)


def test_buildings_and_floors_tiles_match_sql(client: Any, db: Session) -> None:
    lon, lat = building_point(db)
    z = 14
    x, y = tile_of(lon, lat, z)
    for layer, sql in [
        (
            "buildings",
            "SELECT id FROM buildings WHERE "
            "ST_Intersects(footprint, ST_Transform(ST_TileEnvelope(:z, :x, :y), 4490))",
        ),
        (
            "floors",
            "SELECT id FROM floors WHERE valid_to IS NULL AND "
            "ST_Intersects(outline, ST_Transform(ST_TileEnvelope(:z, :x, :y), 4490))",
        ),
    ]:
        got = ids(decode(client.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf").content)[layer])
        expected = set(db.execute(text(sql), {"z": z, "x": x, "y": y}).scalars())
        assert expected and got == expected, layer


def test_floor_filter_gives_the_rooms_of_one_floor(client: Any, db: Session) -> None:
    lon, lat = building_point(db)
    floor_id = db.execute(
        text("SELECT id FROM floors WHERE building_id = 1 AND valid_to IS NULL AND level = 2")
    ).scalar_one()
    x, y = tile_of(lon, lat, 17)
    got = decode(client.get(f"/tiles/rooms/17/{x}/{y}.pbf?floor={floor_id}").content)["rooms"]
    expected = set(
        db.execute(
            text(
                "SELECT id FROM rooms WHERE floor_id = :f AND "
                "ST_Intersects(geom, ST_Transform(ST_TileEnvelope(17, :x, :y), 4490))"
            ),
            {"f": floor_id, "x": x, "y": y},
        ).scalars()
    )
    assert expected and ids(got) == expected
    assert {f["properties"]["level"] for f in got["features"]} == {2}


def test_cache_etag_and_invalidation_on_edit(client: Any, db: Session) -> None:
    lon, lat = building_point(db)
    x, y = tile_of(lon, lat, 16)
    url = f"/tiles/rooms/16/{x}/{y}.pbf"
    first = client.get(url)
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    misses = tiles.cache_stats()["misses"]
    assert client.get(url).content == first.content
    assert tiles.cache_stats()["misses"] == misses  # served from the cache
    room_id = int(decode(first.content)["rooms"]["features"][0]["id"])
    db.execute(text("UPDATE rooms SET number = 'X-EDITED' WHERE id = :id"), {"id": room_id})
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304  # not yet told
    tiles.invalidate(["rooms"])
    after = client.get(url, headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    numbers = {
        int(f["id"]): f["properties"]["number"] for f in decode(after.content)["rooms"]["features"]
    }
    assert numbers[room_id] == "X-EDITED"


def test_any_audited_write_refreshes_the_cache(
    client: Any, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No invalidate() call: the write's audit event moves the data version."""
    from backend.audit import service as audit
    from backend.settings import tile_settings

    monkeypatch.setattr(tile_settings(), "data_version_check_s", 0.0)
    lon, lat = building_point(db)
    x, y = tile_of(lon, lat, 16)
    url = f"/tiles/rooms/16/{x}/{y}.pbf"
    first = client.get(url)
    room_id = int(decode(first.content)["rooms"]["features"][0]["id"])
    db.execute(text("UPDATE rooms SET category = 'technical' WHERE id = :id"), {"id": room_id})
    assert client.get(url).content == first.content  # unaudited: still the cached tile
    audit.record(
        db,
        actor="test",
        action="room.update",
        object_type="room",
        object_id=room_id,
        after={"category": "technical"},
    )
    after = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert after.status_code == 200
    props = {int(f["id"]): f["properties"] for f in decode(after.content)["rooms"]["features"]}
    assert props[room_id]["category"] == "technical"


def test_compliance_tile_by_group(client: Any, db: Session) -> None:
    room = db.execute(
        text(
            "SELECT r.id, r.floor_id, r.building_id, ST_X(ST_PointOnSurface(r.geom)), "
            "ST_Y(ST_PointOnSurface(r.geom)) FROM rooms r WHERE r.category = 'office' "
            "ORDER BY r.id LIMIT 1"
        )
    ).one()
    db.execute(
        text(
            "INSERT INTO compliance_findings (rule_code, object_type, object_id, room_id, "
            "floor_id, building_id, excess_m2, standard_version, evaluated_at, status) VALUES "
            "('office_over_standard', 'room', :r, :r, :f, :b, 12.5, 'test', now(), 'open')"
        ),
        {"r": room[0], "f": room[1], "b": room[2]},
    )
    tiles.invalidate()
    x, y = tile_of(room[3], room[4], 18)
    over = decode(client.get(f"/tiles/compliance/18/{x}/{y}.pbf?group=over_standard").content)
    mine = [f for f in over["compliance"]["features"] if f["properties"]["room_id"] == room[0]]
    assert mine and mine[0]["properties"]["excess_m2"] == 12.5
    idle = decode(client.get(f"/tiles/compliance/18/{x}/{y}.pbf?group=idle").content)
    assert all(
        f["properties"]["rule_code"] in ("idle_room", "idle_floor")
        for f in idle.get("compliance", {"features": []})["features"]
    )


def test_tiles_are_scope_filtered(db: Session) -> None:
    lon, lat = building_point(db)
    x, y = tile_of(lon, lat, 12)
    everything = decode(
        tiles.get_tile(db, "buildings", 12, x, y, scope=Scope.everything(), use_cache=False).data
    )["buildings"]
    regions = {f["properties"]["region_adcode"] for f in everything["features"]}
    assert len(regions) >= 2
    one = max(regions)  # a county: its subtree is itself
    scoped = tiles.get_tile(
        db, "buildings", 12, x, y, scope=Scope(regions=frozenset({one})), use_cache=False
    )
    got = decode(scoped.data)["buildings"]["features"]
    assert got and {f["properties"]["region_adcode"] for f in got} == {one}
    nothing = tiles.get_tile(db, "rooms", 12, x, y, scope=Scope(), use_cache=False)
    assert decode(nothing.data) == {}


def test_scoped_caller_gets_only_their_rooms(client_as: Any, db: Session) -> None:
    lon, lat = building_point(db)
    x, y = tile_of(lon, lat, 14)
    agency = db.execute(text("SELECT agency_id FROM rooms WHERE building_id = 1 LIMIT 1")).scalar()
    r = client_as("agency_officer", agencies=[agency]).get(f"/tiles/rooms/14/{x}/{y}.pbf")
    assert r.status_code == 200
    feats = decode(r.content)["rooms"]["features"]
    assert feats and {f["properties"]["agency_id"] for f in feats} == {agency}


@pytest.mark.parametrize(
    "path", ["/tiles/nope/1/0/0.pbf", "/tiles/rooms/1/5/0.pbf", "/tiles/rooms/3/0/0.pbf?group=x"]
)
def test_bad_tile_requests_are_422(client: Any, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 422
    assert r.json()["code"] in ("invalid_input", "invalid_parameter")
