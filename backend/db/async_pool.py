"""The lean read path: an asyncio psycopg pool and a ``Reader`` running compiled statements.

By-id reads run on event-loop connections (no thread hop, no ORM session): statements are
built once with SQLAlchemy Core, compiled to psycopg's ``%(name)s`` form with every value
bound, and sent together in one pipeline (one network round trip), prepared by the server
after first use. ``SessionReader`` runs the same statements on a SQLAlchemy session (tests
use it to read inside their rolled-back transaction).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import ClauseElement
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from backend.db import session as db_session

Statement = tuple[str, Mapping[str, Any]]

_DIALECT = psycopg_dialect()  # type: ignore[no-untyped-call]


def compile_statement(stmt: ClauseElement) -> Statement:
    """``stmt`` as psycopg SQL text and its bound parameters (values never inlined)."""
    compiled = stmt.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
    return str(compiled), dict(compiled.params)


def libpq_url(url: str) -> str:
    """A libpq connection string from a SQLAlchemy URL (``postgresql+psycopg://…``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


Row = tuple[Any, ...]


class Reader(Protocol):
    """Runs read statements in one transaction; returns each statement's first row (or None)."""

    async def fetch(self, statements: Sequence[Statement]) -> list[Row | None]: ...

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A SQLAlchemy session in a transaction, for reads that need the ORM (blocking)."""
        ...


class PoolReader:
    """The production reader: one pooled connection, one pipelined round trip.

    The pool opens on first use, inside the serving event loop, and closes with the app.
    """

    def __init__(self, url: str, *, size: int = 10) -> None:
        self._conninfo = libpq_url(url)
        self._size = size
        self._pool: AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]] | None = None
        self._lock = asyncio.Lock()

    async def _open(self) -> AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]]:
        async with self._lock:
            if self._pool is None:
                pool: AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]] = AsyncConnectionPool(
                    self._conninfo,
                    min_size=self._size,
                    max_size=self._size,
                    # autocommit: the pipeline sends its own BEGIN … COMMIT;
                    # prepare_threshold 0: server-side prepared from the first use
                    kwargs={"autocommit": True, "prepare_threshold": 0},
                    open=False,
                )
                await pool.open(wait=True)
                self._pool = pool
            return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def fetch(self, statements: Sequence[Statement]) -> list[Row | None]:
        pool = self._pool or await self._open()
        async with pool.connection() as conn, conn.pipeline():
            await conn.execute("BEGIN READ ONLY")
            cursors = [await conn.execute(sql, params) for sql, params in statements]
            await conn.execute("COMMIT")
            return [await cur.fetchone() for cur in cursors]

    @contextmanager
    def session(self) -> Iterator[Session]:
        with db_session.transaction() as s:
            yield s


class SessionReader:
    """Runs the statements on ``session``'s connection, inside its current transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def fetch(self, statements: Sequence[Statement]) -> list[Row | None]:
        self._session.flush()
        conn = self._session.connection()
        rows = [conn.exec_driver_sql(sql, dict(params)).first() for sql, params in statements]
        return [tuple(row) if row is not None else None for row in rows]

    @contextmanager
    def session(self) -> Iterator[Session]:
        yield self._session
