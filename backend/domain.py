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
