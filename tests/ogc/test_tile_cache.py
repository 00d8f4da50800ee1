"""Cached tiles are answered before the app: no database, gzip stored once, ETag/304, and a
changed scope or an invalid token never served from the cache."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.accounts import users
from backend.api import deps
from backend.maps import tile_cache, tiles
from tests.api.test_tiles import building_point, tile_of


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    tiles.invalidate()
    tiles.clear_cache()
    tile_cache.forget()
    yield
    tiles.invalidate()
    tiles.clear_cache()
    tile_cache.forget()


def no_database() -> Iterator[Any]:
    raise AssertionError("a cached tile must not open a database session")
    yield


def tile_url(db: Session, layer: str = "rooms", z: int = 16) -> str:
    lon, lat = building_point(db)
    x, y = tile_of(lon, lat, z)
    return f"/tiles/{layer}/{z}/{x}/{y}.pbf"


def test_a_cached_hit_touches_no_database(client: Any, app: Any, db: Session) -> None:
    url = tile_url(db)
    first = client.get(url, headers={"Accept-Encoding": "identity"})
    assert first.status_code == 200 and len(first.content) > 0
    app.dependency_overrides[deps.get_session] = no_database
    hits = tiles.cache_stats()["hits"]
    again = client.get(url, headers={"Accept-Encoding": "identity"})
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    assert tiles.cache_stats()["hits"] == hits + 1
    # pre-compressed: the stored gzip body, its own ETag, and 304 for either
    gz = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert gz.headers["content-encoding"] == "gzip" and gz.content == first.content
    assert gz.headers["etag"] != first.headers["etag"] and gz.headers["vary"] == "Accept-Encoding"
    for enc, tag in (("gzip", gz.headers["etag"]), ("identity", first.headers["etag"])):
        r = client.get(url, headers={"Accept-Encoding": enc, "If-None-Match": tag})
        assert r.status_code == 304 and r.content == b""


def test_the_route_compresses_too(client: Any, db: Session) -> None:
    url = tile_url(db, "buildings", 15)
    raw = client.get(url, headers={"Accept-Encoding": "gzip"})  # a miss: answered by the route
    assert raw.status_code == 200 and raw.headers["content-encoding"] == "gzip"
    r = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": raw.headers["etag"]})
    assert r.status_code == 304


def test_a_changed_scope_is_not_served_from_the_cache(
    app: Any, client_as: Any, db: Session
) -> None:
    agency = db.execute(
        text("SELECT agency_id FROM rooms WHERE building_id = 1 AND agency_id IS NOT NULL LIMIT 1")
    ).scalar_one()
    url = tile_url(db)
    c = client_as("planner", regions=[330000])
    wide = c.get(url).content
    # revoke the region (audited: the data version moves), keep one agency
    username = db.execute(
        text("SELECT max(username) FROM users WHERE username LIKE 'test-planner-%'")
    ).scalar_one()
    users.grant(db, username=username, agencies=[agency], actor="test")
    users.revoke(db, username=username, regions=[330000], actor="test")
    db.flush()
    tiles._version["at"] = float("-inf")  # the once-a-second version check comes round
    narrow = c.get(url)
    assert narrow.status_code == 200 and narrow.content != wide
    app.dependency_overrides[deps.get_session] = no_database
    assert c.get(url).content == narrow.content  # and that answer is now the cached one


def test_bad_tokens_and_odd_parameters_go_to_the_app(
    client: Any, anon_client: Any, db: Session
) -> None:
    url = tile_url(db)
    assert client.get(url).status_code == 200  # cached now
    assert anon_client.get(url, follow_redirects=False).status_code == 303  # to sign-in
    bad = {"Authorization": "Bearer not-a-token"}
    assert anon_client.get(url, headers=bad, follow_redirects=False).status_code in (303, 401)
    assert client.get(url + "?floor=abc").status_code == 422
    assert client.get(url + "?nope=1").status_code == 200  # the route ignores unknown names
