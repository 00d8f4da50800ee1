"""Supervision tables (migration 0013_supervision).

Every row holding scoped data carries ``region_adcode`` and an agency column so the scope
predicates (``backend.services.scope``) and the row-level security policies apply to it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, get_args

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.models import Base, _in
from backend.supervision.schemas import (
    CheckOutcome,
    EvidencePhase,
    InspectionKind,
    InspectionStatus,
    Measure,
    RectificationStatus,
)

INSPECTION_KINDS: tuple[str, ...] = get_args(InspectionKind)
INSPECTION_KIND_NAMES = {
    "special": ("专项检查", "Special inspection"),
    "annual": ("年度核查", "Annual verification"),
    "spot": ("抽查", "Spot check"),
    "follow_up": ("回头看", "Follow-up review"),
}
INSPECTION_STATUSES: tuple[str, ...] = get_args(InspectionStatus)
CHECK_OUTCOMES: tuple[str, ...] = get_args(CheckOutcome)
RECTIFICATION_STATUSES: tuple[str, ...] = get_args(RectificationStatus)
RECTIFICATION_STATUS_NAMES = {
    "pending": ("待整改", "To rectify"),
    "in_progress": ("整改中", "Rectifying"),
    "awaiting_verification": ("已整改待核验", "Rectified, awaiting verification"),
    "closed": ("已销号", "Closed (verified)"),
    "overdue": ("逾期", "Overdue"),
}
EVIDENCE_PHASES: tuple[str, ...] = get_args(EvidencePhase)
ACCOUNTABILITY_MEASURES: tuple[str, ...] = get_args(Measure)
ACCOUNTABILITY_MEASURE_NAMES = {
    "talk": ("约谈", "Formal talk"),
    "criticism": ("通报批评", "Public criticism"),
    "admonishment": ("诫勉", "Admonishment"),
    "organisational": ("组织处理", "Organisational measure"),
    "disciplinary": ("党纪政务处分", "Disciplinary sanction"),
    "other": ("其他", "Other"),
}


class Inspection(Base):
    """检查: a planned inspection with its scope, team, dates and sampling rule."""

    __tablename__ = "inspections"
    __table_args__ = (
        CheckConstraint(_in("kind", INSPECTION_KINDS), name="ck_inspections_kind"),
        CheckConstraint(_in("status", INSPECTION_STATUSES), name="ck_inspections_status"),
        CheckConstraint("ends_on >= starts_on", name="ck_inspections_dates"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    region_adcode: Mapped[int] = mapped_column(Integer, index=True, comment="organising region")
    scope_regions: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default="{}")
    scope_agencies: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default="{}")
    scope_buildings: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default="{}")
    team: Mapped[list[str]] = mapped_column(ARRAY(String(80)), server_default="{}")
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    sampling: Mapped[dict[str, Any] | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="planned", server_default="planned")
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class InspectionBuilding(Base):
    """A building of an inspection's sample (or of its whole scope without sampling)."""

    __tablename__ = "inspection_buildings"

    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE"), primary_key=True
    )
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), primary_key=True)
    region_adcode: Mapped[int] = mapped_column(Integer)
    agency_id: Mapped[int | None] = mapped_column(Integer)
    open_findings: Mapped[int] = mapped_column(Integer, comment="at the draw")
    weight: Mapped[float] = mapped_column(Double)
    draw_key: Mapped[float | None] = mapped_column(Double, comment="u^(1/w); NULL: no sampling")
    rank: Mapped[int] = mapped_column(Integer)


