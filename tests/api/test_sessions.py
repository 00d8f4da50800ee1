"""Sessions (issue 9): cross-site cookie writes, sign-out and password change revoke tokens,
login throttling in PostgreSQL that never locks a user out from another client, trusted
proxies. Each case is driven the way it was found: a browser-like client signed in through
the login form, answering with its cookie.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.accounts import auth
from backend.db.models import Room
from backend.sessions.models import LoginThrottle
from backend.settings import session_settings
from tests.api.test_plan_upload import plan, post, precondition
from tests.backend.test_plans_support import counts, demo_site

ORIGIN = {"Origin": "http://testserver"}  # what a browser sends from the app's own pages
EVIL = {"Origin": "http://evil.example"}
X = ("203.0.113.10", 50000)
Y = ("198.51.100.20", 50000)


@pytest.fixture
def browser_as(app: Any) -> Iterator[Any]:
    """Factory: a client signed in through the login form (session cookie), from ``peer``."""
    clients: list[TestClient] = []

    def make(username: str, *, peer: tuple[str, int] = Y) -> TestClient:
        c = TestClient(app, client=peer)
        c.__enter__()
        clients.append(c)
        r = c.post(
            "/login",
            data={"username": username, "password": f"demo-{username}", "next": "/map"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        assert c.cookies.get(auth.cookie_name())
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Set OFFICEMAP_SESSION_… for one test."""

    def set_(**values: str) -> None:
        for k, v in values.items():
            monkeypatch.setenv(f"OFFICEMAP_SESSION_{k.upper()}", v)
        session_settings.cache_clear()

    yield set_
    monkeypatch.undo()
    session_settings.cache_clear()


