"""``officemap db …``: the schema, the embedded cluster, backups and the embedded replica."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import create_engine

from backend.commands.common import database_url, embedded, exit_with, say
from backend.commands.prepare import upgrade_and_seal
from backend.settings import database_settings, state_settings

app = typer.Typer(
    help="Database: upgrade the schema, start/stop the embedded cluster, back up, restore.\n\n"
    "数据库:升级表结构、启停内嵌集群、备份与恢复。",
    no_args_is_help=True,
)

ArchiveArg = Annotated[
    Path,
    typer.Argument(
        metavar="FILE",
        help="the archive (pg_dump custom format + original files, checksummed) 备份文件",
    ),
]


@app.command()
def upgrade() -> None:
    """Create or upgrade the schema (Alembic). 创建或升级表结构。"""
    with database_url() as url:
        engine = create_engine(url)
        upgrade_and_seal(engine)
        engine.dispose()
        say("schema up to date")


@app.command()
def start() -> None:
    """Start the embedded cluster and keep it running; print its URL. 启动内嵌数据库。"""
    with database_url(keep_running=True) as url:
        print(url)


@app.command()
def stop() -> None:
    """Stop the embedded cluster. 停止内嵌数据库。"""
    embedded().stop()
    embedded().release()
    say("embedded PostgreSQL stopped")


@app.command()
def url() -> None:
    """Print the owner's database URL (starts the embedded cluster). 输出数据库地址。"""
    with database_url(keep_running=True) as owner_url:
        print(owner_url)


@app.command()
def backup(file: ArchiveArg) -> None:
    """Write a checksummed backup: database dump and original plan files. 备份。"""
    exit_with(_backup_restore("backup", file))


@app.command()
def restore(file: ArchiveArg) -> None:
    """Verify every checksum, then restore a backup. 校验后恢复备份。"""
    exit_with(_backup_restore("restore", file))


def _backup_restore(action: str, path: Path) -> int:
    from backend.operations import backup as backups

    try:
        with database_url() as owner_url:
            if action == "backup":
                manifest = backups.backup(owner_url, path)
                rooms = manifest["counts"].get("rooms", 0)
                say(
                    f"backup written to {path}: {rooms} rooms, "
                    f"{manifest['plan_files']} original files, checksummed"
                )
            else:
                report = backups.restore(owner_url, path)
                say(
                    f"restored {path} (made {report.created_at}): "
                    f"{report.counts.get('rooms', 0)} rooms, {report.files} original files; "
                    "row counts and files match the backup"
                )
    except backups.BackupError as exc:
        say(f"db {action} failed: {exc}")
        return 1
    return 0


class ReplicaAction(enum.StrEnum):
    start = "start"
    stop = "stop"
    url = "url"


@app.command()
def replica(
    action: Annotated[
        ReplicaAction,
        typer.Argument(help="start/stop the embedded streaming replica, or print its URL"),
    ] = ReplicaAction.url,
) -> None:
    """A streaming hot standby of the embedded cluster (see Read replicas). 内嵌只读副本。"""
    exit_with(_replica(action))


def _replica(action: ReplicaAction) -> int:
    from backend.db.replica import replica_of

    if database_settings().url:
        say("a configured OFFICEMAP_DATABASE_URL: set up its replicas on that server")
        return 2
    primary = embedded()
    root = state_settings().dir / "postgres-replica"
    if action is ReplicaAction.stop:
        replica_of(primary, root).stop()
        say("embedded replica stopped")
        return 0
    primary.start()
    rep = replica_of(primary, root)
    rep.start()
    if action is ReplicaAction.start:
        say(f"replica streaming from port {primary.port}; use it with OFFICEMAP_REPLICA_URLS:")
    print(rep.url())
    return 0
