"""Shared fixtures: a throwaway real PostgreSQL + PostGIS, the demo register, app and browser.

- One embedded cluster per test session (the project's own launcher, fsync off), or the
  server named by ``OFFICEMAP_TEST_DATABASE_URL``.
- The schema is migrated and a small demo province loaded once; each test runs in a
  transaction rolled back afterwards (``db``), so tests may write freely.
- Any skipped test fails the run: a database test that skips is a failure.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from backend.db.embedded import EmbeddedPostgres, free_port
from backend.db.migrate import upgrade

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
DEMO_BUILDINGS = 40
DEMO_AS_OF = dt.date(2026, 11, 26)


class TestSettings(BaseSettings):
    """Test run settings (env prefix OFFICEMAP_TEST_)."""

    model_config = SettingsConfigDict(env_prefix="OFFICEMAP_TEST_")

    database_url: str | None = None
    chromium: str = "/usr/bin/chromium"


TEST_SETTINGS = TestSettings()


# ----------------------------------------------------------------- skips fail
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped tests are failures in this project: {report.longrepr}"


# ----------------------------------------------------------------- database
@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[EmbeddedPostgres | None]:
    if TEST_SETTINGS.database_url:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="officemap-test-pg-"))
    pg = EmbeddedPostgres(root=root)
    pg.start(fast=True)
    try:
        yield pg
    finally:
        pg.stop(mode="immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(pg_cluster: EmbeddedPostgres | None) -> str:
    if pg_cluster is None:
        assert TEST_SETTINGS.database_url
        return TEST_SETTINGS.database_url
    return pg_cluster.url()


@pytest.fixture(scope="session", autouse=True)
def audit_key() -> bytes:
    """The audit chain's key for this run (never written into the project's state folder)."""
    from backend.audit import service as audit

    key = secrets.token_hex(32).encode()  # text, so that OFFICEMAP_AUDIT_KEY can carry it
    audit.use_key(key)
    return key


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The migrated test database with a small demo province committed (owner connection)."""
    from backend.demo.generator import load_demo, register_is_empty

    eng = create_engine(database_url, pool_size=10, max_overflow=20)
    upgrade(eng)
    with eng.begin() as conn:
        if register_is_empty(conn):
            load_demo(conn, buildings=DEMO_BUILDINGS, seed=7, as_of=DEMO_AS_OF)
    from backend.cli import after_prepare

    after_prepare(eng)
    # fresh connections: temp tables the owner's hooks left (compliance's cf_new) would
    # belong to the owner, not to the app role the requests switch to
    eng.dispose()
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def app_database_url(engine: Engine, database_url: str) -> str:
    """URL of the LOGIN role the app's requests run as (``officemap_web``, in officemap_app)."""
    from backend.db import roles

    password = secrets.token_urlsafe(18)
    roles.ensure_app_login(database_url, password)
    return roles.app_url_for(database_url, password)


APP_ROLE = "officemap_app"
_CLEAR_SCOPE = text(
    "SELECT set_config('officemap.unrestricted', '', true), set_config('officemap.regions', '', true),"
    " set_config('officemap.agencies', '', true), set_config('officemap.user', '', true)"
)


@contextmanager
def as_app_role(session: Session) -> Iterator[Session]:
    """Run a request's statements on ``session`` as ``officemap_app`` (no superuser, no
    BYPASSRLS), with no scope settings until the request writes its own; back to the
    test's owner connection afterwards."""
    if session.execute(text("SELECT current_user")).scalar_one() == APP_ROLE:
        yield session
        return
    session.execute(_CLEAR_SCOPE)
    session.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
    try:
        yield session
    finally:
        # an aborted transaction is rolled back at the end of the test anyway
        with suppress(Exception):
            session.execute(text("RESET ROLE"))


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session in a transaction rolled back after the test (commits become savepoints)."""
    conn = engine.connect()
    trans = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        if trans.is_active:
            trans.rollback()
        conn.close()


class AppRoleSessionReader:
    """The lean read path on the test's session, as the app role (like ``SessionReader``)."""

    def __init__(self, session: Session) -> None:
        from backend.db.async_pool import SessionReader

        self._session = session
        self._reader = SessionReader(session)

    async def fetch(self, statements: Sequence[Any]) -> list[Any]:
        with as_app_role(self._session):
            return await self._reader.fetch(statements)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with as_app_role(self._session):
            yield self._session


