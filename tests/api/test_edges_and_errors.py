"""Issue 11, errors at the edge: values the database cannot hold are 4xx (never 500), an
unhandled error answers the JSON error shape with a request id, one JSON log line per
request, and /docs works offline from the app's own assets."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

BIG = 2**31 + 5
CASES = [
    f"/api/v1/agencies/{BIG}",
    f"/api/v1/buildings/{BIG}",
    f"/api/v1/buildings/{BIG}?as_of=2026-01-01",
    f"/api/v1/buildings/{BIG}/floors",
    f"/api/v1/floors/{BIG}",
    f"/api/v1/rooms/{2**63 + 1}",
    f"/api/v1/map/floors/{BIG}/rooms",
    f"/map/buildings/{BIG}",
    "/api/v1/occupancies?agency=7206613008",
    f"/api/v1/rooms?floor={BIG}",
    f"/api/v1/buildings?agency={BIG}",
    f"/api/v1/compliance/findings/{2**63 + 1}",
    f"/api/v1/tiles/rooms/3/{2**40}/1.mvt",
    "/api/v1/buildings/1?as_of=9999-12-31",
    "/api/v1/rooms/1?as_of=9999-12-31",
    "/api/v1/buildings?as_of=9999-12-31",
    "/api/v1/floors?as_of=9999-12-31",
    "/api/v1/floors/1?as_of=9999-12-31",
    "/api/v1/rooms?as_of=9999-12-31",
    "/api/v1/occupancies?as_of=9999-12-31",
    "/api/v1/buildings?as_of=0001-01-01",
    "/api/v1/regions?simplify=1e308",
    "/api/v1/buildings?bbox=1e308,0,1e309,1",
]


@pytest.mark.parametrize("path", CASES)
def test_out_of_range_values_are_4xx_json(client: Any, path: str) -> None:
    r = client.get(path)
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:300])
    if path.startswith("/api/"):
        body = r.json()
        assert {"code", "message", "message_zh", "details"} <= set(body)


def test_writes_bound_ids_and_dates(client: Any) -> None:
    r = client.post(
        "/api/v1/occupancies",
        json={
            "room_id": 1,
            "agency_id": 7206613008,
            "rank_code": "x",
            "start_date": "9999-12-31",
        },
    )
    assert r.status_code == 422
    locations = {tuple(d["location"]) for d in r.json()["details"]}
    assert ("body", "agency_id") in locations and ("body", "start_date") in locations


def test_unhandled_error_is_json_with_request_id_and_logged(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/api/v1/test-boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("secret /tmp/officemap-plan-xyz internals")

    from tests.conftest import bearer

    with (
        caplog.at_level(logging.INFO, logger="officemap"),
        TestClient(app, headers=bearer("admin")) as c,
    ):
        r = c.get("/api/v1/test-boom")
    assert r.status_code == 500
    body = r.json()
    rid = r.headers["x-request-id"]
    assert body["code"] == "internal_error" and body["request_id"] == rid
    assert rid in body["message"] and set(body) >= {"message_zh", "details"}
    assert "secret" not in r.text and "/tmp" not in r.text and "Traceback" not in r.text
    logged = [rec for rec in caplog.records if rec.name == "officemap.errors"]
    assert logged and logged[0].fields["request_id"] == rid and logged[0].exc_info


def test_one_json_access_line_per_request_without_secrets(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from backend.api.observability import JsonFormatter
    from tests.conftest import bearer

    headers = bearer("admin")
    with (
        caplog.at_level(logging.INFO, logger="officemap.access"),
        TestClient(app, headers={**headers, "X-Request-ID": "client-chosen-id-1"}) as c,
    ):
        r = c.get("/api/v1/buildings/1?secret_query=hunter2")
    assert r.headers["x-request-id"] == "client-chosen-id-1"
    lines = [
        JsonFormatter().format(rec) for rec in caplog.records if rec.name == "officemap.access"
    ]
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert doc["request_id"] == "client-chosen-id-1" and doc["user"] == "admin"
    assert doc["route"] == "/api/v1/buildings/{building_id}" and doc["status"] == r.status_code
    assert isinstance(doc["ms"], float) and doc["method"] == "GET"
    token = headers["Authorization"].split()[1]
    assert "hunter2" not in lines[0] and token not in lines[0]


def test_a_bad_incoming_request_id_is_replaced(anon_client: Any) -> None:
    r = anon_client.get("/api/v1/health", headers={"X-Request-ID": "bad id\n<script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])


def test_docs_work_offline_from_local_assets(anon_client: Any) -> None:
    page = anon_client.get("/docs")
    assert page.status_code == 200
    srcs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert srcs and all(s.startswith("/static/") for s in srcs), srcs
    assert "<script>" not in page.text  # no inline script (CSP-safe)
    for src in srcs:
        asset = anon_client.get(src)
        assert asset.status_code == 200 and len(asset.content) > 100, src
    config = re.search(r'data-config="([^"]+)"', page.text)
    assert config and "/api/v1/openapi.json" in config.group(1)
    redirect = anon_client.get("/docs/oauth2-redirect?code=x", follow_redirects=False)
    assert redirect.headers["location"].startswith("/static/vendor/swagger-ui/oauth2-redirect")
