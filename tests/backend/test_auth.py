"""Authentication: password flow, login form and cookie, token attacks, rate limit."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.accounts import auth
from backend.settings import auth_settings, session_settings


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(**overrides: Any) -> dict[str, Any]:
    s = auth_settings()
    now = dt.datetime.now(dt.UTC)
    return {
        "sub": "admin",
        "iss": s.issuer,
        "aud": s.audience,
        "iat": now,
        "exp": now + dt.timedelta(minutes=5),
    } | overrides


def test_passwords_are_argon2id(db: Session) -> None:
    h = db.execute(text("SELECT password_hash FROM users WHERE username = 'planner'")).scalar_one()
    assert h.startswith("$argon2id$")
    assert auth.verify_password(h, "demo-planner") and not auth.verify_password(h, "wrong")


def test_password_flow_gives_a_working_token(anon_client: Any) -> None:
    resp = anon_client.post(
        "/api/v1/auth/token", data={"username": "planner", "password": "demo-planner"}
    )
    assert resp.status_code == 200
    token = resp.json()["access_token"]
    me = anon_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "planner" and me.json()["roles"] == ["planner"]


def test_unknown_user_and_wrong_password_answer_the_same(anon_client: Any) -> None:
    a = anon_client.post(
        "/api/v1/auth/token", data={"username": "planner", "password": "nope-nope"}
    )
    b = anon_client.post("/api/v1/auth/token", data={"username": "nobody", "password": "nope-nope"})
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json()


def test_login_is_rate_limited(anon_client: Any) -> None:
    free = session_settings().login_free_failures
    codes = [
        anon_client.post(
            "/api/v1/auth/token", data={"username": "planner", "password": "wrong-password"}
        ).status_code
        for _ in range(free + 1)
    ]
    assert codes[:-1] == [401] * free and codes[-1] == 429
    # even the right password is refused from this client while the delay lasts
    ok = anon_client.post(
        "/api/v1/auth/token", data={"username": "planner", "password": "demo-planner"}
    )
    assert ok.status_code == 429 and int(ok.headers["Retry-After"]) >= 1


@pytest.mark.parametrize(
    "attack",
    ["alg_none", "expired", "wrong_audience", "wrong_issuer", "tampered", "other_key", "garbage"],
)
def test_token_attacks_are_refused(anon_client: Any, attack: str) -> None:
    secret = auth.signing_secret()
    if attack == "alg_none":
        token = (
            _b64({"alg": "none", "typ": "JWT"})
            + "."
            + _b64(
                {
                    k: (v.timestamp() if isinstance(v, dt.datetime) else v)
                    for k, v in _claims().items()
                }
            )
            + "."
        )
    elif attack == "expired":
        past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
        token = jwt.encode(_claims(iat=past, exp=past + dt.timedelta(minutes=5)), secret, "HS256")
    elif attack == "wrong_audience":
        token = jwt.encode(_claims(aud="someone-else"), secret, "HS256")
    elif attack == "wrong_issuer":
        token = jwt.encode(_claims(iss="evil"), secret, "HS256")
    elif attack == "tampered":
        good = auth.issue_token("planner")
        head, body, sig = good.split(".")
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        claims["sub"] = "admin"
        token = f"{head}.{_b64(claims)}.{sig}"
    elif attack == "other_key":
        token = jwt.encode(_claims(), "not-the-secret-" * 3, "HS256")
    else:
        token = "abc.def.ghi"
    for headers, cookies in (
        ({"Authorization": f"Bearer {token}"}, {}),
        ({}, {auth.cookie_name(): token}),
    ):
        anon_client.cookies.clear()
        for k, v in cookies.items():
            anon_client.cookies.set(k, v)
        resp = anon_client.get("/api/v1/buildings", headers=headers)
        assert resp.status_code == 401, (attack, resp.text)
    # the valid token of the same shape works (the test can fail)
    ok = anon_client.get(
        "/api/v1/buildings", headers={"Authorization": f"Bearer {auth.issue_token('admin')}"}
    )
    assert ok.status_code == 200


def test_login_form_sets_a_secure_session_cookie(anon_client: Any) -> None:
    page = anon_client.get("/map", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fmap"
    form = anon_client.get("/login")
    assert "登录" in form.text and 'type="password"' in form.text
    resp = anon_client.post(
        "/login",
        data={"username": "leader", "password": "demo-leader", "next": "/map"},
        follow_redirects=False,
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/map"
    cookie = resp.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert anon_client.get("/map").status_code == 200
    # a browser names the page's origin on the form post (the client now holds the cookie)
    bad = anon_client.post(
        "/login",
        data={"username": "leader", "password": "x", "next": "//evil.example/"},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text


def test_open_redirect_is_refused(anon_client: Any) -> None:
    resp = anon_client.post(
        "/login",
        data={"username": "leader", "password": "demo-leader", "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert resp.headers["location"] == "/map"


def test_revoked_user_loses_access_at_once(client: Any, db: Session) -> None:
    from backend.accounts import users
    from tests.conftest import bearer

    headers = bearer("inspector")
    assert client.get("/api/v1/buildings", headers=headers).status_code == 200
    users.revoke(db, actor="test", username="inspector", deactivate=True)
    db.flush()
    assert client.get("/api/v1/buildings", headers=headers).status_code == 401


def test_login_page_signs_in_a_browser(browser: Any, live_server: str) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{live_server}/map")
        assert "/login" in page.url
        page.fill("input[name=username]", "officer")
        page.fill("input[name=password]", "demo-officer")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/map")
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies[auth.cookie_name()]["httpOnly"] is True
        assert cookies[auth.cookie_name()]["sameSite"] == "Strict"
    finally:
        context.close()
