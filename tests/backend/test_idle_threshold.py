"""The idle threshold the vacancy page offers comes from the standards in effect."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.orm import Session

from backend.compliance import standards
from backend.db.compliance import StandardSetting


def test_threshold_is_the_configured_setting_and_none_when_empty(db: Session) -> None:
    today = dt.date(2026, 11, 26)
    assert standards.idle_threshold_days(db, today) == 180
    db.execute(delete(StandardSetting).where(StandardSetting.key == standards.IDLE_THRESHOLD))
    assert standards.idle_threshold_days(db, today) is None


def test_no_standards_in_effect_means_not_configured(db: Session) -> None:
    assert standards.idle_threshold_days(db, dt.date(1990, 1, 1)) is None
