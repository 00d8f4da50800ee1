"""``officemap`` command line: serve, db, demo (and room for import-plan, users, compliance)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator

from sqlalchemy import create_engine

from backend.db.embedded import EmbeddedPostgres
from backend.db.migrate import upgrade
from backend.settings import database_settings, demo_settings, server_settings, state_settings

Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, Command] = {}


def _say(msg: str) -> None:
    print(f"officemap: {msg}", file=sys.stderr, flush=True)


def embedded() -> EmbeddedPostgres:
    s = state_settings()
    return EmbeddedPostgres(root=s.dir / "postgres", os_user=s.os_user)


@contextlib.contextmanager
def database_url(*, keep_running: bool = False) -> Iterator[str]:
    """The configured database URL, or an embedded cluster's (started, stopped after)."""
    configured = database_settings().url
    if configured:
        yield configured
        return
    pg = embedded()
    was_running = pg.running()
    t0 = time.perf_counter()
    pg.start()
    if not was_running:
        _say(
            f"embedded PostgreSQL started on 127.0.0.1:{pg.port} in {time.perf_counter() - t0:.1f} s "
            f"(data in {pg.datadir})"
        )
    try:
        yield pg.url()
    finally:
        if not keep_running and not was_running:
            pg.stop()
            _say("embedded PostgreSQL stopped")


def _prepare(url: str, *, demo: bool) -> None:
    """Create or upgrade the schema; load the demo province into an empty register."""
    from backend.services.demo import load_demo, register_is_empty

    engine = create_engine(url)
    t0 = time.perf_counter()
    upgrade(engine)
    _say(f"schema up to date ({time.perf_counter() - t0:.1f} s)")
    if demo:
        with engine.begin() as conn:
            if register_is_empty(conn):
                d = demo_settings()
                _say("loading the demo province (first start)…")
                report = load_demo(
                    conn,
                    province_adcode=d.province_adcode,
                    seed=d.seed,
                    buildings=d.buildings,
                    log=_say,
                )
                _say(f"demo loaded: {report.summary()}")
        _after_demo(engine)
    engine.dispose()


def _after_demo(engine: object) -> None:
    """Hook for capabilities that derive data from the register (users, compliance)."""
    for hook in AFTER_PREPARE:
        hook(engine)


AFTER_PREPARE: list[Callable[[object], None]] = []


def command(name: str) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        COMMANDS[name] = fn
        return fn

    return register


@command("serve")
def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from backend.sessions.service import server_proxy_options

    srv = server_settings()
    host, port = args.host or srv.host, args.port or srv.port
    workers = args.workers or srv.workers
    t0 = time.perf_counter()
    with database_url() as url:
        _prepare(url, demo=not args.no_demo and demo_settings().load_on_first_start)
        _say(
            f"ready in {time.perf_counter() - t0:.1f} s — serving http://{host}:{port} "
            f"(map: /map, API docs: /docs); Ctrl-C stops"
        )
        if workers > 1:
            os.environ["OFFICEMAP_DATABASE_URL"] = url
            uvicorn.run(
                "backend.api.app:create_app",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="warning",
                **server_proxy_options(),
            )
        else:
            from backend.api.app import create_app

            uvicorn.run(
                create_app(url),
                host=host,
                port=port,
                log_level="warning",
                **server_proxy_options(),
            )
    return 0


@command("db")
def cmd_db(args: argparse.Namespace) -> int:
    if args.action == "upgrade":
        with database_url() as url:
            upgrade(create_engine(url))
            _say("schema up to date")
    elif args.action == "start":
        with database_url(keep_running=True) as url:
            print(url)
    elif args.action == "stop":
        embedded().stop()
        _say("embedded PostgreSQL stopped")
    elif args.action == "url":
        with database_url(keep_running=True) as url:
            print(url)
    return 0


@command("demo")
def cmd_demo(args: argparse.Namespace) -> int:
    from backend.services.demo import load_demo

    d = demo_settings()
    with database_url() as url:
        engine = create_engine(url)
        upgrade(engine)
        with engine.begin() as conn:
            report = load_demo(
                conn,
                profile=args.profile,
                buildings=args.buildings,
                province_adcode=args.province or d.province_adcode,
                seed=args.seed or d.seed,
                with_imdf=not args.no_imdf,
                log=_say,
            )
        _say(f"demo loaded: {report.summary()}")
        _after_demo(engine)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="officemap", description="OfficeMap 办公用房一张图")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser(
        "serve", help="start the database (embedded unless configured) and the web app"
    )
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--workers", type=int)
    s.add_argument(
        "--no-demo", action="store_true", help="do not load the demo into an empty register"
    )
    d = sub.add_parser("db", help="database: upgrade the schema, start/stop the embedded cluster")
    d.add_argument("action", choices=["upgrade", "start", "stop", "url"])
    g = sub.add_parser(
        "demo", help="generate the demo (or benchmark) province into an empty register"
    )
    g.add_argument("--profile", choices=["demo", "benchmark"], default="demo")
    g.add_argument("--buildings", type=int, help="number of generated buildings")
    g.add_argument("--province", type=int, help="province adcode (default 330000 Zhejiang)")
    g.add_argument("--seed", type=int)
    g.add_argument("--no-imdf", action="store_true", help="leave out the PolyMap IMDF venue")
    for register in EXTRA_PARSERS:
        register(sub)
    return p


EXTRA_PARSERS: list[Callable[[argparse._SubParsersAction], None]] = []  # type: ignore[type-arg]


def _load_extensions() -> None:
    """Import command modules of other capabilities so they can register themselves."""
    import importlib
    import pkgutil

    import backend.commands as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"backend.commands.{mod.name}")


def main(argv: list[str] | None = None) -> int:
    _load_extensions()
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
