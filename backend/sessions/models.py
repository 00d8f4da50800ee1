"""Tables of the sessions feature (migration 0009_sessions)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.models import Base


class RevokedToken(Base):
    """A token signed out before it expires (by its ``jti``); purged once expired."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(Text, primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    revoked_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class LoginThrottle(Base):
    """Failed sign-ins of one key (a client, or a user name from a client) and its delay."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    blocked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
