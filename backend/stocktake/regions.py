"""Region codes in ledgers, and a building's address checked against its declared region.

Codes come as the 6-digit adcode, the 9-digit township prefix or the 12-digit 统计用区划代码
(``330106000000`` is the county 330106; ``330106001000`` the township 330106001).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.db.models import Region


def normalise_code(value: str) -> int | None:
    """The register's key of a region code (6 digits, or 9 for a township).

    >>> [normalise_code(v) for v in ("330106", "330106000000", "330106001000", "330106001", "33")]
    [330106, 330106, 330106001, 330106001, None]
    """
    s = value.removesuffix(".0")
    if not s.isdigit():
        return None
    if len(s) == 12:
        if s[9:] != "000":  # a village committee: below the register's regions
            return None
        s = s[:6] if s[6:9] == "000" else s[:9]
    if len(s) == 6 and s[0] != "0":
        return int(s)
    if len(s) == 9 and s[0] != "0" and s[6:] != "000":
        return int(s)
    return None


def existing(session: Session, codes: set[int]) -> set[int]:
    """Which of ``codes`` are regions of the register."""
    if not codes:
        return set()
    return set(
        session.execute(select(Region.adcode).where(Region.adcode.in_(sorted(codes)))).scalars()
    )


_NAMES: dict[str, tuple[int, dict[int, tuple[str, int | None]]]] = {}


def _regions(session: Session) -> dict[int, tuple[str, int | None]]:
    """adcode → (name, parent) of every region, cached while the table keeps its size."""
    n = session.execute(select(func.count()).select_from(Region)).scalar_one()
    cached = _NAMES.get("all")
    if cached is None or cached[0] != n:
        rows = session.execute(select(Region.adcode, Region.name, Region.parent_adcode)).all()
        cached = (n, {a: (name, p) for a, name, p in rows})
        _NAMES["all"] = cached
    return cached[1]


def _lineage(regions: dict[int, tuple[str, int | None]], code: int) -> set[int]:
    out: set[int] = set()
    c: int | None = code
    while c is not None and c in regions and c not in out:
        out.add(c)
        c = regions[c][1]
    return out


def check_address(session: Session, address: str, region: int) -> list[tuple[str, str, str]]:
    """Warnings when the address names a region other than the declared one (or its line)."""
    regions = _regions(session)
    if region not in regions:
        return []
    line = _lineage(regions, region)
    named = [a for a, (name, _) in regions.items() if len(name) >= 2 and name in address]
    if not named:
        return []
    # the most specific regions named: those that are not an ancestor of another named one
    lineages = {a: _lineage(regions, a) for a in named}
    specific = [a for a in named if not any(a in lineages[b] and a != b for b in named)]
    conflicting = [a for a in specific if a not in line and region not in lineages[a]]
    if not conflicting:
        return []
    names = "、".join(regions[a][0] for a in conflicting[:3])
    return [
        (
            "address_region_mismatch",
            f"the address names {names}, not the declared region {region} {regions[region][0]}",
            f"地址中的“{names}”与所填行政区划 {region}（{regions[region][0]}）不符",
        )
    ]
