"""SQLAlchemy 2 + GeoAlchemy2 models of the register (一张图).

Geometries are stored in EPSG:4490 (CGCS2000, lon/lat axis order in the data), GiST
indexed. Areas are stored at ingest with the method and CRS used, at full precision
(``*_raw``) and rounded half-up to 0.01 m² (``*_m2``) for reporting and compliance.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backend.domain import (
    AGENCY_LEVELS,
    BUILDING_STATUSES,
    LEAVE_REASONS,
    OWNERSHIP_KINDS,
    REGION_LEVELS,
)

SRID = 4490


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSONB}


class Region(Base):
    """行政区划: province / city / county / township by 6-digit adcode."""

    __tablename__ = "regions"
    __table_args__ = (CheckConstraint(_in("level", REGION_LEVELS), name="ck_regions_level"),)

    adcode: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    parent_adcode: Mapped[int | None] = mapped_column(ForeignKey("regions.adcode"), index=True)
    boundary: Mapped[WKBElement | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True)
    )
    seat: Mapped[WKBElement | None] = mapped_column(
        Geometry("POINT", srid=SRID, spatial_index=False),
        comment="Seat of government (政府驻地) as given by the boundary source",
    )
    source: Mapped[str | None] = mapped_column(Text)


class Agency(Base):
    """单位: a Party or government agency."""

    __tablename__ = "agencies"
    __table_args__ = (CheckConstraint(_in("level", AGENCY_LEVELS), name="ck_agencies_level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    credit_code: Mapped[str | None] = mapped_column(
        String(18), unique=True, comment="统一社会信用代码"
    )
    level: Mapped[str] = mapped_column(String(16))
    region_adcode: Mapped[int] = mapped_column(ForeignKey("regions.adcode"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    approved_office_area_m2: Mapped[Decimal | None] = mapped_column(
        Numeric(14, 2), comment="核定面积 (approved office area) where an approval exists"
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class AgencyStaffing(Base):
    """编制 and actual headcount per rank of one agency."""

    __tablename__ = "agency_staffing"

    agency_id: Mapped[int] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True
    )
    rank_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    quota: Mapped[int] = mapped_column(Integer, comment="编制 (staffing quota)")
    headcount: Mapped[int] = mapped_column(Integer, comment="实有人数 (actual headcount)")


class Building(Base):
    """办公楼: footprint, address, ownership and title."""

    __tablename__ = "buildings"
    __table_args__ = (
        CheckConstraint(_in("ownership", OWNERSHIP_KINDS), name="ck_buildings_ownership"),
        CheckConstraint(_in("status", BUILDING_STATUSES), name="ck_buildings_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    region_adcode: Mapped[int] = mapped_column(ForeignKey("regions.adcode"), index=True)
    agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("agencies.id"), index=True, comment="Managing / main using agency"
    )
    footprint: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True)
    )
    ownership: Mapped[str] = mapped_column(String(16), default="owned")
    registered_owner: Mapped[str | None] = mapped_column(String(200), comment="登记权利人")
    land_certificate_no: Mapped[str | None] = mapped_column(String(64), comment="土地证号")
    building_certificate_no: Mapped[str | None] = mapped_column(String(64), comment="房屋产权证号")
    year_built: Mapped[int | None] = mapped_column(SmallInteger)
    storeys_above: Mapped[int | None] = mapped_column(SmallInteger)
    storeys_below: Mapped[int | None] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(20), default="in_use")
    footprint_area_m2: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    area_method: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Floor(Base):
    """楼层: one version of one storey's outline. A new plan makes a new version."""

    __tablename__ = "floors"
    __table_args__ = (
        Index(
            "uq_floors_current_level",
            "building_id",
            "level",
            unique=True,
            postgresql_where=text("valid_to IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    building_id: Mapped[int] = mapped_column(
        ForeignKey("buildings.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[int] = mapped_column(SmallInteger, comment="Level number; negative below ground")
    name: Mapped[str | None] = mapped_column(String(40))
    storey_height_m: Mapped[Decimal | None] = mapped_column(
        Numeric(5, 2), comment="结构层高 (structural storey height)"
    )
    outline: Mapped[WKBElement | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True)
    )
    outline_area_raw: Mapped[float | None] = mapped_column(
        Double, comment="Planar outline area at full precision (m²)"
    )
    building_area_m2: Mapped[Decimal | None] = mapped_column(
        Numeric(14, 2), comment="建筑面积 counted under the area rule, 0.01 m² half-up"
    )
    area_rule: Mapped[str | None] = mapped_column(Text)
    area_method: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    valid_from: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    valid_to: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    source_sha256: Mapped[str | None] = mapped_column(String(64))


class Room(Base):
    """房间: a polygon of one floor version, its usable area and allocated agency."""

    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    floor_id: Mapped[int] = mapped_column(ForeignKey("floors.id", ondelete="CASCADE"), index=True)
    building_id: Mapped[int] = mapped_column(
        ForeignKey("buildings.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str | None] = mapped_column(String(40))
    category: Mapped[str | None] = mapped_column(String(16), comment="space category group")
    subcategory: Mapped[str | None] = mapped_column(
        String(40), comment="code in space_categories.csv"
    )
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True)
    )
    usable_area_raw: Mapped[float] = mapped_column(Double, comment="full precision (m²)")
    usable_area_m2: Mapped[Decimal] = mapped_column(
        Numeric(14, 2), comment="使用面积, 0.01 m² half-up"
    )
    area_method: Mapped[str] = mapped_column(Text)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    region_adcode: Mapped[int] = mapped_column(
        Integer,
        server_default=FetchedValue(),
        comment="region of the room's building, kept by triggers (migration 0005)",
    )
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    version: Mapped[int] = mapped_column(
        Integer, default=1, server_default="1", comment="added by 0004_access"
    )


class Occupancy(Base):
    """Who (post / person, rank) uses which room, from when to when."""

    __tablename__ = "occupancies"
    __table_args__ = (
        CheckConstraint(
            "left_post_reason IS NULL OR " + _in("left_post_reason", LEAVE_REASONS),
            name="ck_occupancies_reason",
        ),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="ck_occupancies_dates"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    person_name: Mapped[str | None] = mapped_column(String(80))
    person_id: Mapped[str | None] = mapped_column(
        String(64), index=True, comment="Stable identifier of the person across agencies"
    )
    post_title: Mapped[str | None] = mapped_column(String(120))
    rank_code: Mapped[str] = mapped_column(String(40))
    is_concurrent_post: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    concurrent_approved: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false"
    )
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date, comment="Room vacated on")
    left_post_on: Mapped[dt.date | None] = mapped_column(
        Date, comment="Person transferred / retired / left the concurrent post on"
    )
    left_post_reason: Mapped[str | None] = mapped_column(String(24))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class AuditEvent(Base):
    """Append-only, hash-chained record of every write."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(80))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(
        String(64),
        comment="HMAC-SHA256 chain with a key kept outside the database (NULL: before 0008)",
    )
