"""The clock of supervision: ``backend.timekeeping`` (China Standard Time), injectable.

Deadlines, overdue flags, reminders and assessments are judged by calendar day in
Asia/Shanghai. Services take ``today`` as a parameter; routes get it from :func:`today`
(a FastAPI dependency that tests override), and :func:`frozen` pins it for code that
reads the clock directly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from backend import timekeeping

CST = timekeeping.TZ
end_of_day = timekeeping.end_of_day
_frozen: list[dt.date] = []


def today() -> dt.date:
    """Today in China Standard Time (or the frozen day).

    >>> with frozen(dt.date(2026, 1, 2)):
    ...     today()
    datetime.date(2026, 1, 2)
    """
    if _frozen:
        return _frozen[-1]
    return timekeeping.today()


def now() -> dt.datetime:
    """The current instant (timezone-aware)."""
    return timekeeping.now()


def cst_date(instant: dt.datetime) -> dt.date:
    """The calendar day of an instant in China Standard Time.

    >>> cst_date(dt.datetime(2026, 1, 1, 17, 0, tzinfo=dt.UTC))
    datetime.date(2026, 1, 2)
    """
    return timekeeping.today(instant)


@contextmanager
def frozen(day: dt.date) -> Iterator[None]:
    """Pin :func:`today` to ``day`` inside the block (tests)."""
    _frozen.append(day)
    try:
        yield
    finally:
        _frozen.pop()
