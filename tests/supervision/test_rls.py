"""The second wall on supervision tables: officemap_app (no superuser, no BYPASSRLS) sees
the same rows as the service predicates, and nothing without a scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from backend.accounts.access import SYSTEM, Principal
from backend.services.scope import Scope
from backend.supervision import access, accountability, evidence, ledger, service
from backend.supervision.models import (
    AccountabilityRecord,
    Evidence,
    Inspection,
    InspectionCheck,
    Rectification,
)
from backend.supervision.schemas import (
    AccountabilityCreate,
    CheckCreate,
    InspectionCreate,
    RectificationCreate,
)
from tests.backend.test_audit_rls import as_app_role
from tests.supervision.helpers import TODAY, jpeg, other_county, over_standard_world

TABLES = {
    "inspections": (Inspection, access.inspection_visible),
    "inspection_checks": (InspectionCheck, access.check_visible),
    "rectifications": (Rectification, access.rectification_visible),
    "evidence": (Evidence, access.evidence_visible),
    "accountability_records": (AccountabilityRecord, access.accountability_visible),
}


@pytest.fixture
def filled(db: Session) -> Any:
    w = over_standard_world(db)
    i = service.create_inspection(
        db,
        InspectionCreate(
            kind="special",
            title="t",
            region_adcode=w.county,
            scope_regions=[w.county],
            starts_on=TODAY,
            ends_on=TODAY,
        ),
        principal=SYSTEM,
    )
    c = service.record_check(
        db, i["id"], CheckCreate(building_id=w.site.building.id), principal=SYSTEM, today=TODAY
    )
    ledger.create(
        db,
        w.finding.id,
        RectificationCreate(responsible_person="张三", deadline=TODAY + dt.timedelta(days=9)),
        principal=SYSTEM,
        today=TODAY,
    )
    evidence.upload(
        db,
        data=jpeg(),
        filename="a.jpg",
        phase="before",
        check_id=None,
        finding_id=w.finding.id,
        note=None,
        principal=SYSTEM,
    )
    evidence.upload(
        db,
        data=jpeg(size=(9, 9)),
        filename="b.jpg",
        phase="check",
        check_id=c["id"],
        finding_id=None,
        note=None,
        principal=SYSTEM,
    )
    accountability.create(
        db,
        AccountabilityCreate(
            person_name="王五",
            agency_id=w.site.agency.id,
            finding_ids=[w.finding.id],
            measure="talk",
            decided_on=TODAY,
            issuing_body="纪委",
        ),
        principal=SYSTEM,
        today=TODAY,
    )
    db.flush()
    return w


def _expected(db: Session, scope: Scope) -> dict[str, int]:
    return {
        name: int(
            db.execute(select(func.count()).select_from(model).where(pred(scope))).scalar_one()
        )
        for name, (model, pred) in TABLES.items()
    }


def _seen(db: Session) -> dict[str, int]:
    return {t: int(db.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES}  # noqa: S608


def test_no_scope_sees_nothing(db: Session, filled: Any) -> None:
    assert all(n > 0 for n in _seen(db).values())
    as_app_role(db, None)
    assert set(_seen(db).values()) == {0}
    assert db.execute(text("SELECT count(*) FROM evidence_files")).scalar_one() == 0


@pytest.mark.parametrize("which", ["county", "agency", "far"])
def test_policies_match_the_service_predicates(db: Session, filled: Any, which: str) -> None:
    w = filled
    scope = {
        "county": Scope(regions=frozenset({w.county})),
        "agency": Scope(agencies=frozenset({w.site.agency.id})),
        "far": Scope(regions=frozenset({other_county(db, w.county)})),
    }[which]
    expected = _expected(db, scope)
    if which == "county":
        assert all(n > 0 for n in expected.values())
    if which == "agency":
        assert expected["rectifications"] > 0 and expected["inspections"] == 0
    as_app_role(db, scope)
    assert _seen(db) == expected
    files = db.execute(text("SELECT count(*) FROM evidence_files")).scalar_one()
    assert (files > 0) == (expected["evidence"] > 0)


def test_app_role_cannot_write_outside_its_scope(db: Session, filled: Any) -> None:
    from sqlalchemy.exc import DBAPIError

    far = other_county(db, filled.county)
    as_app_role(db, Scope(regions=frozenset({far})))
    n = db.execute(text("UPDATE rectifications SET measures = 'x'")).rowcount  # type: ignore[attr-defined]
    assert n == 0
    with pytest.raises(DBAPIError), db.begin_nested():
        db.execute(
            text(
                "INSERT INTO accountability_records (person_name, agency_id, region_adcode, "
                "finding_ids, measure, decided_on, issuing_body, created_by) "
                "VALUES ('x', :a, :r, '{}', 'talk', now(), 'x', 'x')"
            ),
            {"a": filled.site.agency.id, "r": filled.county},
        )


__all__ = ["Principal"]
