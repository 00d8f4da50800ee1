"""What every command shares: messages, the database URL (configured or embedded), uvicorn."""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import time
from collections.abc import Iterator
from typing import Any

import typer
from sqlalchemy import Engine, create_engine

from backend.db import roles
from backend.db.embedded import EmbeddedPostgres
from backend.settings import database_settings, state_settings


def say(msg: str) -> None:
    """A progress line on stderr, prefixed ``officemap:``."""
    print(f"officemap: {msg}", file=sys.stderr, flush=True)


def exit_with(code: int) -> None:
    """End the command with ``code`` (0 returns normally)."""
    if code:
        raise typer.Exit(code)


def embedded() -> EmbeddedPostgres:
    s = state_settings()
    return EmbeddedPostgres(root=s.dir / "postgres", os_user=s.os_user)


@contextlib.contextmanager
def database_url(*, keep_running: bool = False) -> Iterator[str]:
    """The owner's (migrating role's) URL, configured or the embedded cluster's (started,
    stopped after), marked for maintenance work (``roles.maintenance_url``)."""
    configured = database_settings().url
    if configured:
        yield roles.maintenance_url(configured)
        return
    pg = embedded()
    was_running = pg.running()
    # a cluster left running by an officemap process that was killed (SIGKILL, OOM) is
    # adopted: this process stops it on exit, so no orphan outlives the next start and stop
    adopted = was_running and pg.orphaned()
    t0 = time.perf_counter()
    pg.start()
    if not was_running:
        say(
            f"embedded PostgreSQL started on 127.0.0.1:{pg.port} in {time.perf_counter() - t0:.1f} s "
            f"(data in {pg.datadir})"
        )
    elif adopted:
        say("adopted the embedded PostgreSQL left running by a killed officemap process")
    owner = not keep_running and (not was_running or adopted)
    if owner:
        pg.claim()
    elif keep_running:
        pg.release()  # started on purpose by `officemap db start`: nobody stops it
    try:
        yield roles.maintenance_url(pg.url())
    finally:
        if owner:
            pg.stop()
            pg.release()
            say("embedded PostgreSQL stopped")


@contextlib.contextmanager
def database_engine() -> Iterator[Engine]:
    """An engine on the owner's URL (``database_url``), disposed after."""
    with database_url() as url:
        engine = create_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def app_database_url(owner_url: str) -> str:
    """URL of the LOGIN role requests run as: configured, or the embedded cluster's own
    (``officemap_web``, created or re-passworded here, password in the state folder)."""
    s = database_settings()
    if s.url:
        if not s.app_url:
            raise SystemExit(missing_app_url())
        return s.app_url
    pg = embedded()
    pg.start()
    roles.ensure_app_login(owner_url, pg.app_password())
    return pg.app_url()


def missing_app_url() -> str:
    return (
        "officemap: OFFICEMAP_DATABASE_URL is set but OFFICEMAP_DATABASE_APP_URL is not.\n"
        "  Requests run as a LOGIN role that is neither owner, superuser nor BYPASSRLS, so that\n"
        "  row-level security applies to them; OFFICEMAP_DATABASE_URL (the owner) is only for\n"
        f"  migrations and maintenance. {roles.CREATE_HINT}"
    )


def uvicorn_run(app: object = None, *, factory: bool = False, **kwargs: Any) -> None:
    """uvicorn with the project's options (X-Forwarded-* only from configured proxies)."""
    import uvicorn

    from backend.sessions.service import server_proxy_options

    target: Any = "backend.api.app:create_app" if factory else app
    options: dict[str, Any] = {**server_proxy_options(), **kwargs}
    uvicorn.run(target, factory=factory, log_level="warning", **options)


def iso_date(value: str | None) -> dt.date | None:
    """A ``YYYY-MM-DD`` option value as a date (a usage error, exit 2, otherwise)."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc
