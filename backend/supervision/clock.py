"""One clock for supervision: "today" in China Standard Time, injectable for tests.

Deadlines, overdue flags, reminders and assessments are judged by calendar day in
Asia/Shanghai. Services take ``today`` as a parameter; routes get it from :func:`today`
(a FastAPI dependency that tests override), and :func:`frozen` pins it for code that
reads the clock directly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

CST = ZoneInfo("Asia/Shanghai")
_frozen: list[dt.date] = []


def today() -> dt.date:
    """Today in China Standard Time (or the frozen day).

    >>> with frozen(dt.date(2026, 1, 2)):
    ...     today()
    datetime.date(2026, 1, 2)
    """
    if _frozen:
        return _frozen[-1]
    return dt.datetime.now(CST).date()


def now() -> dt.datetime:
    """The current instant (UTC, timezone-aware)."""
    return dt.datetime.now(dt.UTC)


def cst_date(instant: dt.datetime) -> dt.date:
    """The calendar day of an instant in China Standard Time.

    >>> cst_date(dt.datetime(2026, 1, 1, 17, 0, tzinfo=dt.UTC))
    datetime.date(2026, 1, 2)
    """
    return instant.astimezone(CST).date()


def end_of_day(day: dt.date) -> dt.datetime:
    """The first instant after ``day`` ends in China Standard Time."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=CST)


@contextmanager
def frozen(day: dt.date) -> Iterator[None]:
    """Pin :func:`today` to ``day`` inside the block (tests)."""
    _frozen.append(day)
    try:
        yield
    finally:
        _frozen.pop()