class InspectionCheck(Base):
    """现场核查: what inspectors found in one building or room, against the register."""

    __tablename__ = "inspection_checks"
    __table_args__ = (
        CheckConstraint(_in("outcome", CHECK_OUTCOMES), name="ck_checks_outcome"),
        Index("ix_checks_inspection", "inspection_id"),
        Index("ix_checks_building", "building_id"),
        Index("ix_checks_finding", "finding_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"))
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"))
    floor_id: Mapped[int | None] = mapped_column(Integer)
    room_id: Mapped[int | None] = mapped_column(BigInteger)
    region_adcode: Mapped[int] = mapped_column(Integer)
    agency_id: Mapped[int | None] = mapped_column(Integer)
    checked_on: Mapped[dt.date] = mapped_column(Date)
    inspector: Mapped[str] = mapped_column(String(80))
    measured_area_m2: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    register_area_m2: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    actual_use: Mapped[str | None] = mapped_column(String(16))
    registered_category: Mapped[str | None] = mapped_column(String(16))
    occupant_found: Mapped[str | None] = mapped_column(String(200))
    occupants_registered: Mapped[list[str] | None] = mapped_column(ARRAY(String(80)))
    lease_found: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    lease_note: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(String(2000))
    outcome: Mapped[str] = mapped_column(String(16))
    finding_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class EvidenceFile(Base):
    """An evidence file's content, kept once by sha256 (like plan originals)."""

    __tablename__ = "evidence_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Evidence(Base):
    """One attachment of an evidence file to a check or a rectification (before/after)."""

    __tablename__ = "evidence"
    __table_args__ = (
        CheckConstraint(_in("phase", EVIDENCE_PHASES), name="ck_evidence_phase"),
        CheckConstraint(
            "(check_id IS NOT NULL) <> (rectification_id IS NOT NULL)", name="ck_evidence_subject"
        ),
        Index("ix_evidence_check", "check_id"),
        Index("ix_evidence_rectification", "rectification_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("evidence_files.sha256"))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    phase: Mapped[str] = mapped_column(String(16))
    check_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspection_checks.id", ondelete="CASCADE")
    )
    rectification_id: Mapped[int | None] = mapped_column(
        ForeignKey("rectifications.id", ondelete="CASCADE")
    )
    region_adcode: Mapped[int] = mapped_column(Integer)
    agency_id: Mapped[int | None] = mapped_column(Integer)
    exif: Mapped[dict[str, Any] | None] = mapped_column()
    taken_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    lon: Mapped[float | None] = mapped_column(Double)
    lat: Mapped[float | None] = mapped_column(Double)
    note: Mapped[str | None] = mapped_column(String(500))
    uploaded_by: Mapped[str] = mapped_column(String(80))
    uploaded_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Rectification(Base):
    """整改台账 item: who rectifies a finding, how, by when, and the inspector's 销号."""

    __tablename__ = "rectifications"
    __table_args__ = (
        CheckConstraint(_in("status", RECTIFICATION_STATUSES), name="ck_rectifications_status"),
        Index("uq_rectifications_finding", "finding_id", unique=True),
        Index("ix_rectifications_agency", "responsible_agency_id"),
        Index("ix_rectifications_region", "region_adcode"),
        Index("ix_rectifications_deadline", "deadline"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    finding_id: Mapped[int] = mapped_column(
        ForeignKey("compliance_findings.id", ondelete="CASCADE")
    )
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"))
    check_id: Mapped[int | None] = mapped_column(ForeignKey("inspection_checks.id"))
    problem: Mapped[str] = mapped_column(String(1000))
    responsible_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    responsible_person: Mapped[str] = mapped_column(String(80))
    responsible_post: Mapped[str | None] = mapped_column(String(120))
    measures: Mapped[str | None] = mapped_column(String(2000))
    deadline: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(24), default="pending", server_default="pending")
    after_state: Mapped[str | None] = mapped_column(String(1000))
    not_rectified_reason: Mapped[str | None] = mapped_column(String(1000))
    verified_by: Mapped[str | None] = mapped_column(String(80))
    verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    verification_note: Mapped[str | None] = mapped_column(String(1000))
    closure_proposed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closure_proposed_evaluation_id: Mapped[int | None] = mapped_column(BigInteger)
    overdue_flagged_on: Mapped[dt.date | None] = mapped_column(Date)
    region_adcode: Mapped[int | None] = mapped_column(Integer)
    agency_id: Mapped[int | None] = mapped_column(Integer, comment="the finding's agency")
    building_id: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class AccountabilityRecord(Base):
    """问责: who was held to account, for which findings, by what measure, when, by whom."""

    __tablename__ = "accountability_records"
    __table_args__ = (
        CheckConstraint(_in("measure", ACCOUNTABILITY_MEASURES), name="ck_accountability_measure"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_name: Mapped[str] = mapped_column(String(80))
    person_post: Mapped[str | None] = mapped_column(String(120))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    region_adcode: Mapped[int] = mapped_column(Integer)
    finding_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    measure: Mapped[str] = mapped_column(String(20))
    measure_detail: Mapped[str | None] = mapped_column(String(1000))
    decided_on: Mapped[dt.date] = mapped_column(Date)
    issuing_body: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
