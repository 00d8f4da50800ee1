"""Read replicas: an embedded streaming replica, and the routing of reads to replicas.

Routing: with ``OFFICEMAP_REPLICA_URLS`` set (or ``configure_replicas``), sessions asked for
by read-only routes (``backend.api.deps.ReadSessionDep``) go to a replica, round robin;
everything else — writes, and reads of a caller who wrote recently — goes to the primary.
Read-your-writes: after a write commits, the primary's WAL insert position is noted for
the writer (``note_write``; the insert position, not the write position, so a commit still
in WAL buffers under ``synchronous_commit=off`` counts too); that caller's reads go to a replica only once it has replayed past
that position (one ``pg_last_wal_replay_lsn()`` look-up), else to the primary. A replica
that cannot be reached is skipped (the primary answers). The notes are per process: a
writer whose next read lands on another worker may read a replica that is a few
milliseconds behind (the lag is reported by ``replica_lag``).

Embedded: ``officemap db replica start`` clones the embedded cluster with
``pg_basebackup -R`` (streaming, standby.signal) into ``.state/postgres-replica`` and
starts it as a hot standby on its own loopback port.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from backend.db.embedded import SUPERUSER, EmbeddedDatabaseError, EmbeddedPostgres, postgres_bindir

# ------------------------------------------------------------------ embedded replica


@dataclass
class EmbeddedReplica(EmbeddedPostgres):
    """A hot standby of ``primary`` in ``root``, fed by streaming replication."""

    primary: EmbeddedPostgres | None = None

    def init(self) -> None:
        """Clone the primary with pg_basebackup (-R writes standby.signal + primary_conninfo)."""
        assert self.primary is not None and self.primary.port is not None
        self.root.mkdir(parents=True, exist_ok=True)
        self._chown(self.root)
        shutil.copyfile(self.primary.pwfile, self.pwfile)
        os.chmod(self.pwfile, 0o600)
        self._chown(self.pwfile)
        env = {"PGPASSWORD": self.primary.password}
        proc = self._run_env(
            [
                str(postgres_bindir() / "pg_basebackup"),
                "--pgdata", str(self.datadir),
                "--host", "127.0.0.1",
                "--port", str(self.primary.port),
                "--username", SUPERUSER,
                "--write-recovery-conf",
                "--wal-method", "stream",
                "--checkpoint", "fast",
                "--no-password",
            ],
            env,
        )  # fmt: skip
        if proc.returncode != 0:
            raise EmbeddedDatabaseError(f"pg_basebackup failed: {proc.stderr.strip()}")

    def _run_env(self, args: list[str], extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
        saved = {k: os.environ.get(k) for k in extra}
        os.environ.update(extra)
        try:
            return self._run(args, capture_output=True)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def _ensure_database(self) -> None:
        """A standby is read-only: the database and PostGIS come from the primary."""


def replica_of(primary: EmbeddedPostgres, root: Path) -> EmbeddedReplica:
    return EmbeddedReplica(root=root, os_user=primary.os_user, primary=primary)


def wait_replayed(primary: Engine, replica: Engine, timeout: float = 30.0) -> None:
    """Block until ``replica`` has replayed everything ``primary`` had committed on entry."""
    with primary.connect() as conn:
        target = conn.execute(text("SELECT pg_current_wal_insert_lsn()")).scalar_one()
    deadline = time.monotonic() + timeout
    while True:
        with replica.connect() as conn:
            done = conn.execute(
                text("SELECT pg_last_wal_replay_lsn() >= CAST(:t AS pg_lsn)"), {"t": target}
            ).scalar_one()
        if done:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"replica did not replay {target} within {timeout} s")
        time.sleep(0.05)


# ------------------------------------------------------------------ routing


@dataclass
class _Replica:
    engine: Engine
    sessions: sessionmaker[Session]
    down_until: float = 0.0


_lock = threading.Lock()
_replicas: list[_Replica] = []
_rotation: itertools.cycle[_Replica] | None = None
_writes: dict[str, str] = {}  # username → the primary's WAL position after their last write
DOWN_FOR_S = 5.0


def configure_replicas(urls: Sequence[str], *, pool_size: int = 10) -> None:
    """Use these replicas for reads (an empty list: everything on the primary)."""
    global _rotation
    with _lock:
        for r in _replicas:
            r.engine.dispose()
        _replicas.clear()
        for url in urls:
            eng = create_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                connect_args={"application_name": "officemap-read", "connect_timeout": 3},
            )  # fmt: skip
            _replicas.append(_Replica(eng, sessionmaker(eng, expire_on_commit=False)))
        _rotation = itertools.cycle(_replicas) if _replicas else None
        _writes.clear()


def configured() -> bool:
    return bool(_replicas)


def _next() -> _Replica | None:
    if _rotation is None:
        return None
    now = time.monotonic()
    with _lock:
        for _ in range(len(_replicas)):
            r = next(_rotation)
            if r.down_until <= now:
                return r
    return None


def read_session(username: str | None) -> Session | None:
    """A session on a replica for this caller's read, or None (read on the primary)."""
    r = _next()
    if r is None:
        return None
    session = r.sessions()
    try:
        lsn = _writes.get(username) if username else None
        if lsn is None:
            session.connection()  # reachable? (the pool's pre-ping; no extra statement)
        else:
            caught_up = session.execute(
                text("SELECT pg_last_wal_replay_lsn() >= CAST(:t AS pg_lsn)"), {"t": lsn}
            ).scalar_one()
            if not caught_up:
                session.close()
                return None
            _writes.pop(username, None)  # type: ignore[arg-type]
        session.rollback()  # the caller begins its own transaction
        return session
    except OperationalError:
        session.close()
        r.down_until = time.monotonic() + DOWN_FOR_S
        return None


def note_write(username: str, primary: Engine) -> None:
    """After ``username``'s write committed: their reads stay on the primary until replayed."""
    if not _replicas:
        return
    with primary.connect() as conn:
        lsn = conn.execute(text("SELECT pg_current_wal_insert_lsn()")).scalar_one()
    with _lock:
        if len(_writes) >= 100_000:
            _writes.clear()
        _writes[username] = str(lsn)


def replica_lag(session: Session) -> float | None:
    """Seconds since the last replayed transaction on a replica session (None on a primary)."""
    value = session.execute(
        text(
            "SELECT CASE WHEN pg_is_in_recovery() THEN "
            "extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END"
        )
    ).scalar_one()
    return None if value is None else float(value)
