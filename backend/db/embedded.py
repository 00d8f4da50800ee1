"""Embedded PostgreSQL + PostGIS cluster in the project's state folder.

The system's PostgreSQL binaries (``initdb``, ``pg_ctl``) run the cluster on a free
loopback port. PostgreSQL refuses to run as root, so as root the cluster belongs to an
unprivileged OS user (created on first use) and every server command runs as that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

DB_NAME = "officemap"
SUPERUSER = "officemap"


class EmbeddedDatabaseError(RuntimeError):
    """The embedded cluster could not be created or started."""


def postgres_bindir() -> Path:
    """Directory of the newest system PostgreSQL server binaries."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise EmbeddedDatabaseError(
        "PostgreSQL server binaries not found; run `make setup` (installs postgresql and postgis)."
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _process_identity(pid: int) -> str:
    """``pid start-time`` (start time from /proc, so a reused pid is not mistaken for the
    owner); empty when no such process runs."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return ""
    return f"{pid} {fields[19]}"


def _ensure_os_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
        )
        return pwd.getpwnam(name)


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL cluster living in ``root`` (data, socket, log, password file)."""

    root: Path
    os_user: str = "officemap"
    port: int | None = None

    def __post_init__(self) -> None:
        # server commands run with the cluster folder as working directory: paths must be absolute
        self.root = Path(self.root).resolve()

    @property
    def datadir(self) -> Path:
        return self.root / "pgdata"

    @property
    def logfile(self) -> Path:
        return self.root / "postgres.log"

    @property
    def pwfile(self) -> Path:
        return self.root / "pg-password"

    @property
    def app_pwfile(self) -> Path:
        """Password of the app's LOGIN role (``backend.db.roles.APP_LOGIN``)."""
        return self.root / "pg-app-password"

    def app_password(self) -> str:
        """The app role's password, generated on first use (readable only by this OS user)."""
        if not self.app_pwfile.exists():
            fd = os.open(self.app_pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(24) + "\n")
        return self.app_pwfile.read_text().strip()

    @property
    def portfile(self) -> Path:
        return self.root / "pg-port"

    @property
    def ownerfile(self) -> Path:
        """The process that started the cluster and stops it on exit (``pid start-time``)."""
        return self.root / "owner"

    def claim(self) -> None:
        """Record this process as the one that stops the cluster when it exits."""
        self.ownerfile.write_text(_process_identity(os.getpid()))

    def release(self) -> None:
        self.ownerfile.unlink(missing_ok=True)

    def orphaned(self) -> bool:
        """Running, but the process that owned it is gone (killed without stopping it)."""
        try:
            identity = self.ownerfile.read_text().strip()
        except OSError:
            return False  # started by ``officemap db start``: kept running on purpose
        pid = int(identity.split()[0]) if identity.split()[0].isdigit() else 0
        return pid <= 0 or _process_identity(pid) != identity

    def _owner(self) -> pwd.struct_passwd | None:
        return _ensure_os_user(self.os_user) if os.geteuid() == 0 else None

    def _run(self, args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        owner = self._owner()
        preexec = None
        env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
        if owner is not None:
            uid, gid, home = owner.pw_uid, owner.pw_gid, owner.pw_dir

            def preexec() -> None:
                os.setgid(gid)
                os.setgroups([])
                os.setuid(uid)

            env["HOME"] = home if os.path.isdir(home) else str(self.root)
            env["USER"] = env["LOGNAME"] = self.os_user
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            args, preexec_fn=preexec, env=env, text=True, cwd=self.root, **kwargs
        )

    def _chown(self, path: Path) -> None:
        owner = self._owner()
        if owner is not None:
            os.chown(path, owner.pw_uid, owner.pw_gid)

    @property
    def password(self) -> str:
        return self.pwfile.read_text().strip()

    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def init(self) -> None:
        """Create the cluster (data checksums on, password auth on loopback)."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._chown(self.root)
        # the unprivileged owner must be able to reach the state folder
        for parent in self.root.resolve().parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)
        if not self.pwfile.exists():
            self.pwfile.write_text(secrets.token_urlsafe(24) + "\n")
            os.chmod(self.pwfile, 0o600)
        self._chown(self.pwfile)
        bindir = postgres_bindir()
        proc = self._run(
            [
                str(bindir / "initdb"),
                "--pgdata",
                str(self.datadir),
                "--username",
                SUPERUSER,
                "--pwfile",
                str(self.pwfile),
                "--auth-host",
                "scram-sha-256",
                "--auth-local",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--locale",
                "C.UTF-8",
                "--data-checksums",
            ],
            capture_output=True,
        )
        if proc.returncode != 0:
            raise EmbeddedDatabaseError(f"initdb failed: {proc.stderr.strip()}")

    def running(self) -> bool:
        if not self.initialised():
            return False
        proc = self._run(
            [str(postgres_bindir() / "pg_ctl"), "status", "-D", str(self.datadir)],
            capture_output=True,
        )
        return proc.returncode == 0

    def start(self, *, fast: bool = False) -> None:
        """Start on a free loopback port (creating the cluster first if needed)."""
        if not self.initialised():
            self.init()
        if self.running():
            self.port = int(self.portfile.read_text())
            return
        self.port = self.port or free_port()
        opts = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories='{self.root}'",
            "-c max_connections=200",
            "-c shared_buffers=512MB",
            "-c work_mem=32MB",
            "-c maintenance_work_mem=512MB",
            "-c max_wal_size=4GB",
            "-c jit=off",
        ]
        if fast:  # throwaway test clusters: durability is not the point there
            opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        proc = self._run(
            [
                str(postgres_bindir() / "pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.datadir),
                "-l",
                str(self.logfile),
                "-o",
                " ".join(opts),
            ],
            capture_output=True,
        )
        if proc.returncode != 0:
            log = self.logfile.read_text()[-2000:] if self.logfile.exists() else ""
            raise EmbeddedDatabaseError(f"pg_ctl start failed: {proc.stderr.strip()}\n{log}")
        self.portfile.write_text(str(self.port))
        self._wait_ready()
        self._ensure_database()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _ensure_database(self) -> None:
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    def stop(self, mode: str = "fast") -> None:
        if self.initialised():
            self._run(
                [
                    str(postgres_bindir() / "pg_ctl"),
                    "stop",
                    "-w",
                    "-m",
                    mode,
                    "-D",
                    str(self.datadir),
                ],
                capture_output=True,
            )

    def dsn(self, dbname: str = DB_NAME) -> str:
        """libpq connection string."""
        return (
            f"host=127.0.0.1 port={self.port} dbname={dbname} "
            f"user={SUPERUSER} password={self.password}"
        )

    def url(self, dbname: str = DB_NAME) -> str:
        """SQLAlchemy URL (psycopg 3 driver)."""
        return f"postgresql+psycopg://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{dbname}"

    def app_url(self, dbname: str = DB_NAME) -> str:
        """SQLAlchemy URL of the app's LOGIN role; it exists once ``ensure_app_login`` ran."""
        from backend.db.roles import APP_LOGIN

        return (
            f"postgresql+psycopg://{APP_LOGIN}:{self.app_password()}@127.0.0.1:{self.port}/{dbname}"
        )


@contextlib.contextmanager
def running_cluster(
    root: Path, os_user: str = "officemap", *, fast: bool = False
) -> Iterator[EmbeddedPostgres]:
    """Start the cluster in ``root`` for the duration of the block, then stop it."""
    pg = EmbeddedPostgres(root=root, os_user=os_user)
    pg.start(fast=fast)
    try:
        yield pg
    finally:
        pg.stop()
