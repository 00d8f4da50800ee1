"""Scope: which part of the register a caller may see. Enforced here, in one place.

A scope is a set of region subtrees (by adcode) and/or a set of agencies. Every list,
every object fetched by id, every tile and export filters through these predicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlalchemy.orm import QueryableAttribute

Column = ColumnElement[Any] | QueryableAttribute[Any]


def adcode_range(adcode: int) -> tuple[int, int]:
    """The adcodes of a region and all regions below it (6-digit codes nest by prefix).

    >>> adcode_range(330000), adcode_range(330100), adcode_range(330106)
    ((330000, 339999), (330100, 330199), (330106, 330106))
    """
    if adcode % 10000 == 0:
        return adcode, adcode + 9999
    if adcode % 100 == 0:
        return adcode, adcode + 99
    return adcode, adcode


@dataclass(frozen=True)
class Scope:
    """Region subtrees and agencies a caller may see; ``unrestricted`` sees everything."""

    unrestricted: bool = False
    regions: frozenset[int] = field(default_factory=frozenset)
    agencies: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def everything(cls) -> Scope:
        return cls(unrestricted=True)

    def region_predicate(self, column: Column) -> ColumnElement[bool]:
        """Rows whose region adcode lies in one of the scope's subtrees."""
        if self.unrestricted:
            return true()
        if not self.regions:
            return false()
        return or_(*(column.between(*adcode_range(a)) for a in sorted(self.regions)))

    def agency_predicate(self, column: Column) -> ColumnElement[bool]:
        if self.unrestricted:
            return true()
        if not self.agencies:
            return false()
        return column.in_(sorted(self.agencies))

    def predicate(
        self,
        region_column: Column | None,
        agency_column: Column | None,
    ) -> ColumnElement[bool]:
        """Visible if within a scoped region subtree or belonging to a scoped agency."""
        if self.unrestricted:
            return true()
        parts: list[ColumnElement[bool]] = []
        if region_column is not None and self.regions:
            parts.append(self.region_predicate(region_column))
        if agency_column is not None and self.agencies:
            parts.append(self.agency_predicate(agency_column))
        return or_(*parts) if parts else false()

    def allows_region(self, adcode: int) -> bool:
        return self.unrestricted or any(
            lo <= adcode <= hi for lo, hi in (adcode_range(a) for a in self.regions)
        )


__all__ = ["Scope", "adcode_range", "and_"]
