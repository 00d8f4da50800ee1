"""What-if scenarios (migration 0012_live): their settings and their own findings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.compliance import FindingFacts
from backend.db.models import Base


class WhatIfScenario(Base):
    """A named evaluation under another standard, a draft or another idle threshold."""

    __tablename__ = "whatif_scenarios"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    as_of: Mapped[dt.date] = mapped_column(Date)
    base_version: Mapped[str] = mapped_column(Text)
    draft: Mapped[dict[str, Any] | None] = mapped_column()
    idle_threshold_days: Mapped[int | None] = mapped_column(Integer)
    not_configured: Mapped[dict[str, Any] | None] = mapped_column()
    counts: Mapped[dict[str, Any] | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    scope: Mapped[dict[str, Any] | None] = mapped_column()


class WhatIfFinding(FindingFacts, Base):
    """A finding the scenario's rules produce (same fields as a live finding, no status)."""

    __tablename__ = "whatif_findings"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("whatif_scenarios.id", ondelete="CASCADE"), index=True
    )
