"""The pilot's assessment 考核: scores per region or agency on a date, from a versioned scheme.

Each indicator is a ratio numerator / denominator computed from facts dated on or before
the end of the assessment day (China Standard Time): findings by ``first_seen_at`` and
``closed_at``, ledger items by ``created_at``, ``verified_at`` and ``deadline``, checks by
``checked_on``, floors by ``valid_from``/``valid_to``. The same facts list the objects
counted (``inputs``), so every score can be recomputed from its inputs and the scheme
(``data/assessment/``). Rows are scope-filtered like every other read.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from backend.accounts.access import Principal
from backend.db.compliance import ComplianceFinding
from backend.db.models import Agency, Building, Floor, Region, Room
from backend.services import scope as scopes
from backend.services.errors import InvalidInput, NotFound
from backend.services.scope import Scope, adcode_range
from backend.settings import DATA_DIR
from backend.supervision import clock
from backend.supervision.access import rectification_visible
from backend.supervision.models import InspectionCheck, Rectification

SCHEMES_DIR = DATA_DIR / "assessment"
LEVELS = ("province", "city", "county", "agency")
INDICATORS = (
    "stocktake_completeness",
    "over_standard_cleared",
    "idle_reused",
    "overdue_rectifications",
    "inspection_coverage",
)
OVER_STANDARD_RULES = ("office_over_standard", "agency_over_approved", "manual.over_standard")
IDLE_RULES = ("idle_room", "idle_floor")


@lru_cache
def schemes(folder: Path = SCHEMES_DIR) -> dict[str, dict[str, Any]]:
    """Every scheme version in the folder, checked."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("scheme-*.json")):
        s = json.loads(path.read_text(encoding="utf-8"))
        s["effective_date"] = dt.date.fromisoformat(s["effective_date"])
        for ind in s["indicators"]:
            if ind["code"] not in INDICATORS:
                raise ValueError(f"{path.name}: unknown indicator {ind['code']!r}")
            if ind["direction"] not in ("higher_better", "lower_better"):
                raise ValueError(f"{path.name}: bad direction in {ind['code']}")
        out[s["version"]] = s
    return out


def scheme_for(as_of: dt.date, version: str | None = None) -> dict[str, Any]:
    all_ = schemes()
    if version is not None:
        if version not in all_:
            raise NotFound(
                f"assessment scheme {version!r} not found", details={"schemes": sorted(all_)}
            )
        return all_[version]
    effective = [s for s in all_.values() if s["effective_date"] <= as_of]
    if not effective:
        raise InvalidInput(
            f"no assessment scheme in effect on {as_of}",
            message_zh="该日期没有有效的考核方案",
            details={"schemes": sorted(all_)},
        )
    return max(effective, key=lambda s: s["effective_date"])


