"""Tables of the stock-take (migration 0011_stocktake).

The ledger (账) is kept beside the surveyed register (实): rooms and their occupants as
declared, without geometry, matched later to surveyed rooms by building, floor and room
number. Buildings get what their title and the ledger add (location point, certificate
area, use, the agencies using them). Campaigns follow who has declared what.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.models import SRID, Base, _in

CAMPAIGN_STATUSES = ("not_started", "in_progress", "submitted", "verified", "returned")
STATUS_NAMES: dict[str, tuple[str, str]] = {
    "not_started": ("未填报", "Not started"),
    "in_progress": ("填报中", "In progress"),
    "submitted": ("已提交", "Submitted"),
    "verified": ("已核实", "Verified"),
    "returned": ("已退回", "Returned"),
}
STATUS_ZH = {k: v[0] for k, v in STATUS_NAMES.items()}


class BuildingLedger(Base):
    """What the ledger and the title say about a building beyond the register's columns."""

    __tablename__ = "building_ledger"

    building_id: Mapped[int] = mapped_column(
        ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True
    )
    location: Mapped[WKBElement | None] = mapped_column(
        Geometry("POINT", srid=SRID, spatial_index=True),
        comment="declared location; NULL = location missing (never an invented point)",
    )
    location_source: Mapped[str | None] = mapped_column(String(40))
    title_area_m2: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), comment="证载面积")
    use: Mapped[str | None] = mapped_column(String(60), comment="用途")
    issued_on: Mapped[dt.date | None] = mapped_column(Date, comment="发证日期")


class BuildingAgency(Base):
    """An agency using a building (使用单位)."""

    __tablename__ = "building_agencies"

    building_id: Mapped[int] = mapped_column(
        ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[int] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class LedgerRoom(Base):
    """A room as declared (账面): recorded usable area, no geometry until a plan matches it."""

    __tablename__ = "ledger_rooms"
    __table_args__ = (UniqueConstraint("building_id", "level", "number", name="uq_ledger_rooms"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    building_id: Mapped[int] = mapped_column(
        ForeignKey("buildings.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[int] = mapped_column(SmallInteger)
    number: Mapped[str] = mapped_column(String(40))
    category: Mapped[str | None] = mapped_column(String(16))
    subcategory: Mapped[str | None] = mapped_column(String(40))
    recorded_area_m2: Mapped[Decimal] = mapped_column(Numeric(14, 2), comment="账面面积")
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    region_adcode: Mapped[int] = mapped_column(Integer, index=True, comment="the building's")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class LedgerOccupant(Base):
    """Who the ledger says sits in a declared room."""

    __tablename__ = "ledger_occupants"
    __table_args__ = (UniqueConstraint("ledger_room_id", "person_id", name="uq_ledger_occupants"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ledger_room_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_rooms.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    person_id: Mapped[str] = mapped_column(String(64), comment="人员编号")
    person_name: Mapped[str | None] = mapped_column(String(80))
    post_title: Mapped[str | None] = mapped_column(String(120))
    rank_code: Mapped[str] = mapped_column(String(40))
    is_concurrent_post: Mapped[bool] = mapped_column(Boolean, server_default="false")
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    region_adcode: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class Campaign(Base):
    """A stock-take campaign (清查): a scope region and a deadline."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region_adcode: Mapped[int] = mapped_column(ForeignKey("regions.adcode"), index=True)
    deadline: Mapped[dt.date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class CampaignAgency(Base):
    """One agency's declaration in a campaign: 未填报 → 填报中 → 已提交 → 已核实 / 已退回."""

    __tablename__ = "campaign_agencies"
    __table_args__ = (
        CheckConstraint(_in("status", CAMPAIGN_STATUSES), name="ck_campaign_agencies_status"),
    )

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(16), server_default="not_started")
    reason: Mapped[str | None] = mapped_column(Text, comment="退回原因")
    signed_by: Mapped[str | None] = mapped_column(String(80))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    verified_by: Mapped[str | None] = mapped_column(String(80))
    verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
