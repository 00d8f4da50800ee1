"""Backup and restore: one checksummed archive with the database and the stored originals.

``officemap db backup FILE`` writes a tar archive holding

- ``database.dump`` — ``pg_dump`` custom format (compressed; schema, data, PostGIS),
- ``plan_files/<sha256>`` — every stored original plan file (also inside the dump: kept
  as plain files too so an auditor can re-derive an area without restoring anything),
- ``manifest.json`` — format, time, server versions, row counts per table, the sha256 and
  size of every member,
- ``manifest.sha256`` — the sha256 of the manifest (written last).

``officemap db restore FILE`` verifies every checksum first (a damaged or altered archive
changes nothing), then drops and recreates the database, runs ``pg_restore`` in one
transaction, and checks the restored row counts and stored originals against the manifest.
The PostgreSQL client programs come from the same installation as the server (embedded
cluster) or from PATH.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import make_url

FORMAT = "officemap-backup/1"
DUMP = "database.dump"
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.sha256"
FILES_DIR = "plan_files"
# tables whose row counts are checked after a restore
COUNTED = (
    "regions",
    "agencies",
    "buildings",
    "floors",
    "rooms",
    "occupancies",
    "audit_events",
    "plan_files",
    "plan_imports",
    "users",
)


class BackupError(RuntimeError):
    """A backup or restore that could not be made or verified (nothing was changed)."""


@dataclass
class RestoreReport:
    counts: dict[str, int] = field(default_factory=dict)
    files: int = 0
    created_at: str = ""


def _bin(name: str) -> str:
    from backend.db.embedded import postgres_bindir

    try:
        candidate = postgres_bindir() / name
        if candidate.exists():
            return str(candidate)
    except Exception:  # noqa: BLE001 - fall back to PATH
        pass
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client programs")
    return found


def _libpq(url: str) -> tuple[dict[str, str], str]:
    """(environment with PG* connection settings, database name) for a SQLAlchemy URL."""
    u = make_url(url)
    env = dict(os.environ)
    env.update(
        {
            "PGHOST": u.host or "127.0.0.1",
            "PGPORT": str(u.port or 5432),
            "PGUSER": u.username or "",
            "PGDATABASE": u.database or "",
        }
    )
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    return env, u.database or ""


def _dsn(url: str, database: str | None = None) -> str:
    u = make_url(url).set(drivername="postgresql")
    if database is not None:
        u = u.set(database=database)
    return u.render_as_string(hide_password=False)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for table in COUNTED:
        exists = conn.execute("SELECT to_regclass(%s)", (f"public.{table}",)).fetchone()
        if exists and exists[0] is not None:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            out[table] = int(row.fetchone()[0])  # type: ignore[index]
    return out


def backup(url: str, target: Path) -> dict[str, Any]:
    """Write the archive ``target`` for the database at ``url``; returns the manifest."""
    env, _ = _libpq(url)
    target = Path(target)
    with tempfile.TemporaryDirectory(prefix="officemap-backup-") as tmp:
        work = Path(tmp)
        dump = work / DUMP
        # one snapshot for the dump; counts and files are read in a repeatable-read
        # transaction of their own (plan files are immutable, counts are only reported)
        proc = subprocess.run(
            [_bin("pg_dump"), "--format=custom", "--compress=6", f"--file={dump}"],
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise BackupError(f"pg_dump failed: {proc.stderr.strip()[-2000:]}")
        members: list[dict[str, Any]] = [
            {"name": DUMP, "sha256": _sha256(dump), "size": dump.stat().st_size}
        ]
        with psycopg.connect(_dsn(url)) as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            counts = _counts(conn)
            versions = conn.execute(
                "SELECT current_setting('server_version'), postgis_lib_version()"
            ).fetchone()
            (work / FILES_DIR).mkdir()
            files = 0
            if "plan_files" in counts:
                with conn.cursor(name="plan_files") as cur:
                    cur.execute("SELECT sha256, content FROM plan_files ORDER BY sha256")
                    for sha, content in cur:
                        data = bytes(content)
                        if hashlib.sha256(data).hexdigest() != sha:
                            raise BackupError(f"stored original {sha} does not match its hash")
                        (work / FILES_DIR / sha).write_bytes(data)
                        members.append(
                            {"name": f"{FILES_DIR}/{sha}", "sha256": sha, "size": len(data)}
                        )
                        files += 1
        manifest = {
            "format": FORMAT,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "server_version": versions[0] if versions else None,
            "postgis": versions[1] if versions else None,
            "counts": counts,
            "plan_files": files,
            "members": members,
        }
        manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode()
        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w") as tar:
            for m in members:
                tar.add(work / m["name"], arcname=m["name"])
            _add_bytes(tar, MANIFEST, manifest_bytes)
            _add_bytes(tar, MANIFEST_SUM, hashlib.sha256(manifest_bytes).hexdigest().encode())
        with partial.open("rb") as f:
            os.fsync(f.fileno())
        partial.replace(target)  # a crash mid-backup never leaves a truncated FILE
    return manifest


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def verify_archive(source: Path, into: Path) -> dict[str, Any]:
    """Extract ``source`` into ``into`` and check every checksum; the manifest if all agree."""
    try:
        with tarfile.open(source, "r") as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"not a readable backup archive: {exc}") from exc
    manifest_path, sum_path = into / MANIFEST, into / MANIFEST_SUM
    if not manifest_path.exists() or not sum_path.exists():
        raise BackupError("the archive has no manifest: not an OfficeMap backup")
    manifest_bytes = manifest_path.read_bytes()
    if hashlib.sha256(manifest_bytes).hexdigest() != sum_path.read_text().strip():
        raise BackupError("the manifest's checksum does not match: the archive was altered")
    manifest: dict[str, Any] = json.loads(manifest_bytes)
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    for m in manifest["members"]:
        path = into / m["name"]
        if not path.is_file() or path.stat().st_size != m["size"] or _sha256(path) != m["sha256"]:
            raise BackupError(f"{m['name']}: missing or its checksum does not match")
    return manifest


def _roles_in_dump(dump: Path, env: dict[str, str]) -> set[str]:
    """Roles the dump grants privileges to (they are cluster-wide, not in the dump)."""
    listing = subprocess.run(
        [_bin("pg_restore"), "--schema-only", "--file=-", str(dump)],
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    roles: set[str] = set()
    for line in listing.splitlines():
        if line.startswith(("GRANT ", "REVOKE ")) and " TO " in line:
            for name in line.rsplit(" TO ", 1)[1].rstrip(";").split(","):
                name = name.strip().split(" ")[0].strip('"')
                if name and name.upper() != "PUBLIC":
                    roles.add(name)
    return roles


def restore(url: str, source: Path) -> RestoreReport:
    """Replace the database at ``url`` by the archive's (verified first; checked after)."""
    env, dbname = _libpq(url)
    with tempfile.TemporaryDirectory(prefix="officemap-restore-") as tmp:
        work = Path(tmp)
        manifest = verify_archive(Path(source), work)
        maintenance = _dsn(url, "postgres")
        with psycopg.connect(maintenance, autocommit=True) as conn:
            for role in sorted(_roles_in_dump(work / DUMP, env)):
                exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
                if exists.fetchone() is None:
                    conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        proc = subprocess.run(
            [
                _bin("pg_restore"),
                "--exit-on-error",
                "--single-transaction",
                "--no-owner",
                f"--dbname={dbname}",
                str(work / DUMP),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise BackupError(f"pg_restore failed: {proc.stderr.strip()[-2000:]}")
        report = RestoreReport(created_at=str(manifest.get("created_at", "")))
        with psycopg.connect(_dsn(url)) as conn:
            report.counts = _counts(conn)
            if report.counts != manifest["counts"]:
                raise BackupError(
                    f"restored row counts {report.counts} differ from the backup's "
                    f"{manifest['counts']}"
                )
            if "plan_files" in report.counts:
                for sha, content in conn.execute("SELECT sha256, content FROM plan_files"):
                    archived = work / FILES_DIR / sha
                    if not archived.exists() or archived.read_bytes() != bytes(content):
                        raise BackupError(f"stored original {sha} differs from the archive's")
                    report.files += 1
    return report
