"""Standards as versioned data: read ``data/standards/manifest.json`` and load a version.

A version is the national table plus any explicitly labelled override files, with an
effective date and a source. Loaded versions are never changed in place (a change needs a
new version id), so an evaluation that names its version stays reproducible. Empty slots
stay NULL and make their rule "not configured".
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend import reference
from backend.audit import service as audit
from backend.db.compliance import StandardOfficeAllowance, StandardSetting, StandardVersion
from backend.services.errors import Conflict, InvalidInput, NotFound
from backend.settings import DATA_DIR

STANDARDS_DIR = DATA_DIR / "standards"
IDLE_THRESHOLD = "idle_threshold_days"
USABLE_COEFFICIENT_MIN = "usable_area_coefficient_min"


@dataclass
class VersionSpec:
    """One version as the manifest describes it, with its rows read from the CSV files."""

    version: str
    title: str
    effective_date: dt.date
    source: str
    manifest: dict[str, Any]
    allowances: dict[tuple[str, str], tuple[Decimal, str]] = field(default_factory=dict)
    settings: dict[str, tuple[Decimal | None, str | None, str | None]] = field(default_factory=dict)


def _decimal(value: str, where: str) -> Decimal | None:
    value = value.strip()
    if not value:
        return None
    try:
        number = Decimal(value)
    except ArithmeticError as exc:
        raise InvalidInput(f"not a number: {value!r} in {where}") from exc
    if not number.is_finite() or number < 0:
        raise InvalidInput(f"not a finite non-negative number: {value!r} in {where}")
    return number


def read_manifest(path: Path = STANDARDS_DIR / "manifest.json") -> list[VersionSpec]:
    """All versions of a manifest with their allowances and settings (overrides applied)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read standards manifest {path}: {exc}") from exc
    base = path.parent
    specs = []
    for entry in doc.get("versions", []):
        spec = VersionSpec(
            version=str(entry["version"]),
            title=str(entry["title"]),
            effective_date=dt.date.fromisoformat(entry["effective_date"]),
            source=str(entry["source"]),
            manifest=entry,
        )
        with open(base / entry["office_allowances"], encoding="utf-8") as f:
            for row in csv.DictReader(f):
                m2 = _decimal(row["max_usable_m2_per_person"], entry["office_allowances"])
                if m2 is not None:
                    spec.allowances[(row["agency_level"], row["rank_code"])] = (
                        m2,
                        f"national: {entry['office_allowances']}",
                    )
        with open(base / entry["settings"], encoding="utf-8") as f:
            for row in csv.DictReader(f):
                spec.settings[row["key"]] = (
                    _decimal(row["value"], entry["settings"]),
                    row["unit"] or None,
                    row["note"] or None,
                )
        for override in entry.get("overrides", []):
            with open(base / override, encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    value = _decimal(row["value"], override)
                    origin = f"override {override}: {row['note']}"
                    if row["kind"] == "allowance" and value is not None:
                        spec.allowances[(row["agency_level"], row["rank_code"])] = (value, origin)
                    elif row["kind"] == "setting":
                        spec.settings[row["key"]] = (value, row["unit"] or None, origin)
                    else:
                        raise InvalidInput(f"unknown override kind {row['kind']!r} in {override}")
        specs.append(spec)
    return specs


def _fingerprint(spec: VersionSpec) -> dict[str, Any]:
    return {
        "allowances": {f"{k[0]}/{k[1]}": str(v[0]) for k, v in sorted(spec.allowances.items())},
        "settings": {
            k: None if v[0] is None else str(v[0]) for k, v in sorted(spec.settings.items())
        },
    }


def load_version(
    session: Session,
    version: str,
    *,
    manifest: Path = STANDARDS_DIR / "manifest.json",
    actor: str = "system",
) -> bool:
    """Load one version into the standards tables; False if already loaded identically."""
    specs = {s.version: s for s in read_manifest(manifest)}
    if version not in specs:
        raise NotFound(f"standards version {version!r} is not in {manifest}")
    spec = specs[version]
    fingerprint = _fingerprint(spec)
    existing = session.get(StandardVersion, version)
    if existing is not None:
        if existing.manifest.get("fingerprint") == fingerprint:
            return False
        raise Conflict(
            f"standards version {version!r} is already loaded with other figures; "
            "give the new figures a new version id",
            message_zh="该版本已载入且数值不同，请使用新的版本号",
        )
    session.add(
        StandardVersion(
            version=spec.version,
            title=spec.title,
            effective_date=spec.effective_date,
            source=spec.source,
            manifest={**spec.manifest, "fingerprint": fingerprint},
            loaded_by=actor,
        )
    )
    session.flush()
    session.add_all(
        StandardOfficeAllowance(
            version=version, agency_level=level, rank_code=rank, max_usable_m2=m2, origin=origin
        )
        for (level, rank), (m2, origin) in spec.allowances.items()
    )
    session.add_all(
        StandardSetting(version=version, key=key, value=value, unit=unit, origin=origin)
        for key, (value, unit, origin) in spec.settings.items()
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="standards.load",
        object_type="standard_version",
        object_id=version,
        after={"effective_date": spec.effective_date.isoformat(), **fingerprint},
    )
    return True


def unload_version(session: Session, version: str) -> None:
    """Remove a version (only used by tests and for versions no evaluation refers to)."""
    session.execute(delete(StandardVersion).where(StandardVersion.version == version))


def resolve_version(session: Session, as_of: dt.date, version: str | None = None) -> str:
    """The named version, or the newest one in effect at ``as_of``."""
    if version is not None:
        if session.get(StandardVersion, version) is None:
            raise NotFound(
                f"standards version {version!r} is not loaded",
                message_zh="标准版本未载入",
                details={"version": version},
            )
        return version
    found = session.execute(
        select(StandardVersion.version)
        .where(StandardVersion.effective_date <= as_of)
        .order_by(StandardVersion.effective_date.desc(), StandardVersion.loaded_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    if found is None:
        raise InvalidInput(
            f"no standards version in effect on {as_of}; run `officemap standards load`",
            message_zh="尚未载入有效的标准版本",
        )
    return found


def setting(session: Session, version: str, key: str) -> Decimal | None:
    """A scalar slot of a version; None when empty ("not configured") or absent."""
    row = session.get(StandardSetting, (version, key))
    return None if row is None else row.value


def office_allowances_in_effect(session: Session, as_of: dt.date) -> dict[tuple[str, str], float]:
    """(agency level, rank) → m² per person of the standards in effect; empty when none is.

    Ranks without a configured figure (e.g. township ranks without a provincial table) are
    absent: callers show them as "not configured", never a guessed number.
    """
    try:
        version = resolve_version(session, as_of)
    except InvalidInput:
        return {}
    rows = session.execute(
        select(
            StandardOfficeAllowance.agency_level,
            StandardOfficeAllowance.rank_code,
            StandardOfficeAllowance.max_usable_m2,
        ).where(StandardOfficeAllowance.version == version)
    )
    return {(level, rank): float(m2) for level, rank, m2 in rows}


def idle_threshold_days(session: Session, as_of: dt.date) -> int | None:
    """The idle threshold (days) of the standards in effect; None when none is configured."""
    try:
        version = resolve_version(session, as_of)
    except InvalidInput:
        return None
    value = setting(session, version, IDLE_THRESHOLD)
    return None if value is None else int(value)


def rank_codes(session: Session, agency_level: str) -> frozenset[str]:
    """The rank codes an agency of this level may use: the standards' rank catalogue
    (``ranks.csv``) and any rank a loaded version gives an allowance for."""
    loaded = session.scalars(
        select(StandardOfficeAllowance.rank_code)
        .where(StandardOfficeAllowance.agency_level == agency_level)
        .distinct()
    ).all()
    catalogue = {code for level, code in reference.ranks() if level == agency_level}
    return frozenset(catalogue) | frozenset(loaded)


def check_rank(session: Session, agency_level: str, rank_code: str, *, field: str) -> None:
    """InvalidInput unless ``rank_code`` is a rank of the standards for this agency level."""
    allowed = rank_codes(session, agency_level)
    if rank_code not in allowed:
        raise InvalidInput(
            f"rank {rank_code!r} is not a rank of a {agency_level}-level agency in the standards",
            message_zh=f"职级 {rank_code} 不属于该级别单位的标准职级",
            details={"field": field, "rank_code": rank_code, "allowed": sorted(allowed)},
        )


def default_versions(specs: list[VersionSpec]) -> list[str]:
    """Versions loaded when none is named: never a labelled illustration (demo figures
    become the standard in effect only when asked for by name)."""
    return [s.version for s in specs if s.manifest.get("label") != "illustration"]


def list_versions(session: Session) -> list[dict[str, Any]]:
    """Loaded versions, newest effective first."""
    rows = session.scalars(
        select(StandardVersion).order_by(
            StandardVersion.effective_date.desc(), StandardVersion.loaded_at.desc()
        )
    ).all()
    return [
        {
            "version": v.version,
            "title": v.title,
            "effective_date": v.effective_date.isoformat(),
            "source": v.source,
            "loaded_at": v.loaded_at.isoformat() if v.loaded_at else None,
        }
        for v in rows
    ]
