"""/api/v1/enumerations: every enumeration the pages offer, with its labels.

The pages build their choices and legends from this answer, so a value or a label has one
home (backend.domain, backend.reference and the feature that owns it), never a copy in JS.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fastapi import APIRouter
from pydantic import BaseModel, Field

from backend import domain, reference
from backend.api.deps import PrincipalDep
from backend.compliance.service import MANUAL_RULE_NAMES, RULE_NAMES
from backend.live.schemas import LEVEL_NAMES as COMPARISON_LEVEL_NAMES
from backend.stocktake.models import STATUS_NAMES as CAMPAIGN_STATUS_NAMES
from backend.stocktake.service import TRANSITIONS
from backend.supervision.models import (
    ACCOUNTABILITY_MEASURE_NAMES,
    INSPECTION_KIND_NAMES,
    RECTIFICATION_STATUS_NAMES,
)

router = APIRouter(prefix="/api/v1", tags=["enumerations 代码表"])


class EnumValue(BaseModel):
    value: str
    name_zh: str
    name_en: str
    next: list[str] | None = Field(
        default=None, description="the values this one may move to (status workflows only)"
    )


def _values(
    names: Mapping[str, tuple[str, str]], next_of: Mapping[str, list[str]] | None = None
) -> list[EnumValue]:
    return [
        EnumValue(
            value=k, name_zh=zh, name_en=en, next=None if next_of is None else next_of.get(k, [])
        )
        for k, (zh, en) in names.items()
    ]


def _moves(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for a, b in pairs:
        out.setdefault(a, []).append(b)
    return out


@router.get(
    "/enumerations",
    summary="Enumerations and their labels 代码表 (levels, statuses, categories, rules …)",
)
def enumerations(principal: PrincipalDep) -> dict[str, list[EnumValue]]:
    """Each enumeration's values in order with Chinese and English names; a status workflow
    also says where each status may move (who may move it is checked on the move)."""
    categories = {c: (g.name_zh, g.name_en) for c, g in reference.category_groups().items()}
    return {
        "agency_level": _values(domain.AGENCY_LEVEL_NAMES),
        "ownership": _values(domain.OWNERSHIP_NAMES),
        "building_status": _values(domain.BUILDING_STATUS_NAMES),
        "space_category": _values(categories),
        "finding_rule": _values({**RULE_NAMES, **MANUAL_RULE_NAMES}),
        "campaign_status": _values(CAMPAIGN_STATUS_NAMES, _moves(TRANSITIONS)),
        "inspection_kind": _values(INSPECTION_KIND_NAMES),
        "rectification_status": _values(RECTIFICATION_STATUS_NAMES),
        "accountability_measure": _values(ACCOUNTABILITY_MEASURE_NAMES),
        "comparison_level": _values(COMPARISON_LEVEL_NAMES),
    }