def _key(level: str, region_col: Any, agency_col: Any, scope: Scope) -> ColumnElement[Any]:
    if level == "agency":  # only agencies the caller may see are scored (and named)
        return scopes.shown_agency(scope, agency_col)
    if level == "province":
        return (region_col // 10000) * 10000  # type: ignore[no-any-return]
    if level == "city":
        return (region_col // 100) * 100  # type: ignore[no-any-return]
    return region_col  # type: ignore[no-any-return]


def _facts(
    code: str,
    *,
    level: str,
    as_of: dt.date,
    principal: Principal,
    region: int | None,
    ind: dict[str, Any],
) -> Select[Any]:
    """(key, object kind, object id, counted in numerator, amount) rows of one indicator."""
    end = clock.end_of_day(as_of)
    scope = principal.scope
    if code in ("stocktake_completeness", "inspection_coverage"):
        key = _key(level, Building.region_adcode, Building.agency_id, scope)
        if code == "stocktake_completeness":
            hit = exists(
                select(Room.id)
                .join(Floor, Floor.id == Room.floor_id)
                .where(
                    Floor.building_id == Building.id,
                    Floor.valid_from < end,
                    or_(Floor.valid_to.is_(None), Floor.valid_to >= end),
                )
            )
        else:
            since = as_of - dt.timedelta(days=int(ind.get("window_days", 365)))
            hit = exists(
                select(InspectionCheck.id).where(
                    InspectionCheck.building_id == Building.id,
                    InspectionCheck.checked_on > since,
                    InspectionCheck.checked_on <= as_of,
                )
            )
        where = [Building.status != "disposed", scopes.buildings(scope)]
        if region is not None:
            where.append(Building.region_adcode.between(*adcode_range(region)))
        return select(
            key.label("key"),
            literal("building").label("kind"),
            Building.id.label("id"),
            hit.label("hit"),
            literal(1).label("amount"),
        ).where(*where)
    if code in ("over_standard_cleared", "idle_reused"):
        rules = OVER_STANDARD_RULES if code == "over_standard_cleared" else IDLE_RULES
        f = ComplianceFinding
        seen = func.coalesce(f.first_seen_at, f.evaluated_at)
        where = [
            f.rule_code.in_(rules),
            seen < end,
            f.excess_m2.is_not(None),
            scopes.findings(scope),
        ]
        if region is not None:
            where.append(f.region_adcode.between(*adcode_range(region)))
        return select(
            _key(level, f.region_adcode, f.agency_id, scope).label("key"),
            literal("finding").label("kind"),
            f.id.label("id"),
            and_(f.closed_at.is_not(None), f.closed_at < end).label("hit"),
            f.excess_m2.label("amount"),
        ).where(*where)
    if code == "overdue_rectifications":
        r = Rectification
        where = [
            r.created_at < end,
            or_(r.verified_at.is_(None), r.verified_at >= end),
            rectification_visible(scope),
        ]
        if region is not None:
            where.append(r.region_adcode.between(*adcode_range(region)))
        return select(
            _key(level, r.region_adcode, r.responsible_agency_id, scope).label("key"),
            literal("rectification").label("kind"),
            r.id.label("id"),
            (r.deadline < as_of).label("hit"),
            literal(1).label("amount"),
        ).where(*where)
    raise InvalidInput(f"unknown indicator {code!r}")


def _round(v: Decimal, places: str = "0.01") -> float:
    return float(v.quantize(Decimal(places), rounding=ROUND_HALF_UP))


def score_unit(indicators: list[dict[str, Any]], scheme: dict[str, Any]) -> float | None:
    """A unit's score from its indicator inputs and the scheme (the documented formula).

    >>> s = {"indicators": [{"code": "a", "weight": 60, "direction": "higher_better",
    ...       "when_no_data": "full"}, {"code": "b", "weight": 40,
    ...       "direction": "lower_better", "when_no_data": "exclude"}]}
    >>> score_unit([{"code": "a", "numerator": 1, "denominator": 4},
    ...             {"code": "b", "numerator": 0, "denominator": 0}], s)
    25.0
    """
    got = {i["code"]: i for i in indicators}
    points = Decimal(0)
    weights = Decimal(0)
    for ind in scheme["indicators"]:
        x = got.get(ind["code"])
        w = Decimal(str(ind["weight"]))
        num = Decimal(str(x["numerator"])) if x else Decimal(0)
        den = Decimal(str(x["denominator"])) if x else Decimal(0)
        if den == 0:
            if ind["when_no_data"] == "exclude":
                continue
            value = Decimal(1) if ind["direction"] == "higher_better" else Decimal(0)
        else:
            value = num / den
        earned = value if ind["direction"] == "higher_better" else 1 - value
        points += w * earned
        weights += w
    if weights == 0:
        return None
    return _round(points / weights * 100)


def _names(session: Session, level: str, keys: list[int]) -> dict[int, str]:
    if not keys:
        return {}
    if level == "agency":
        rows = session.execute(select(Agency.id, Agency.name).where(Agency.id.in_(keys)))
    else:
        rows = session.execute(select(Region.adcode, Region.name).where(Region.adcode.in_(keys)))
    return {int(k): str(n) for k, n in rows}


def compute(
    session: Session,
    *,
    principal: Principal,
    as_of: dt.date,
    level: str = "city",
    region: int | None = None,
    scheme_version: str | None = None,
) -> dict[str, Any]:
    """Scores of every unit of ``level`` the caller may see, ranked, with their inputs."""
    if level not in LEVELS:
        raise InvalidInput(f"unknown level {level!r}", details={"levels": list(LEVELS)})
    if region is not None and not principal.scope.allows_region(region):
        raise NotFound(f"region {region} not found", details={"region": region})
    scheme = scheme_for(as_of, scheme_version)
    units: dict[int, dict[str, dict[str, Any]]] = {}
    for ind in scheme["indicators"]:
        tallies = _tallies(
            session, ind, level=level, as_of=as_of, principal=principal, region=region
        )
        for key, tally in tallies.items():
            units.setdefault(key, {})[ind["code"]] = tally
    names = _names(session, level, list(units))
    results: list[dict[str, Any]] = []
    for key, by_code in units.items():
        indicators = _unit_indicators(by_code, scheme)
        results.append(
            {
                "key": key,
                "name": names.get(key),
                "score": score_unit(indicators, scheme),
                "indicators": indicators,
            }
        )
    _rank(results)
    return {
        "as_of": as_of.isoformat(),
        "level": level,
        "region": region,
        "scheme": {
            "version": scheme["version"],
            "title": scheme["title"],
            "effective_date": scheme["effective_date"].isoformat(),
            "source": scheme["source"],
            "indicators": [{k: v for k, v in ind.items()} for ind in scheme["indicators"]],
        },
        "units": results,
    }


def _tallies(
    session: Session,
    ind: dict[str, Any],
    *,
    level: str,
    as_of: dt.date,
    principal: Principal,
    region: int | None,
) -> dict[int, dict[str, Any]]:
    """Per unit: one indicator's numerator (the amounts that hit), denominator, objects."""
    facts = _facts(
        ind["code"], level=level, as_of=as_of, principal=principal, region=region, ind=ind
    ).subquery()
    rows = session.execute(
        select(
            facts.c.key,
            func.coalesce(func.sum(case((facts.c.hit, facts.c.amount), else_=0)), 0),
            func.coalesce(func.sum(facts.c.amount), 0),
            func.count(),
        )
        .where(facts.c.key.is_not(None))
        .group_by(facts.c.key)
    ).all()
    return {
        int(key): {"numerator": float(num), "denominator": float(den), "objects": int(n)}
        for key, num, den, n in rows
    }


def _unit_indicators(
    by_code: dict[str, dict[str, Any]], scheme: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every indicator of the scheme for one unit (zero where it had no objects)."""
    indicators = []
    for ind in scheme["indicators"]:
        x = by_code.get(ind["code"], {"numerator": 0.0, "denominator": 0.0, "objects": 0})
        den = Decimal(str(x["denominator"]))
        value = Decimal(str(x["numerator"])) / den if den else None
        indicators.append(
            {
                "code": ind["code"],
                "name_zh": ind["name_zh"],
                "name_en": ind["name_en"],
                "weight": ind["weight"],
                "direction": ind["direction"],
                "numerator": x["numerator"],
                "denominator": x["denominator"],
                "objects": x["objects"],
                "value": None if value is None else _round(value, "0.0001"),
            }
        )
    return indicators


def _rank(results: list[dict[str, Any]]) -> None:
    """Sort by score (unscored last, then by key) and rank competition-style (1, 2, 2, 4)."""
    scores: list[float] = [u["score"] for u in results if u["score"] is not None]

    def order(u: dict[str, Any]) -> tuple[float, int]:
        return (-(u["score"] if u["score"] is not None else -1.0), int(u["key"]))

    results.sort(key=order)
    for u in results:
        s: float | None = u["score"]
        u["rank"] = None if s is None else 1 + sum(1 for v in scores if v > s)


def inputs(
    session: Session,
    *,
    principal: Principal,
    as_of: dt.date,
    level: str,
    key: int,
    indicator: str,
    scheme_version: str | None = None,
    limit: int = 5000,
) -> dict[str, Any]:
    """The objects one indicator of one unit counted: id, in numerator, amount."""
    if level not in LEVELS:
        raise InvalidInput(f"unknown level {level!r}", details={"levels": list(LEVELS)})
    scheme = scheme_for(as_of, scheme_version)
    ind = next((i for i in scheme["indicators"] if i["code"] == indicator), None)
    if ind is None:
        raise InvalidInput(f"indicator {indicator!r} is not in scheme {scheme['version']}")
    facts = _facts(
        indicator, level=level, as_of=as_of, principal=principal, region=None, ind=ind
    ).subquery()
    rows = session.execute(
        select(facts.c.kind, facts.c.id, facts.c.hit, facts.c.amount)
        .where(facts.c.key == key)
        .order_by(facts.c.id)
        .limit(limit)
    ).all()
    return {
        "as_of": as_of.isoformat(),
        "level": level,
        "key": key,
        "indicator": indicator,
        "scheme_version": scheme["version"],
        "objects": [
            {"kind": k, "id": int(i), "in_numerator": bool(h), "amount": float(a)}
            for k, i, h, a in rows
        ],
    }


def trend(
    session: Session,
    *,
    principal: Principal,
    today: dt.date,
    level: str = "city",
    months: int = 6,
    region: int | None = None,
) -> dict[str, Any]:
    """Scores at each month's end (the current month: today) for the last ``months``."""
    days: list[dt.date] = []
    d = today
    for _ in range(months):
        days.append(d)
        d = d.replace(day=1) - dt.timedelta(days=1)
    series: dict[int, dict[str, Any]] = {}
    for day in reversed(days):
        try:
            result = compute(session, principal=principal, as_of=day, level=level, region=region)
        except InvalidInput:
            continue  # no scheme in effect then
        for u in result["units"]:
            s = series.setdefault(u["key"], {"key": u["key"], "name": u["name"], "points": []})
            s["points"].append({"as_of": day.isoformat(), "score": u["score"], "rank": u["rank"]})
    return {
        "level": level,
        "region": region,
        "series": sorted(series.values(), key=lambda s: s["key"]),
    }
