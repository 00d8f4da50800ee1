"""Time in the register: "today" in China Standard Time and "active on day D". One home.

The province keeps its register in China Standard Time (Asia/Shanghai, UTC+8, no daylight
saving): a day starts at 00:00 CST, whatever the server's or the database's time zone.

Active on day D. Occupancies, leases and approved uses run from ``start_date`` up to, but
not including, ``end_date``: the half-open interval ``[start_date, end_date)``. ``end_date``
is the day the room was vacated (``occupancies.end_date``: "Room vacated on"), so on that
day it is no longer occupied; an empty ``end_date`` means still running. This is the
boundary the compliance rules always used (``end_date > :as_of``: a room vacated on the
evaluation day is idle from that day, an office given back on the day is recovered), and
now every reader uses it: history's ``?as_of=``, the map aggregates, the building page and
the exports. A record with ``end_date = start_date`` was never active (zero days).

The one definition is the SQL function ``officemap_active_on(start, end, day)`` (migration
``0007_scope``; ``LANGUAGE sql IMMUTABLE``, so PostgreSQL inlines it and indexes still
apply). SQL files call it; SQLAlchemy code builds it with :func:`active_on`; Python code
that holds the dates in memory uses :func:`is_active_on`, which a test checks against the
SQL function on every boundary.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, ColumnElement, Date, func, literal

TZ = ZoneInfo("Asia/Shanghai")

# the body of officemap_active_on(start_date, end_date, day), as migration 0007 creates it
ACTIVE_ON_SQL = "start_date <= day AND (end_date IS NULL OR end_date > day)"


def now() -> dt.datetime:
    """The current time in China Standard Time (timezone-aware)."""
    return dt.datetime.now(TZ)


def today(at: dt.datetime | None = None) -> dt.date:
    """The date in China Standard Time at the instant ``at`` (default: now), never the
    server's or the database's local date.

    >>> today(dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC))  # 00:30 CST
    datetime.date(2026, 12, 1)
    """
    return (at.astimezone(TZ) if at is not None else now()).date()


def end_of_day(day: dt.date) -> dt.datetime:
    """The instant ``day`` ends in China Standard Time (the next day's 00:00 CST).

    >>> end_of_day(dt.date(2026, 1, 1)).isoformat()
    '2026-01-02T00:00:00+08:00'
    """
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=TZ)


def is_active_on(start: dt.date, end: dt.date | None, day: dt.date) -> bool:
    """Whether a record running ``[start, end)`` is active on ``day``.

    >>> d = dt.date
    >>> is_active_on(d(2025, 1, 1), d(2025, 6, 30), d(2025, 6, 29))
    True
    >>> is_active_on(d(2025, 1, 1), d(2025, 6, 30), d(2025, 6, 30))  # vacated that day
    False
    >>> is_active_on(d(2025, 1, 1), None, d(2025, 1, 1))
    True
    """
    return start <= day and (end is None or end > day)


def active_on(start: Any, end: Any, day: dt.date | Any) -> ColumnElement[bool]:
    """SQL: the record whose dates are the columns ``start``/``end`` is active on ``day``
    (a date, bound as a value, or a date-valued SQL expression)."""
    when = literal(day, Date) if isinstance(day, dt.date) else day
    expr: ColumnElement[bool] = func.officemap_active_on(start, end, when, type_=Boolean)
    return expr


__all__ = ["TZ", "ACTIVE_ON_SQL", "active_on", "end_of_day", "is_active_on", "now", "today"]


def not_ended_on(start: Any, end: Any, day: dt.date) -> ColumnElement[bool]:
    """SQL: the record is active on ``day`` or starts later (it has not ended by then):
    what a re-survey carries to a floor's new version. Built on :func:`active_on`."""
    return active_on(func.least(start, literal(day, Date)), end, day)
