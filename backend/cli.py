"""``officemap`` command line: serve, db, demo (and room for import-plan, users, compliance)."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from backend.db import roles
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
        _say(
            f"embedded PostgreSQL started on 127.0.0.1:{pg.port} in {time.perf_counter() - t0:.1f} s "
            f"(data in {pg.datadir})"
        )
    elif adopted:
        _say("adopted the embedded PostgreSQL left running by a killed officemap process")
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
            _say("embedded PostgreSQL stopped")


def _prepare(url: str, *, demo: bool) -> None:
    """Create or upgrade the schema; load the demo province into an empty register."""
    from backend.demo.generator import load_demo, register_is_empty

    engine = create_engine(url)
    t0 = time.perf_counter()
    upgrade(engine)
    _seal_audit(engine)
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


def _seal_audit(engine: object) -> None:
    """Cover audit events from before the keyed chain (migration 0008) with a keyed one."""
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from backend.audit import service as audit

    assert isinstance(engine, Engine)
    with Session(engine) as session, session.begin():
        if audit.seal(session) is not None:
            _say("audit trail: events from before the keyed chain sealed by an audit.seal event")


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
    from backend.accounts import auth
    from backend.audit import service as audit

    srv = server_settings()
    host, port = args.host or srv.host, args.port or srv.port
    workers = args.workers or srv.workers
    if database_settings().url and not database_settings().app_url:
        _say(missing_app_url().removeprefix("officemap: "))
        return 2
    t0 = time.perf_counter()
    with database_url() as url:
        _prepare(url, demo=not args.no_demo and demo_settings().load_on_first_start)
        app_url = app_database_url(url)
        check = roles.check_app_role(app_url)
        if not check.ok:
            _say(
                f"refusing to serve: requests would run as {check.role}, which "
                f"{', '.join(check.problems)} (row-level security would not apply). "
                + roles.CREATE_HINT
            )
            return 2
        # secrets are read now (as root they stay readable by root only) and handed over
        secrets_env = {
            "OFFICEMAP_AUTH_SECRET": auth.signing_secret(),
            "OFFICEMAP_AUDIT_KEY": audit.audit_key().decode(),
        }
        _say(
            f"ready in {time.perf_counter() - t0:.1f} s — serving http://{host}:{port} "
            f"(map: /map, API docs: /docs) as database role {check.role}; Ctrl-C stops"
        )
        if os.geteuid() == 0:
            return _serve_unprivileged(app_url, secrets_env, host, port, workers, srv.os_user)
        if workers > 1:
            os.environ.pop("OFFICEMAP_DATABASE_URL", None)
            os.environ.update(secrets_env, OFFICEMAP_DATABASE_APP_URL=app_url)
            uvicorn_run(factory=True, host=host, port=port, workers=workers)
        else:
            from backend.api.app import create_app

            uvicorn_run(create_app(app_url), host=host, port=port)
    return 0


def uvicorn_run(app: object = None, *, factory: bool = False, **kwargs: Any) -> None:
    """uvicorn with the project's options (X-Forwarded-* only from configured proxies)."""
    import uvicorn

    from backend.sessions.service import server_proxy_options

    target: Any = "backend.api.app:create_app" if factory else app
    options: dict[str, Any] = {**server_proxy_options(), **kwargs}
    uvicorn.run(target, factory=factory, log_level="warning", **options)


def _serve_unprivileged(
    app_url: str, secrets_env: dict[str, str], host: str, port: int, workers: int, user: str
) -> int:
    """Started as root: the server runs in a child process as the unprivileged ``user``
    (created on first use); this process keeps root only to stop the embedded cluster."""
    import subprocess

    from backend.db.embedded import _ensure_os_user
    from backend.settings import PROJECT_ROOT

    owner = _ensure_os_user(user)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFICEMAP_DATABASE_")}
    env.update(
        secrets_env,
        OFFICEMAP_DATABASE_APP_URL=app_url,
        HOME="/nonexistent",
        USER=user,
        LOGNAME=user,
    )
    for key in ("OFFICEMAP_DATABASE_POOL_SIZE", "OFFICEMAP_DATABASE_ECHO"):
        if key in os.environ:
            env[key] = os.environ[key]

    opened = _make_reachable(Path(sys.executable).resolve(), Path(sys.base_prefix).resolve())
    if opened:
        _say(
            "made reachable (search bit for others, as for the database folder) so that "
            f"{user} can run this Python: {', '.join(map(str, opened))}"
        )

    def demote() -> None:
        os.setgroups([])
        os.setgid(owner.pw_gid)
        os.setuid(owner.pw_uid)

    cmd = [sys.executable, "-m", "backend.cli", "_serve-app", "--host", host, "--port", str(port)]
    cmd += ["--workers", str(workers)]
    # its own process group: Ctrl-C reaches this process only, which passes it on once
    proc = subprocess.Popen(  # noqa: S603
        cmd, env=env, preexec_fn=demote, cwd=PROJECT_ROOT, process_group=0
    )
    _say(f"server process {proc.pid} runs as OS user {user} (uid {owner.pw_uid})")

    forwarded: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        forwarded.append(signum)
        proc.send_signal(signum)

    handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, forward) for s in handled}
    try:
        code = proc.wait()
        # uvicorn ends by re-raising the signal it stopped for: that is a normal stop
        return 0 if code in (0, *(-s for s in forwarded)) else code
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=15)


