"""Users of the register: credentials, roles and scope (region subtrees, agencies)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ARRAY, BigInteger, Boolean, DateTime, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.models import Base


class User(Base):
    """A person who signs in; admins see everything, others their scope."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(Text, comment="Argon2id")
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(20)), server_default="{}")
    regions: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), server_default="{}", comment="adcodes whose subtrees are in scope"
    )
    agencies: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default="{}")
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    token_generation: Mapped[int] = mapped_column(
        Integer, server_default="0", comment="tokens of an older generation are refused"
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class RowHistory(Base):
    """Earlier images of buildings, floors, rooms, agencies and occupancies (kept by trigger)."""

    __tablename__ = "row_history"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[int] = mapped_column(BigInteger)
    operation: Mapped[str] = mapped_column(String(1))
    valid_to: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column()
