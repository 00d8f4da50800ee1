"""Tables of reallocation: space requests, allocation plans and the public asset pool."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.models import Base

REQUEST_STATUSES = ("submitted", "planned", "executed", "cancelled")
PLAN_ROUTES = ("transfer", "swap", "rent", "build")  # 调剂 置换 租用 建设, in that order
PLAN_STATUSES = ("approved", "executed", "cancelled")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class SpaceRequest(Base):
    """用房申请: an agency's need for space — offices by rank, other rooms by category."""

    __tablename__ = "space_requests"
    __table_args__ = (
        CheckConstraint(_in("status", REQUEST_STATUSES), name="ck_space_requests_status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    region_adcode: Mapped[int] = mapped_column(
        Integer, comment="the requesting agency's region (scope of the request)"
    )
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    offices: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, comment='[{"rank_code", "count", "post_title"}]'
    )
    rooms: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, comment='[{"subcategory", "count", "area_m2"}]'
    )
    releases: Mapped[list[int]] = mapped_column(
        JSONB, default=list, comment="room ids the agency gives back (to the pool when idle)"
    )
    preferred_region_adcode: Mapped[int | None] = mapped_column(Integer)
    near_building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"))
    needed_by: Mapped[dt.date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class AllocationPlan(Base):
    """配置方案: the candidate a planner approved for a request, then executed."""

    __tablename__ = "allocation_plans"
    __table_args__ = (
        CheckConstraint(_in("route", PLAN_ROUTES), name="ck_allocation_plans_route"),
        CheckConstraint(_in("status", PLAN_STATUSES), name="ck_allocation_plans_status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("space_requests.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    region_adcode: Mapped[int] = mapped_column(Integer)
    route: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="approved")
    assignments: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, comment='[{"room_id", "rank_code", "post_title"}] (transfer/swap)'
    )
    releases: Mapped[list[int]] = mapped_column(JSONB, default=list)
    rehousing: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB,
        default=list,
        comment='swap: [{"occupancy_id", "to_room_id"}] the other agency moves into released rooms',
    )
    area_m2: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    note: Mapped[str | None] = mapped_column(Text)
    approved_by: Mapped[str] = mapped_column(String(80))
    approved_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    executed_by: Mapped[str | None] = mapped_column(String(80))
    executed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class PoolEntry(Base):
    """公物仓: space released to the managing office, offered first to every request."""

    __tablename__ = "asset_pool"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    region_adcode: Mapped[int] = mapped_column(Integer)
    released_from_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    released_on: Mapped[dt.date] = mapped_column(Date)
    taken_on: Mapped[dt.date | None] = mapped_column(Date)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("allocation_plans.id"))
    note: Mapped[str | None] = mapped_column(Text)
    released_by: Mapped[str | None] = mapped_column(String(80))
