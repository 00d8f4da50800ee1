"""One way to read a request's token (``backend.api.authn``): FastAPI's security schemes,
the bearer token first, else the session cookie — for the ORM routes, the lean by-id reads
and the sign-in gate alike."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.accounts import auth
from backend.api.authn import choose_token, request_token


def _client(app: Any, *, cookie: str | None = None) -> TestClient:
    c = TestClient(app)
    if cookie is not None:
        c.cookies.set(auth.cookie_name(), cookie)
    return c


def test_the_bearer_token_wins_over_the_cookie(app: Any) -> None:
    admin = {"Authorization": f"Bearer {auth.issue_token('admin')}"}
    with _client(app, cookie=auth.issue_token("officer")) as c:
        assert c.get("/api/v1/auth/me").json()["username"] == "officer"
        assert c.get("/api/v1/auth/me", headers=admin).json()["username"] == "admin"
        # a building only the admin sees: the ORM list and the lean by-id read agree
        mine = {f["id"] for f in c.get("/api/v1/buildings?limit=10000").json()["features"]}
        every = c.get("/api/v1/buildings?limit=10000", headers=admin).json()["features"]
        hidden = next(f["id"] for f in every if f["id"] not in mine)
        assert c.get(f"/api/v1/buildings/{hidden}").status_code == 404
        assert c.get(f"/api/v1/buildings/{hidden}", headers=admin).status_code == 200


def test_the_cookie_alone_signs_in_the_lean_reads_too(app: Any) -> None:
    with _client(app, cookie=auth.issue_token("admin")) as c:
        assert c.get("/api/v1/buildings/1").status_code == 200
        assert c.get("/api/v1/rooms?limit=1").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic YWRtaW46eA=="},
        {"Cookie": "officemap_session"},  # a name without a value
        {"Cookie": 'officemap_session="unterminated; x=1'},
        {"Cookie": "xofficemap_session=abc"},
    ],
)
def test_no_usable_token_is_anonymous(app: Any, headers: dict[str, str]) -> None:
    with TestClient(app) as c:
        for path in ("/api/v1/auth/me", "/api/v1/buildings/1"):
            r = c.get(path, headers=headers)
            assert r.status_code == 401, (path, r.text)
            assert r.json()["code"]


def test_an_empty_bearer_falls_back_to_the_cookie(app: Any) -> None:
    with _client(app, cookie=auth.issue_token("planner")) as c:
        r = c.get("/api/v1/auth/me", headers={"Authorization": "Bearer "})
        assert r.status_code == 200 and r.json()["username"] == "planner"


def test_middlewares_read_the_token_the_same_way() -> None:
    name = auth.cookie_name().encode()
    both = [(b"authorization", b"Bearer  tok-1 "), (b"cookie", name + b"=tok-2; other=x")]
    assert request_token(both) == "tok-1"
    assert request_token([(b"cookie", name + b"=tok-2")]) == "tok-2"
    assert request_token([(b"authorization", b"Token tok-1")]) is None
    assert choose_token("", "c") == "c" and choose_token(None, None) is None


def test_openapi_documents_both_schemes(app: Any) -> None:
    with TestClient(app) as c:
        schemes = c.get("/api/v1/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["OAuth2PasswordBearer"]["type"] == "oauth2"
    assert schemes["SessionCookie"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": auth.cookie_name(),
        "description": "the HttpOnly session cookie set by signing in at /login",
    }