# ----------------------------------------------------------------- cross-site writes
def test_cookie_multipart_commit_from_another_origin_is_refused(
    browser_as: Any, db: Session
) -> None:
    """The issue's case: a cookie-signed-in surveyor's plan commit with Origin: evil → 403."""
    surveyor = browser_as("surveyor")
    site = demo_site(db)
    _, data = plan(site)
    before = counts(db, site.building_id, site.level)
    tag = precondition(surveyor, site)
    r = post(surveyor, site, data, crs=site.crs, headers={**tag, **EVIL})
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "forbidden" and r.json()["details"]["reason"] == "cross_site"
    assert counts(db, site.building_id, site.level) == before  # nothing stored
    # neither Origin nor Sec-Fetch-Site: refused as well (a browser always sends one)
    r = post(surveyor, site, data, crs=site.crs, headers=tag)
    assert r.status_code == 403
    r = post(surveyor, site, data, crs=site.crs, headers={**tag, "Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    r = post(surveyor, site, data, crs=site.crs, headers={**tag, "Sec-Fetch-Site": "same-site"})
    assert r.status_code == 403
    assert counts(db, site.building_id, site.level) == before
    # from the app's own page it goes through
    r = post(surveyor, site, data, crs=site.crs, headers={**tag, **ORIGIN})
    assert r.status_code == 201, r.text
    assert counts(db, site.building_id, site.level)["versions"] == before["versions"] + 1


def test_same_origin_fetch_metadata_is_enough(browser_as: Any, db: Session) -> None:
    surveyor = browser_as("surveyor")
    site = demo_site(db)
    _, data = plan(site)
    r = post(
        surveyor,
        site,
        data,
        crs=site.crs,
        headers={**precondition(surveyor, site), "Sec-Fetch-Site": "same-origin"},
    )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_every_unsafe_method_with_the_cookie_is_checked(
    method: str, browser_as: Any, db: Session
) -> None:
    planner = browser_as("planner")
    room_id, number = db.execute(select(Room.id, Room.number).order_by(Room.id).limit(1)).one()
    tag = planner.get(f"/api/v1/rooms/{room_id}").headers["ETag"]
    r = planner.request(
        method,
        f"/api/v1/rooms/{room_id}",
        json={"number": "CSRF-1"},
        headers={"If-Match": tag, **EVIL},
    )
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert db.execute(select(Room.number).where(Room.id == room_id)).scalar_one() == number


def test_bearer_requests_are_not_affected(client: Any, db: Session) -> None:
    """API clients send their token themselves; no browser adds it, so no CSRF check."""
    site = demo_site(db)
    _, data = plan(site)
    r = post(client, site, data, crs=site.crs, headers={**precondition(client, site), **EVIL})
    assert r.status_code == 201, r.text


def test_configured_allowed_origins(browser_as: Any, db: Session, settings_env: Any) -> None:
    """Behind a proxy the public origin differs from Host: it can be allowed by setting."""
    settings_env(allowed_origins="https://officemap.example.gov.cn, https://gis.example.gov.cn")
    planner = browser_as("planner")
    room_id = db.execute(select(Room.id).order_by(Room.id).limit(1)).scalar_one()
    tag = planner.get(f"/api/v1/rooms/{room_id}").headers["ETag"]
    ok = planner.patch(
        f"/api/v1/rooms/{room_id}",
        json={"number": "A-1"},
        headers={"If-Match": tag, "Origin": "https://officemap.example.gov.cn"},
    )
    assert ok.status_code == 200, ok.text
    refused = planner.patch(
        f"/api/v1/rooms/{room_id}",
        json={"number": "A-2"},
        headers={"If-Match": ok.headers["ETag"], "Origin": "https://officemap.example.gov.cn.evil"},
    )
    assert refused.status_code == 403


def test_login_form_posted_from_another_origin_is_refused(anon_client: Any) -> None:
    r = anon_client.post(
        "/login",
        data={"username": "leader", "password": "demo-leader"},
        headers=EVIL,
        follow_redirects=False,
    )
    assert r.status_code == 403 and auth.cookie_name() not in r.headers.get("set-cookie", "")


# ----------------------------------------------------------------- sign-out, password change
def test_after_logout_the_old_cookie_answers_401(browser_as: Any, db: Session, app: Any) -> None:
    """The issue's case: the old cookie kept working for 8 hours after /logout."""
    leader = browser_as("leader")
    cookie = leader.cookies.get(auth.cookie_name())
    building = demo_site(db).building_id
    assert leader.get("/api/v1/buildings?limit=1").status_code == 200
    assert leader.get(f"/api/v1/buildings/{building}").status_code == 200  # the lean path
    r = leader.post("/logout", headers=ORIGIN, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    # an attacker who kept a copy of the cookie
    with TestClient(app, cookies={auth.cookie_name(): cookie}) as stolen:
        assert stolen.get("/api/v1/buildings?limit=1").status_code == 401
        assert stolen.get(f"/api/v1/buildings/{building}").status_code == 401
        assert stolen.get("/api/v1/auth/me").status_code == 401
        page = stolen.get("/map", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fmap"
    # signing in again works
    again = browser_as("leader")
    assert again.get("/api/v1/auth/me").json()["username"] == "leader"


def test_every_route_refuses_a_revoked_token(app: Any, db: Session) -> None:
    """No route answers a signed-out token (pages included), whether it reads the users row
    through the ORM or on the lean path."""
    from tests.api.test_access_matrix import routes

    token = auth.issue_token("admin")
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.post("/api/v1/auth/logout").status_code == 204
        building = demo_site(db).building_id
        ids = {"building_id": building, "room_id": 1, "floor_id": 1, "agency_id": 1}
        checked = 0
        for r in routes(app):
            if "GET" not in r.methods or r.path.startswith(
                ("/docs", "/api/v1/openapi", "/ogc/api")
            ):
                continue
            if r.path in ("/", "/login", "/logout", "/api/v1/health") or r.required_query:
                continue
            url = r.path
            for name in r.path_params:
                url = url.replace("{" + name + "}", str(ids.get(name, 1)))
            url = url.replace("{z}", "15").replace("{x}", "1").replace("{y}", "1")
            url = url.replace("{layer}", "buildings").replace("{adcode}", "330000")
            resp = c.get(url, follow_redirects=False)
            if url.startswith(("/api/", "/tiles/", "/ogc")):  # GIS clients: 401, no login page
                assert resp.status_code == 401, (url, resp.status_code)
            else:
                assert resp.status_code == 303, (url, resp.status_code)
                assert resp.headers["location"].startswith("/login?next=")
            checked += 1
        assert checked >= 20


def test_bearer_logout_revokes_only_that_token(anon_client: Any) -> None:
    def token() -> str:
        r = anon_client.post(
            "/api/v1/auth/token", data={"username": "planner", "password": "demo-planner"}
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    a, b = token(), token()
    h = {"Authorization": f"Bearer {a}"}
    assert anon_client.post("/api/v1/auth/logout", headers=h).status_code == 204
    assert anon_client.get("/api/v1/auth/me", headers=h).status_code == 401
    assert anon_client.post("/api/v1/auth/logout", headers=h).status_code == 401
    me = anon_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {b}"})
    assert me.status_code == 200  # the other session stays signed in


def test_password_change_revokes_every_earlier_token(
    anon_client: Any, browser_as: Any, db: Session
) -> None:
    browser = browser_as("inspector")
    api = anon_client.post(
        "/api/v1/auth/token", data={"username": "inspector", "password": "demo-inspector"}
    ).json()["access_token"]
    h = {"Authorization": f"Bearer {api}"}
    wrong = anon_client.post(
        "/api/v1/auth/password",
        json={"current_password": "not-it-at-all", "new_password": "new-secret-9"},
        headers=h,
    )
    assert wrong.status_code == 401
    assert anon_client.get("/api/v1/auth/me", headers=h).status_code == 200  # nothing changed
    short = anon_client.post(
        "/api/v1/auth/password",
        json={"current_password": "demo-inspector", "new_password": "short"},
        headers=h,
    )
    assert short.status_code == 422
    r = anon_client.post(
        "/api/v1/auth/password",
        json={"current_password": "demo-inspector", "new_password": "new-secret-9"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert anon_client.get("/api/v1/auth/me", headers=h).status_code == 401
    assert browser.get("/api/v1/auth/me").status_code == 401  # the other browser too
    assert anon_client.get("/api/v1/auth/me", headers=fresh).status_code == 200
    old = anon_client.post(
        "/api/v1/auth/token", data={"username": "inspector", "password": "demo-inspector"}
    )
    assert old.status_code == 401
    new = anon_client.post(
        "/api/v1/auth/token", data={"username": "inspector", "password": "new-secret-9"}
    )
    assert new.status_code == 200
    events = db.execute(
        text("SELECT count(*) FROM audit_events WHERE action = 'user.password'")
    ).scalar_one()
    assert events >= 1


def test_an_administrator_signs_a_user_out_everywhere(app: Any, db: Session) -> None:
    """``officemap users revoke NAME --sessions``: every token issued so far is refused."""
    from backend.sessions import service

    tokens = [auth.issue_token("surveyor") for _ in range(2)]
    with TestClient(app) as c:
        for t in tokens:
            assert c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {t}"}).is_success
        service.revoke_all_sessions(db, username="surveyor", actor="test")
        for t in tokens:
            r = c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {t}"})
            assert r.status_code == 401
        r = c.post("/api/v1/auth/token", data={"username": "surveyor", "password": "demo-surveyor"})
        fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert c.get("/api/v1/auth/me", headers=fresh).status_code == 200


def test_cookie_password_change_sets_a_new_cookie(browser_as: Any) -> None:
    officer = browser_as("officer")
    old = officer.cookies.get(auth.cookie_name())
    r = officer.post(
        "/api/v1/auth/password",
        json={"current_password": "demo-officer", "new_password": "officer-new-1"},
        headers=ORIGIN,
    )
    assert r.status_code == 200, r.text
    assert officer.cookies.get(auth.cookie_name()) != old
    assert officer.get("/api/v1/auth/me").status_code == 200


# ----------------------------------------------------------------- login throttling
def _login(c: TestClient, password: str, user: str = "planner", **headers: str) -> Any:
    return c.post(
        "/api/v1/auth/token", data={"username": user, "password": password}, headers=headers
    )


def test_failures_from_one_client_never_lock_the_user_out_from_another(app: Any) -> None:
    """The issue's case: ten failed logins locked the account for everyone for 5 minutes."""
    with TestClient(app, client=X) as attacker, TestClient(app, client=Y) as user:
        codes = [_login(attacker, "guess-guess").status_code for _ in range(10)]
        free = session_settings().login_free_failures
        assert codes[:free] == [401] * free and set(codes[free:]) == {429}
        assert _login(attacker, "demo-planner").status_code == 429  # the attacker is slowed
        ok = _login(user, "demo-planner")
        assert ok.status_code == 200, ok.text  # the real user is not
        other = _login(attacker, "demo-leader", user="leader")
        assert other.status_code == 200  # the client key has a larger allowance (shared NAT)


def test_the_delay_grows_with_each_further_failure(app: Any, db: Session) -> None:
    s = session_settings()
    with TestClient(app, client=X) as c:
        for _ in range(s.login_free_failures):
            assert _login(c, "guess-guess").status_code == 401
        first = _login(c, "guess-guess")
        assert first.status_code == 429
        assert int(first.headers["Retry-After"]) == int(s.login_base_delay_seconds)
        # the delay passes (time moved on): one more failure doubles it
        db.execute(text("UPDATE login_throttle SET blocked_until = now() - interval '1 second'"))
        assert _login(c, "guess-guess").status_code == 401
        second = _login(c, "guess-guess")
        assert int(second.headers["Retry-After"]) == int(2 * s.login_base_delay_seconds)
        assert second.json()["details"]["retry_after_seconds"] == int(second.headers["Retry-After"])


def test_rotating_forwarded_for_from_a_non_proxy_does_not_rotate_the_key(
    app: Any, db: Session
) -> None:
    with TestClient(app, client=X) as c:
        codes = [
            _login(c, "guess-guess", **{"X-Forwarded-For": f"10.9.{k}.{k}"}).status_code
            for k in range(8)
        ]
    free = session_settings().login_free_failures
    assert codes[:free] == [401] * free and set(codes[free:]) == {429}
    keys = set(db.scalars(select(LoginThrottle.key)))
    assert keys == {f"client:{X[0]}", f"user:{X[0]}:planner"}


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    app: Any, db: Session, settings_env: Any
) -> None:
    settings_env(trusted_proxies="10.0.0.0/8")
    proxy = ("10.0.0.5", 50000)
    with TestClient(app, client=proxy) as via_proxy:
        for k in range(8):
            # the client behind the proxy forges a left-hand entry; the proxy appends the truth
            forged = {"X-Forwarded-For": f"192.0.2.{k}, 198.51.100.7"}
            _login(via_proxy, "guess-guess", **forged)
        assert (
            _login(via_proxy, "demo-planner", **{"X-Forwarded-For": "198.51.100.7"}).status_code
            == 429
        )
        # another real client behind the same proxy is not affected
        assert (
            _login(via_proxy, "demo-planner", **{"X-Forwarded-For": "198.51.100.8"}).status_code
            == 200
        )
    keys = set(db.scalars(select(LoginThrottle.key)))
    assert "user:198.51.100.7:planner" in keys and not any("192.0.2." in k for k in keys)
    assert not any(k.endswith(":10.0.0.5") or "10.0.0.5:" in k for k in keys)


def test_throttle_holds_across_workers_and_restarts(app: Any, db: Session) -> None:
    """Kept in PostgreSQL: a second app instance (another worker, or after a restart) knows."""
    from backend.api import deps
    from backend.api.app import create_app

    with TestClient(app, client=X) as c:
        for _ in range(session_settings().login_free_failures):
            _login(c, "guess-guess")
    second = create_app(None)
    second.dependency_overrides = dict(app.dependency_overrides)
    assert deps.get_session in second.dependency_overrides
    with TestClient(second, client=X) as c:
        assert _login(c, "demo-planner").status_code == 429


def test_unknown_users_are_throttled_too_and_answer_alike(app: Any) -> None:
    with TestClient(app, client=X) as c:
        a = _login(c, "nope-nope", user="planner")
        b = _login(c, "nope-nope", user="nobody-here")
        assert a.status_code == b.status_code == 401 and a.json() == b.json()
        codes = [_login(c, "x-x-x-x", user="nobody-here").status_code for _ in range(8)]
        assert 429 in codes


def test_the_server_does_not_believe_forwarded_for_from_loopback(
    engine: Any, database_url: str, settings_env: Any
) -> None:
    """The issue's case, on a real server: uvicorn trusts X-Forwarded-For from 127.0.0.1 by
    default, which let a local client rotate its key; ``officemap serve`` turns that off
    unless proxies are configured."""
    # a delay longer than any request takes on a loaded machine: the 6th attempt must meet it
    settings_env(login_base_delay_seconds="600")
    import threading
    import time
    import urllib.error
    import urllib.parse
    import urllib.request

    import uvicorn

    from backend.api.app import create_app
    from backend.db.embedded import free_port
    from backend.sessions.service import server_proxy_options

    assert server_proxy_options()["proxy_headers"] is False
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(database_url),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            **server_proxy_options(),
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    keys = ("client:127.0.0.1", "user:127.0.0.1:xff-probe")
    try:
        while not server.started:
            time.sleep(0.05)
        codes = []
        for k in range(8):
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/auth/token",
                data=urllib.parse.urlencode(
                    {"username": "xff-probe", "password": "no-no-no"}
                ).encode(),
                headers={"X-Forwarded-For": f"192.0.2.{k}"},
            )
            try:
                urllib.request.urlopen(req, timeout=30)  # noqa: S310 - loopback test server
                codes.append(200)
            except urllib.error.HTTPError as exc:
                codes.append(exc.code)
        free = session_settings().login_free_failures
        assert codes[:free] == [401] * free and set(codes[free:]) == {429}
        with engine.connect() as conn:
            stored = set(
                conn.execute(
                    text("SELECT key FROM login_throttle WHERE key LIKE '%xff-probe'")
                ).scalars()
            )
        assert stored == {"user:127.0.0.1:xff-probe"}
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM login_throttle WHERE key = ANY(:k)"), {"k": list(keys)})


@pytest.mark.browser
def test_a_page_on_another_origin_cannot_post_with_the_cookie(
    browser: Any, live_server: str
) -> None:
    """In Chromium: a page on another port of the same host (same site, so the SameSite=Strict
    cookie is sent) submits a form to the app. The guard refuses it; the session survives."""
    import http.server
    import threading

    from backend.db.embedded import free_port

    target = f"{live_server}/api/v1/auth/logout"
    html = (
        "<!doctype html><html><body>"
        f'<form id="f" method="post" action="{target}" enctype="multipart/form-data">'
        '<input name="x" value="1"></form>'
        "<script>document.getElementById('f').submit()</script></body></html>"
    ).encode()

    class Evil(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args: Any) -> None:
            pass

    port = free_port()
    evil = http.server.ThreadingHTTPServer(("127.0.0.1", port), Evil)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    token = auth.issue_token("admin")
    context = browser.new_context()
    context.add_cookies(
        [{"name": auth.cookie_name(), "value": token, "url": live_server, "sameSite": "Strict"}]
    )
    page = context.new_page()
    try:
        with page.expect_response(target) as answer:
            page.goto(f"http://127.0.0.1:{port}/")
        response = answer.value
        assert response.status == 403
        assert response.json()["details"]["reason"] == "cross_site"
        assert response.request.headers.get("origin") == f"http://127.0.0.1:{port}"
        # the session still works: nothing was revoked
        me = page.request.get(f"{live_server}/api/v1/auth/me")
        assert me.status == 200 and me.json()["username"] == "admin"
    finally:
        context.close()
        evil.shutdown()
