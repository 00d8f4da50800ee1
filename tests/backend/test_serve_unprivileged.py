"""``officemap serve`` started as root serves as an unprivileged OS user, as the app role."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import Engine

from backend.db.embedded import free_port


def _listener_pid(port: int) -> int | None:
    """The process holding the listening TCP socket on ``port`` (from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{inode}]")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return int(proc.name)
        except OSError:
            continue
    return None


def _uids(pid: int) -> list[int]:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return [int(v) for v in line.split()[1:]]
    raise AssertionError("no Uid line")


def test_serve_as_root_runs_the_server_unprivileged(
    engine: Engine, database_url: str, app_database_url: str, audit_key: bytes, tmp_path: Path
) -> None:
    port = free_port()
    state = tmp_path / "state"
    env = dict(
        os.environ,
        OFFICEMAP_DATABASE_URL=database_url,
        OFFICEMAP_DATABASE_APP_URL=app_database_url,
        OFFICEMAP_AUDIT_KEY=audit_key.decode(),
        OFFICEMAP_STATE_DIR=str(state),
        OFFICEMAP_DATABASE_POOL_SIZE="2",
    )
    serve = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "serve", "--no-demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        pid = None
        while time.monotonic() < deadline and serve.poll() is None:
            pid = _listener_pid(port)
            if pid is not None:
                break
            time.sleep(0.2)
        assert pid is not None, serve.communicate(timeout=5) if serve.poll() is not None else ""
        uids = _uids(pid)
        assert all(u != 0 for u in uids), uids
        if os.geteuid() == 0:
            assert pid != serve.pid  # a separate, demoted server process
        else:
            assert uids[0] == os.getuid()
        # it works as that user: signs in (users row under RLS) and reads the register
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            assert http.get("/api/v1/health").status_code == 200
            token = http.post(
                "/api/v1/auth/token", data={"username": "admin", "password": "demo-admin"}
            )
            assert token.status_code == 200, token.text
            auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
            listed = http.get("/api/v1/buildings", params={"limit": 1}, headers=auth)
            assert listed.status_code == 200 and listed.json()["numberMatched"] > 0
        if os.geteuid() == 0:
            # the secrets it was handed stay root's: files it cannot read
            for name in ("auth-secret",):
                assert (state / name).stat().st_uid == 0
                assert (state / name).stat().st_mode & 0o077 == 0
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            _, err = serve.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
            _, err = serve.communicate()
    assert serve.returncode == 0, err
    assert _listener_pid(port) is None


def test_serve_refuses_an_owner_url_without_an_app_url(database_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFICEMAP_DATABASE_")} | {
        "OFFICEMAP_DATABASE_URL": database_url,
        "OFFICEMAP_STATE_DIR": str(tmp_path),
    }
    r = subprocess.run(
        [sys.executable, "-m", "backend.cli", "serve", "--no-demo", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert "OFFICEMAP_DATABASE_APP_URL" in r.stderr and "CREATE ROLE" in r.stderr


def test_serve_refuses_to_run_requests_as_a_superuser(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    env = dict(
        os.environ,
        OFFICEMAP_DATABASE_URL=database_url,
        OFFICEMAP_DATABASE_APP_URL=database_url,  # the owner, a superuser: refused
        OFFICEMAP_STATE_DIR=str(tmp_path),
    )
    r = subprocess.run(
        [sys.executable, "-m", "backend.cli", "serve", "--no-demo", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert r.returncode == 2, r.stderr
    assert "refusing to serve" in r.stderr and "superuser" in r.stderr
