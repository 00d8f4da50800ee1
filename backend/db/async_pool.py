"""The lean read path: an asyncpg pool and a ``Reader`` running precompiled statements.

By-id reads run on event-loop connections (no thread hop, no ORM session): statements are
built once with SQLAlchemy Core and compiled for asyncpg (``$n`` placeholders, every value
bound), which prepares and caches them per connection. ``SessionReader`` runs the same
statements on a SQLAlchemy session (tests use it to read inside their rolled-back
transaction).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
from sqlalchemy import Select
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from backend.db import session as db_session

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Compiled:
    """A Core statement and its asyncpg form: SQL text, parameter order, default values."""

    clause: Select[*tuple[Any, ...]]
    sql: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any]

    def args(self, values: Mapping[str, Any]) -> list[Any]:
        """Positional arguments: ``values`` by name, else the values compiled in."""
        return [values[n] if n in values else self.defaults[n] for n in self.names]


# a statement to run: the compiled statement and the values of its named parameters
Statement = tuple[Compiled, Mapping[str, Any]]


def compile_statement(stmt: Select[*tuple[Any, ...]]) -> Compiled:
    """``stmt`` compiled once for asyncpg (values bound as ``$n``, never inlined)."""
    compiled = stmt.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
    return Compiled(
        clause=stmt,
        sql=str(compiled),
        names=tuple(compiled.positiontup or ()),
        defaults=dict(compiled.params),
    )


def libpq_url(url: str) -> str:
    """A libpq connection URL from a SQLAlchemy URL (``postgresql+psycopg://…``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Reader(Protocol):
    """Runs read statements in one transaction; returns each statement's first row (or None)."""

    async def fetch(self, statements: Sequence[Statement]) -> list[Row | None]: ...

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A SQLAlchemy session in a transaction, for reads that need the ORM (blocking)."""
        ...


async def _end_transaction(conn: asyncpg.Connection) -> None:
    """Instead of asyncpg's full reset on release (a round trip each time): these connections
    keep no session state (settings are transaction-local), so only an open transaction ends."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class PoolReader:
    """The production reader: a pooled asyncpg connection, one read-only transaction.

    A single statement runs on its own (its implicit transaction: one round trip instead of
    BEGIN, statement, COMMIT); several run in one ``BEGIN READ ONLY`` transaction. The
    connections are read-only either way (``default_transaction_read_only``). The pool
    opens on first use, inside the serving event loop, and closes with the app.
    """

    def __init__(self, url: str, *, size: int = 10) -> None:
        self._dsn = libpq_url(url)
        self._size = size
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def _open(self) -> asyncpg.Pool:
        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=self._size,
                    max_size=self._size,
                    reset=_end_transaction,
                    server_settings={"default_transaction_read_only": "on"},
                )
            return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def fetch(self, statements: Sequence[Statement]) -> list[Row | None]:
        pool = self._pool or await self._open()
        rows: list[Row | None] = []
        if len(statements) == 1:
            ((compiled, values),) = statements
            async with pool.acquire() as conn:
                row = await conn.fetchrow(compiled.sql, *compiled.args(values))
            return [tuple(row) if row is not None else None]
        async with pool.acquire() as conn, conn.transaction(readonly=True):
            for compiled, values in statements:
                row = await conn.fetchrow(compiled.sql, *compiled.args(values))
                rows.append(tuple(row) if row is not None else None)
        return rows

    @contextmanager
    def session(self) -> Iterator[Session]:
        with db_session.transaction() as s:
            yield s


class SessionReader:
    """Runs the statements on ``session``, inside its current transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def fetch(self, statements: Sequence[Statement]) -> list[Row | None]:
        rows = [
            self._session.execute(compiled.clause, dict(values)).first()
            for compiled, values in statements
        ]
        return [tuple(row) if row is not None else None for row in rows]

    @contextmanager
    def session(self) -> Iterator[Session]:
        yield self._session