def _make_reachable(*paths: Path) -> list[Path]:
    """Add the search bit for others to every parent folder of ``paths`` lacking it (an
    interpreter installed under /root, e.g. by pyenv); returns the folders changed."""
    changed = []
    for path in paths:
        for parent in path.parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)
                changed.append(parent)
    return changed


@command("_serve-app")
def cmd_serve_app(args: argparse.Namespace) -> int:
    """The server itself, as ``serve`` starts it when run as root (settings from the env)."""
    if args.workers > 1:
        uvicorn_run(factory=True, host=args.host, port=args.port, workers=args.workers)
    else:
        from backend.api.app import create_app

        uvicorn_run(create_app(), host=args.host, port=args.port)
    return 0


@command("db")
def cmd_db(args: argparse.Namespace) -> int:
    if args.action == "upgrade":
        with database_url() as url:
            engine = create_engine(url)
            upgrade(engine)
            _seal_audit(engine)
            engine.dispose()
            _say("schema up to date")
    elif args.action == "start":
        with database_url(keep_running=True) as url:
            print(url)
    elif args.action == "stop":
        embedded().stop()
        embedded().release()
        _say("embedded PostgreSQL stopped")
    elif args.action == "url":
        with database_url(keep_running=True) as url:
            print(url)
    elif args.action in ("backup", "restore"):
        return _backup_restore(args)
    elif args.action == "replica":
        return _replica(args.arg or "url")
    return 0


def _backup_restore(args: argparse.Namespace) -> int:
    from backend.operations import backup

    if not args.arg:
        _say(f"db {args.action} needs a FILE")
        return 2
    path = Path(args.arg)
    try:
        with database_url() as url:
            if args.action == "backup":
                manifest = backup.backup(url, path)
                rooms = manifest["counts"].get("rooms", 0)
                _say(
                    f"backup written to {path}: {rooms} rooms, "
                    f"{manifest['plan_files']} original files, checksummed"
                )
            else:
                report = backup.restore(url, path)
                _say(
                    f"restored {path} (made {report.created_at}): "
                    f"{report.counts.get('rooms', 0)} rooms, {report.files} original files; "
                    "row counts and files match the backup"
                )
    except backup.BackupError as exc:
        _say(f"db {args.action} failed: {exc}")
        return 1
    return 0


def _replica(action: str) -> int:
    """``officemap db replica start|stop|url``: a streaming hot standby of the embedded cluster."""
    if action not in ("start", "stop", "url"):
        _say(f"db replica {action}: choose start, stop or url")
        return 2
    from backend.db.replica import replica_of

    if database_settings().url:
        _say("a configured OFFICEMAP_DATABASE_URL: set up its replicas on that server")
        return 2
    primary = embedded()
    root = state_settings().dir / "postgres-replica"
    if action == "stop":
        replica_of(primary, root).stop()
        _say("embedded replica stopped")
        return 0
    primary.start()
    rep = replica_of(primary, root)
    rep.start()
    if action == "start":
        _say(f"replica streaming from port {primary.port}; use it with OFFICEMAP_REPLICA_URLS:")
    print(rep.url())
    return 0


@command("demo")
def cmd_demo(args: argparse.Namespace) -> int:
    from backend.demo.generator import load_demo

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
    a = sub.add_parser("_serve-app", help=argparse.SUPPRESS)
    a.add_argument("--host", required=True)
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--workers", type=int, default=1)
    d = sub.add_parser("db", help="database: upgrade the schema, start/stop the embedded cluster")
    d.add_argument(
        "action", choices=["upgrade", "start", "stop", "url", "backup", "restore", "replica"]
    )
    d.add_argument(
        "arg",
        nargs="?",
        metavar="FILE|start|stop|url",
        help="backup/restore: the archive (pg_dump custom format + original files, "
        "checksummed); replica: start/stop the embedded streaming replica, or print its URL",
    )
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
    # run as ``python -m backend.cli``: use the importable module, where the command
    # modules register themselves (not this ``__main__`` copy of it)
    from backend.cli import main as cli_main

    raise SystemExit(cli_main())
