"""Engine and session factory, configured once at startup with the database URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

_engine: Engine | None = None
_sessionmaker: sessionmaker[Session] | None = None


def configure(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    """Create the process-wide engine for ``url`` (replacing any earlier one)."""
    global _engine, _sessionmaker
    if _engine is not None:
        _engine.dispose()
    _engine = create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, echo=echo
    )
    _sessionmaker = sessionmaker(_engine, expire_on_commit=False)
    return _engine


def engine() -> Engine:
    if _engine is None:
        raise RuntimeError("database not configured: call backend.db.session.configure(url)")
    return _engine


def new_session() -> Session:
    if _sessionmaker is None:
        raise RuntimeError("database not configured: call backend.db.session.configure(url)")
    return _sessionmaker()


@contextmanager
def transaction() -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on error."""
    with new_session() as session, session.begin():
        yield session