@pytest.fixture
def app(engine: Engine, db: Session, app_database_url: str) -> Any:
    """The FastAPI app whose requests use the test's rolled-back session, as the app role."""
    from backend.api import deps
    from backend.api.app import create_app
    from backend.maps import tile_cache

    tile_cache.forget()  # users are made per test in rolled-back transactions: names repeat
    application = create_app(app_database_url)

    def session_override() -> Iterator[Session]:
        with as_app_role(db):
            yield db
            db.flush()

    application.dependency_overrides[deps.get_session] = session_override
    # the lean by-id reads run their statements in the same rolled-back transaction
    application.dependency_overrides[deps.get_reader] = lambda: AppRoleSessionReader(db)
    return application


def bearer(username: str) -> dict[str, str]:
    """Authorization header of a valid token for ``username``."""
    from backend.accounts.auth import issue_token

    return {"Authorization": f"Bearer {issue_token(username)}"}


@pytest.fixture
def anon_client(app: Any) -> Iterator[Any]:
    """A client that has not signed in."""
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    """A client signed in as the demo ``admin`` (bearer token)."""
    from fastapi.testclient import TestClient

    with TestClient(app, headers=bearer("admin")) as c:
        yield c


def scoped_clients(app: Any, db: Session, prefix: str = "test") -> Iterator[Any]:
    """Body of the ``client_as`` fixtures: signed-in clients of ``app`` for users created
    in the test's rolled-back transaction (tests/api/test_scope_first_wall.py reuses it)."""
    from fastapi.testclient import TestClient

    from backend.db.access import User

    clients: list[Any] = []

    def make(role: str, *, regions: Any = (), agencies: Any = ()) -> Any:
        username = f"{prefix}-{role}-{len(clients)}"
        db.add(
            User(
                username=username,
                password_hash="!",
                roles=[role],
                regions=sorted(regions),
                agencies=sorted(agencies),
                active=True,
            )
        )
        db.flush()
        c = TestClient(app, headers=bearer(username))
        c.__enter__()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client_as(app: Any, db: Session) -> Iterator[Any]:
    """Factory: ``client_as("planner", regions=[330100], agencies=[7])`` → a signed-in client.

    The user is created in the test's rolled-back transaction.
    """
    yield from scoped_clients(app, db)


# ----------------------------------------------------------------- live server + browser
@pytest.fixture(scope="session")
def live_server(engine: Engine, app_database_url: str) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port (committed demo data, app role)."""
    import uvicorn

    from backend.api.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(app_database_url), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=TEST_SETTINGS.chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageProbe:
    """A page plus what it requested and any script errors."""

    def __init__(self, page: Any, origin: str) -> None:
        self.page = page
        self.origin = origin
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.responses: list[Any] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("response", lambda r: self.responses.append(r))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        # a Content-Security-Policy violation is only a console error, not a page error
        page.on(
            "console",
            lambda m: self.errors.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.on(
            "response",
            lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )

    def last_json(self, fragment: str) -> Any:
        """The JSON body of the newest response whose URL contains ``fragment``."""
        for r in reversed(self.responses):
            if fragment in r.url:
                return r.json()
        raise AssertionError(f"no response for {fragment}")

    def external_requests(self) -> list[str]:
        return [
            u
            for u in self.requests
            if not (u.startswith(self.origin) or u.startswith("data:") or u.startswith("blob:"))
        ]

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[PageProbe]:
    from backend.accounts.auth import cookie_name, issue_token

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    # signed in as the demo admin, with the session cookie the login form sets
    context.add_cookies(
        [
            {
                "name": cookie_name(),
                "value": issue_token("admin"),
                "url": live_server,
                "httpOnly": True,
                "sameSite": "Strict",
            }
        ]
    )
    probe = PageProbe(context.new_page(), live_server)
    try:
        yield probe
    finally:
        context.close()
