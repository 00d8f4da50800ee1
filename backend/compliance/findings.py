"""Read-only view of ``compliance_findings`` for the maps (the table is owned by compliance).

The maps work before the compliance migration lands: ``findings_table`` reports whether
the table exists (checked at most every few seconds) and callers leave findings out if not.
"""

from __future__ import annotations

import time

from sqlalchemy import Integer, Numeric, String, column, table, text
from sqlalchemy.orm import Session

FINDINGS = table(
    "compliance_findings",
    column("id", Integer),
    column("rule_code", String),
    column("object_type", String),
    column("object_id", String),
    column("room_id", Integer),
    column("floor_id", Integer),
    column("building_id", Integer),
    column("agency_id", Integer),
    column("region_adcode", Integer),
    column("excess_m2", Numeric),
    column("excess_pct", Numeric),
    column("status", String),
)

# layer group → rule codes (data_quality.* by prefix)
RULE_GROUPS: dict[str, tuple[str, ...]] = {
    "over_standard": ("office_over_standard", "agency_over_approved", "multiple_offices"),
    "idle": ("idle_room", "idle_floor"),
    "not_recovered": ("office_not_recovered",),
    "data_quality": ("data_quality.",),
    "lease": ("unapproved_lease",),
}
OVER_STANDARD_RULE = "office_over_standard"
OPEN_STATUSES = ("open", "rectifying")

_CHECK_EVERY_S = 5.0
_checked: dict[str, float | bool] = {"at": 0.0, "exists": False}


def findings_table(session: Session) -> bool:
    """Whether ``compliance_findings`` exists (cached; re-checked while it does not)."""
    if _checked["exists"]:
        return True
    now = time.monotonic()
    if now - float(_checked["at"]) < _CHECK_EVERY_S:
        return False
    exists = (
        session.execute(text("SELECT to_regclass('public.compliance_findings') IS NOT NULL"))
    ).scalar_one()
    _checked.update(at=now, exists=bool(exists))
    return bool(exists)


def forget() -> None:
    """Drop the cached answer (tests that create or drop the table)."""
    _checked.update(at=0.0, exists=False)
