"""``officemap serve``: the database (embedded unless configured) and the web app."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from backend.commands.common import (
    app_database_url,
    database_url,
    exit_with,
    missing_app_url,
    say,
    uvicorn_run,
)
from backend.commands.prepare import prepare
from backend.db import roles
from backend.settings import database_settings, demo_settings, server_settings


def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on 监听地址")] = None,
    port: Annotated[int | None, typer.Option(help="port 端口")] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes 工作进程数")] = None,
    no_demo: Annotated[
        bool,
        typer.Option(
            "--no-demo", help="do not load the demo into an empty register 不加载演示数据"
        ),
    ] = False,
) -> None:
    """Start the database (embedded unless configured) and the web app.
    启动数据库(未配置时为内嵌)和网站。"""
    exit_with(_serve(host, port, workers, no_demo=no_demo))


def _serve(host: str | None, port: int | None, workers: int | None, *, no_demo: bool) -> int:
    from backend.accounts import auth
    from backend.audit import service as audit

    srv = server_settings()
    host, port = host or srv.host, port or srv.port
    workers = workers or srv.workers
    if database_settings().url and not database_settings().app_url:
        say(missing_app_url().removeprefix("officemap: "))
        return 2
    t0 = time.perf_counter()
    with database_url() as url:
        prepare(url, demo=not no_demo and demo_settings().load_on_first_start)
        app_url = app_database_url(url)
        check = roles.check_app_role(app_url)
        if not check.ok:
            say(
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
        say(
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


def serve_app(
    host: Annotated[str, typer.Option()],
    port: Annotated[int, typer.Option()],
    workers: Annotated[int, typer.Option()] = 1,
) -> None:
    """The server itself, as ``serve`` starts it when run as root (settings from the env)."""
    if workers > 1:
        uvicorn_run(factory=True, host=host, port=port, workers=workers)
    else:
        from backend.api.app import create_app

        uvicorn_run(create_app(), host=host, port=port)


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

    # the interpreter, its installation, and the project's virtualenv as named (a checkout
    # in a 0700 folder such as mktemp's or /root would otherwise stop the server user)
    opened = _make_reachable(
        Path(sys.executable).resolve(), Path(sys.base_prefix).resolve(), Path(sys.executable)
    )
    if opened:
        say(
            "made reachable (search bit for others, as for the database folder) so that "
            f"{user} can run this Python: {', '.join(map(str, opened))}"
        )

    def demote() -> None:
        os.setgroups([])
        os.setgid(owner.pw_gid)
        os.setuid(owner.pw_uid)
        _stop_with_parent()  # after setuid: a change of credentials clears the setting

    cmd = [sys.executable, "-m", "backend.cli", "_serve-app", "--host", host, "--port", str(port)]
    cmd += ["--workers", str(workers)]
    # its own process group: Ctrl-C reaches this process only, which passes it on once
    proc = subprocess.Popen(  # noqa: S603
        cmd, env=env, preexec_fn=demote, cwd=PROJECT_ROOT, process_group=0
    )
    say(f"server process {proc.pid} runs as OS user {user} (uid {owner.pw_uid})")

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


def _stop_with_parent() -> None:
    """Ask Linux to send SIGTERM to this (child) process when its parent dies: a parent
    killed with SIGKILL must not leave the server answering on its own, holding the port
    while the next ``serve`` adopts the cluster."""
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


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
