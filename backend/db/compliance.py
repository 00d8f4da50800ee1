"""Compliance tables: versioned standards, leases/loans, approved uses, evaluations, findings.

Standards are data: each loaded version keeps its rows, so an evaluation that names its
``standard_version`` stays reproducible after newer versions are loaded. An empty slot
(``value`` NULL) makes its rule "not configured" rather than inventing a number.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.models import Base, _in

RULE_CODES = (
    "office_over_standard",
    "agency_over_approved",
    "multiple_offices",
    "office_not_recovered",
    "idle_room",
    "idle_floor",
    "unapproved_lease",
    "data_quality.overlap",
    "data_quality.outside_floor",
    "data_quality.usable_coefficient",
    "data_quality.uncategorised",
)
FINDING_STATUSES = ("open", "rectifying", "closed")
LEASE_KINDS = ("rent_out", "lend")


class StandardVersion(Base):
    """One loaded version of the standards tables (manifest: effective date, sources)."""

    __tablename__ = "standard_versions"

    version: Mapped[str] = mapped_column(String(60), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    effective_date: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Text)
    manifest: Mapped[dict[str, Any]] = mapped_column()
    loaded_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    loaded_by: Mapped[str | None] = mapped_column(String(80))


class StandardOfficeAllowance(Base):
    """Maximum usable office area per person (m²) by agency level and rank, per version."""

    __tablename__ = "standard_office_allowances"

    version: Mapped[str] = mapped_column(
        ForeignKey("standard_versions.version", ondelete="CASCADE"), primary_key=True
    )
    agency_level: Mapped[str] = mapped_column(String(16), primary_key=True)
    rank_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    max_usable_m2: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    origin: Mapped[str] = mapped_column(
        Text, comment="national default or the labelled provincial override it came from"
    )


class StandardSetting(Base):
    """A scalar slot of a version (idle threshold, usable-area coefficient…); NULL = not configured."""

    __tablename__ = "standard_settings"

    version: Mapped[str] = mapped_column(
        ForeignKey("standard_versions.version", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    unit: Mapped[str | None] = mapped_column(String(20))
    origin: Mapped[str | None] = mapped_column(Text)


class Lease(Base):
    """出租出借: a room or a whole building rented out or lent to a third party."""

    __tablename__ = "leases"
    __table_args__ = (
        CheckConstraint(_in("kind", LEASE_KINDS), name="ck_leases_kind"),
        CheckConstraint(
            "(room_id IS NOT NULL) <> (building_id IS NOT NULL)", name="ck_leases_object"
        ),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="ck_leases_dates"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    room_id: Mapped[int | None] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), index=True
    )
    building_id: Mapped[int | None] = mapped_column(
        ForeignKey("buildings.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    counterparty: Mapped[str | None] = mapped_column(String(200))
    approved: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    approval_ref: Mapped[str | None] = mapped_column(String(120), comment="批准文号")
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(
        Integer, default=1, server_default="1", comment="added by 0012_live"
    )
    # 0016_lifecycle: the lease register of the managing office
    rent_yuan_per_year: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    area_m2: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    approval_document: Mapped[str | None] = mapped_column(Text)
    approved_by: Mapped[str | None] = mapped_column(String(80))
    approved_on: Mapped[dt.date | None] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(80))


class ApprovedUse(Base):
    """An approved use of a room or floor that is not an occupancy (keeps it from being idle)."""

    __tablename__ = "approved_uses"
    __table_args__ = (
        CheckConstraint("(room_id IS NOT NULL) <> (floor_id IS NOT NULL)", name="ck_uses_object"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="ck_uses_dates"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    room_id: Mapped[int | None] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), index=True
    )
    floor_id: Mapped[int | None] = mapped_column(
        ForeignKey("floors.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(200))
    approval_ref: Mapped[str | None] = mapped_column(String(120))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)


class ComplianceEvaluation(Base):
    """One evaluation run: full province or incremental, with the version and date used."""

    __tablename__ = "compliance_evaluations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), comment="full | incremental")
    as_of: Mapped[dt.date] = mapped_column(Date)
    standard_version: Mapped[str] = mapped_column(ForeignKey("standard_versions.version"))
    target: Mapped[dict[str, Any] | None] = mapped_column()
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    counts: Mapped[dict[str, Any] | None] = mapped_column()
    not_configured: Mapped[dict[str, Any] | None] = mapped_column()
    actor: Mapped[str | None] = mapped_column(String(80))


class FindingFacts:
    """What a rule found on one object: the columns a live finding and a what-if scenario's
    finding share (one definition; ``backend/live/models.py`` uses it too)."""

    rule_code: Mapped[str] = mapped_column(Text)
    object_type: Mapped[str] = mapped_column(Text)
    object_id: Mapped[str] = mapped_column(Text)
    room_id: Mapped[int | None] = mapped_column(BigInteger)
    floor_id: Mapped[int | None] = mapped_column(Integer)
    building_id: Mapped[int | None] = mapped_column(Integer)
    agency_id: Mapped[int | None] = mapped_column(Integer)
    region_adcode: Mapped[int | None] = mapped_column(Integer)
    measured: Mapped[Decimal | None] = mapped_column(Numeric)
    allowed: Mapped[Decimal | None] = mapped_column(Numeric)
    excess_m2: Mapped[Decimal | None] = mapped_column(Numeric)
    excess_pct: Mapped[Decimal | None] = mapped_column(Numeric)
    details: Mapped[dict[str, Any] | None] = mapped_column()


class ComplianceFinding(FindingFacts, Base):
    """One finding of one rule on one object; kept open until a re-evaluation clears it."""

    __tablename__ = "compliance_findings"
    __table_args__ = (
        CheckConstraint(_in("status", FINDING_STATUSES), name="ck_findings_status"),
        Index(
            "uq_findings_live",
            "rule_code",
            "object_type",
            "object_id",
            unique=True,
            postgresql_where=text("status <> 'closed'"),
        ),
        Index("ix_findings_rule_status", "rule_code", "status"),
        Index("ix_findings_region", "region_adcode"),
        Index("ix_findings_agency", "agency_id"),
        Index("ix_findings_building", "building_id"),
        Index("ix_findings_floor", "floor_id"),
        Index("ix_findings_room", "room_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    standard_version: Mapped[str] = mapped_column(Text)
    evaluated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text, default="open", server_default="open")
    first_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    evaluation_id: Mapped[int | None] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(
        Integer, server_default="1", comment="ETag; bumped by trigger when status/figures change"
    )
