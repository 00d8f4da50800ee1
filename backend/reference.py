"""Reference data of the domain, read once from ``data/``: space categories and their
groups, the standard's rank rows, the IMDF category mapping.

The one place that reads these CSV files (standards tables are versioned and loaded by
``backend.compliance.standards``). Everything else asks here.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from backend.settings import DATA_DIR


@dataclass(frozen=True)
class SpaceCategory:
    """A subcategory of the 2014 standard (``office.staff_office``) and its group."""

    code: str
    category: str
    name_zh: str
    name_en: str
    counts_as_office_space: bool


@dataclass(frozen=True)
class CategoryGroup:
    """A category (``office``, ``service`` …) within 基本办公用房 / 附属用房 …"""

    category: str
    group_zh: str
    group_en: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Rank:
    """A rank row of the office-room standard, per agency level."""

    agency_level: str
    rank_code: str
    name_zh: str
    name_en: str
    seniority: int


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


@cache
def space_categories() -> dict[str, SpaceCategory]:
    """Subcategory code → its row (data/space_categories.csv)."""
    return {
        r["code"]: SpaceCategory(
            code=r["code"],
            category=r["category"],
            name_zh=r["name_zh"],
            name_en=r["name_en"],
            counts_as_office_space=r["counts_as_office_space"].strip().lower() == "true",
        )
        for r in _rows(DATA_DIR / "space_categories.csv")
    }


@cache
def category_groups() -> dict[str, CategoryGroup]:
    """Category code → its row (data/space_category_groups.csv)."""
    return {
        r["category"]: CategoryGroup(
            category=r["category"],
            group_zh=r["group_zh"],
            group_en=r["group_en"],
            name_zh=r["name_zh"],
            name_en=r["name_en"],
        )
        for r in _rows(DATA_DIR / "space_category_groups.csv")
    }


@cache
def category_names_zh() -> dict[str, str]:
    """Category code → its Chinese name (办公室用房 …): what exports and pages show."""
    return {c: g.name_zh for c, g in category_groups().items()}


@cache
def ranks() -> dict[tuple[str, str], Rank]:
    """(agency level, rank code) → rank row (data/standards/ranks.csv)."""
    return {
        (r["agency_level"], r["rank_code"]): Rank(
            agency_level=r["agency_level"],
            rank_code=r["rank_code"],
            name_zh=r["name_zh"],
            name_en=r["name_en"],
            seniority=int(r["seniority"]),
        )
        for r in _rows(DATA_DIR / "standards" / "ranks.csv")
    }


@cache
def imdf_category_map() -> dict[str, str | None]:
    """IMDF unit category → space subcategory code (None: deliberately unclassified)."""
    return {
        r["imdf_category"]: (r["space_code"] or None)
        for r in _rows(DATA_DIR / "imdf_category_map.csv")
    }


__all__ = [
    "category_names_zh",
    "CategoryGroup",
    "Rank",
    "SpaceCategory",
    "category_groups",
    "imdf_category_map",
    "ranks",
    "space_categories",
]
