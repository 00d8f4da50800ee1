"""Tables of the asset lifecycle (0016_lifecycle). Leases live in backend/db/compliance.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.models import Base

MAINTENANCE_STATUSES = ("requested", "approved", "rejected", "completed")
DISPOSAL_KINDS = ("transfer", "sale", "demolition", "change_of_use")
DISPOSAL_STATUSES = ("proposed", "approved", "completed", "cancelled")


class _BuildingRecord:
    """A record about one building, scoped by the building's region and managing agency."""

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    building_id: Mapped[int] = mapped_column(
        ForeignKey("buildings.id", ondelete="CASCADE"), index=True
    )
    region_adcode: Mapped[int] = mapped_column(Integer, index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class MaintenanceRequest(_BuildingRecord, Base):
    """统一维修: repair work on a building, floor or room, approved and completed."""

    __tablename__ = "maintenance_requests"

    floor_id: Mapped[int | None] = mapped_column(ForeignKey("floors.id", ondelete="SET NULL"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"))
    year: Mapped[int] = mapped_column(SmallInteger)
    work: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    cost_estimate_yuan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    contractor: Mapped[str | None] = mapped_column(String(200))
    approval_ref: Mapped[str | None] = mapped_column(String(120))
    approved_by: Mapped[str | None] = mapped_column(String(80))
    approved_on: Mapped[dt.date | None] = mapped_column(Date)
    planned_start: Mapped[dt.date | None] = mapped_column(Date)
    planned_end: Mapped[dt.date | None] = mapped_column(Date)
    cost_actual_yuan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    completed_on: Mapped[dt.date | None] = mapped_column(Date)
    evidence: Mapped[str | None] = mapped_column(Text)


class Disposal(_BuildingRecord, Base):
    """统一处置: transfer, sale, demolition or change of use of a building."""

    __tablename__ = "disposals"

    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    counterpart: Mapped[str | None] = mapped_column(String(200))
    price_yuan: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    new_use: Mapped[str | None] = mapped_column(String(200))
    approval_ref: Mapped[str | None] = mapped_column(String(120))
    approved_by: Mapped[str | None] = mapped_column(String(80))
    approved_on: Mapped[dt.date | None] = mapped_column(Date)
    completed_on: Mapped[dt.date | None] = mapped_column(Date)
    building_status_before: Mapped[str | None] = mapped_column(String(20))


class Title(_BuildingRecord, Base):
    """统一权属: the real-estate title certificate (不动产权证) of a building."""

    __tablename__ = "titles"

    certificate_no: Mapped[str] = mapped_column(String(64), comment="不动产权证号")
    certified_area_m2: Mapped[Decimal] = mapped_column(Numeric(14, 2), comment="证载面积")
    holder: Mapped[str] = mapped_column(String(200), comment="权属人")
    issued_on: Mapped[dt.date | None] = mapped_column(Date)
    document_ref: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="current")
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("titles.id"))
