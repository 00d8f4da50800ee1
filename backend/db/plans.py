"""Plan uploads: the original files (content-addressed, stored in the database so they are
transactional) and one row per import, the key of idempotent retries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.models import Base


class PlanFile(Base):
    """An uploaded original, kept by sha256 so any area can be re-derived."""

    __tablename__ = "plan_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(80))
    uploaded_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class PlanImport(Base):
    """One committed import: which file with which parameters made which floor version."""

    __tablename__ = "plan_imports"
    __table_args__ = (
        Index("ix_plan_imports_request", "request_sha256"),
        Index("ix_plan_imports_floor_latest", "building_id", "level", "id"),
        Index(
            "uq_plan_imports_idempotency_key",
            "idempotency_key",
            unique=True,
            postgresql_where="idempotency_key IS NOT NULL",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    building_id: Mapped[int] = mapped_column(
        ForeignKey("buildings.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[int] = mapped_column(SmallInteger)
    floor_id: Mapped[int] = mapped_column(ForeignKey("floors.id", ondelete="CASCADE"))
    file_sha256: Mapped[str] = mapped_column(ForeignKey("plan_files.sha256"))
    request_sha256: Mapped[str] = mapped_column(
        String(64), comment="sha256 of file + building + level + crs, mapping, georef, repair"
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(80))
    report: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    note: Mapped[str | None] = mapped_column(Text)
