"""The domain's enumerations, in one place: each a ``Literal`` type (for schemas and
signatures) and the tuple of its values (for constraints, SQL and checks).

Imports nothing of ours: the database models, services and routes all take them from here.
"""

from __future__ import annotations

from typing import Literal, get_args

RegionLevel = Literal["province", "city", "county", "township"]
AgencyLevel = Literal["central", "province", "city", "county", "township"]
Ownership = Literal["owned", "leased", "borrowed"]
BuildingStatus = Literal["in_use", "partly_idle", "idle", "under_renovation", "disposed"]
SpaceCategory = Literal["office", "service", "equipment", "ancillary", "technical", "circulation"]
LeaveReason = Literal["transfer", "retirement", "left_concurrent_post", "other"]

REGION_LEVELS: tuple[str, ...] = get_args(RegionLevel)
AGENCY_LEVELS: tuple[str, ...] = get_args(AgencyLevel)
OWNERSHIP_KINDS: tuple[str, ...] = get_args(Ownership)
BUILDING_STATUSES: tuple[str, ...] = get_args(BuildingStatus)
SPACE_CATEGORIES: tuple[str, ...] = get_args(SpaceCategory)
LEAVE_REASONS: tuple[str, ...] = get_args(LeaveReason)

# Labels (Chinese, English) of the values above: exports, pages and the enumerations API
# read them here. Space categories are named by the reference data (backend.reference).
AGENCY_LEVEL_NAMES: dict[str, tuple[str, str]] = {
    "central": ("中央", "Central"),
    "province": ("省级", "Provincial"),
    "city": ("市级", "City"),
    "county": ("县级", "County"),
    "township": ("乡级", "Township"),
}
OWNERSHIP_NAMES: dict[str, tuple[str, str]] = {
    "owned": ("自有", "Owned"),
    "leased": ("租用", "Leased"),
    "borrowed": ("借用", "Borrowed"),
}
BUILDING_STATUS_NAMES: dict[str, tuple[str, str]] = {
    "in_use": ("在用", "In use"),
    "partly_idle": ("部分闲置", "Partly idle"),
    "idle": ("闲置", "Idle"),
    "under_renovation": ("维修中", "Under renovation"),
    "disposed": ("已处置", "Disposed"),
}
assert set(AGENCY_LEVEL_NAMES) == set(AGENCY_LEVELS)
assert set(OWNERSHIP_NAMES) == set(OWNERSHIP_KINDS)
assert set(BUILDING_STATUS_NAMES) == set(BUILDING_STATUSES)


def zh(names: dict[str, tuple[str, str]]) -> dict[str, str]:
    """value → Chinese label of one of the tables above.

    >>> zh(OWNERSHIP_NAMES)["leased"]
    '租用'
    """
    return {k: v[0] for k, v in names.items()}
