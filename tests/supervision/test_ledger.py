"""The rectification ledger: transitions with If-Match, who may do what, evidence before
销号, overdue by a frozen calendar, reminders, proposed closure, the Excel 整改台账."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from backend.db.compliance import ComplianceFinding
from backend.db.models import AuditEvent, Occupancy
from backend.supervision import ledger
from backend.supervision.models import Rectification
from tests.backend.test_compliance import AS_OF, evaluate
from tests.supervision.helpers import EVIL, TODAY, freeze, jpeg, other_county, over_standard_world

URL = "/api/v1/findings/{}/rectification"


def _put_on_ledger(client: Any, finding: int, **kw: Any) -> Any:
    body = {
        "responsible_person": "张三",
        "responsible_post": "办公室主任",
        "deadline": "2026-12-31",
    }
    r = client.post(URL.format(finding), json=body | kw)
    assert r.status_code == 201, r.text
    return r


def _patch(c: Any, finding: int, etag: str, **body: Any) -> Any:
    return c.patch(URL.format(finding), json=body, headers={"If-Match": etag})


def _evidence(c: Any, finding: int, phase: str) -> Any:
    r = c.post(
        "/api/v1/evidence",
        files={"file": ("p.jpg", jpeg(), "image/jpeg")},
        data={"phase": phase, "finding_id": str(finding)},
    )
    assert r.status_code == 201, r.text
    return r


def test_from_ledger_to_closure(client: Any, client_as: Any, app: Any, db: Session) -> None:
    freeze(app, TODAY)
    w = over_standard_world(db)
    f = w.finding.id
    inspector = client_as("inspector", regions=[330000])
    officer = client_as("agency_officer", agencies=[w.site.agency.id])
    r = _put_on_ledger(inspector, f)
    item = r.json()
    assert (item["status"], item["status_name_zh"], r.headers["ETag"]) == (
        "pending",
        "待整改",
        '"1"',
    )
    assert (
        item["problem"].startswith("办公室面积超标") and item["finding"]["status"] == "rectifying"
    )
    assert db.get(ComplianceFinding, f).status == "rectifying"  # type: ignore[union-attr]
    # the officer starts: measures needed
    assert _patch(officer, f, '"1"', status="in_progress").status_code == 422
    assert officer.patch(URL.format(f), json={"status": "in_progress"}).status_code == 428
    assert _patch(officer, f, '"0"', status="in_progress", measures="x").status_code == 412
    r = _patch(officer, f, '"1"', status="in_progress", measures="隔断缩小至18平方米")
    assert r.status_code == 200, r.text
    assert r.json()["status_name_zh"] == "整改中" and r.headers["ETag"] == '"2"'
    # an officer may not move the deadline or the person, nor skip to 已销号
    assert _patch(officer, f, '"2"', deadline="2027-06-30").status_code == 403
    assert _patch(officer, f, '"2"', responsible_person="李四").status_code == 403
    assert _patch(officer, f, '"2"', status="closed").status_code == 409
    # submitting needs after-evidence or a reason
    assert _patch(officer, f, '"2"', status="awaiting_verification").status_code == 422
    _evidence(officer, f, "before")
    _evidence(officer, f, "after")
    r = _patch(
        officer, f, '"2"', status="awaiting_verification", after_state="已隔断，实测17.9平方米"
    )
    assert r.status_code == 200 and r.json()["status_name_zh"] == "已整改待核验"
    # only an inspector closes: not the officer, not an admin
    assert _patch(officer, f, '"3"', status="closed").status_code == 403
    assert _patch(client, f, '"3"', status="closed").status_code == 403
    # sending back needs a note
    assert _patch(inspector, f, '"3"', status="in_progress").status_code == 422
    r = _patch(inspector, f, '"3"', status="closed", verification_note="现场核验属实")
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["status"], done["status_name_zh"], done["verified_by"]) == (
        "closed",
        "已销号",
        done["verified_by"],
    )
    assert (
        done["verified_by"].startswith("test-inspector") and done["finding"]["status"] == "closed"
    )
    assert db.get(ComplianceFinding, f).details["closed_by"] == "verification"  # type: ignore[union-attr]
    # closed is final
    assert _patch(inspector, f, '"4"', measures="again").status_code == 409
    assert _evidence_status(officer, f) == 409
    actions = db.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_type.in_(["rectification", "evidence"]), AuditEvent.id > 0)
        .order_by(AuditEvent.id)
    ).all()
    assert actions[-6:] == [
        "rectification.create",
        "rectification.in_progress",
        "evidence.upload",
        "evidence.upload",
        "rectification.awaiting_verification",
        "rectification.closed",
    ]


def _evidence_status(c: Any, finding: int) -> int:
    r = c.post(
        "/api/v1/evidence",
        files={"file": ("p.jpg", jpeg(), "image/jpeg")},
        data={"phase": "after", "finding_id": str(finding)},
    )
    return int(r.status_code)


def test_closing_needs_evidence(client_as: Any, app: Any, db: Session) -> None:
    freeze(app, TODAY)
    w = over_standard_world(db)
    f = w.finding.id
    inspector = client_as("inspector", regions=[330000])
    _put_on_ledger(inspector, f, measures="腾退")
    _patch(inspector, f, '"1"', status="in_progress")
    r = _patch(
        inspector, f, '"2"', status="awaiting_verification", not_rectified_reason="领导职数调整中"
    )
    assert r.status_code == 200, r.text
    r = _patch(inspector, f, '"3"', status="closed")
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    assert db.get(ComplianceFinding, f).status == "rectifying"  # type: ignore[union-attr]
    _evidence(inspector, f, "verification")
    assert _patch(inspector, f, '"3"', status="closed").status_code == 200


def test_the_old_status_patch_cannot_close_a_ledgered_finding(
    client: Any, app: Any, db: Session
) -> None:
    freeze(app, TODAY)
    w = over_standard_world(db)
    _put_on_ledger(client, w.finding.id)
    tag = client.get(f"/api/v1/compliance/findings/{w.finding.id}").headers["ETag"]
    r = client.patch(
        f"/api/v1/compliance/findings/{w.finding.id}",
        json={"status": "closed"},
        headers={"If-Match": tag},
    )
    assert r.status_code == 409
    assert db.get(ComplianceFinding, w.finding.id).status == "rectifying"  # type: ignore[union-attr]


def test_bad_ledger_input_stores_nothing(client: Any, app: Any, db: Session) -> None:
    freeze(app, TODAY)
    w = over_standard_world(db)
    f = w.finding.id
    count = lambda: db.execute(select(func.count()).select_from(Rectification)).scalar_one()  # noqa: E731
    before = count(), db.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    for body in (
        {"responsible_person": "张三", "deadline": "2026-11-30"},  # in the past
        {"responsible_person": "", "deadline": "2026-12-31"},
        {"deadline": "2026-12-31"},
        {"responsible_person": "张三", "deadline": "2026-12-31", "status": "closed"},
        {
            "responsible_person": "张三",
            "deadline": "2026-12-31",
            "responsible_agency_id": 2**31 - 1,
        },
        {"responsible_person": "张三", "deadline": "2026-12-31", "inspection_id": 2**40},
    ):
        r = client.post(URL.format(f), json=body)
        assert r.status_code in (404, 422), (body, r.text)
    assert (
        client.post(
            URL.format(2**40), json={"responsible_person": "x", "deadline": "2026-12-31"}
        ).status_code
        == 404
    )
    assert (
        count(),
        db.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
    ) == before
    _put_on_ledger(client, f)
    assert (
        client.post(
            URL.format(f), json={"responsible_person": "x", "deadline": "2026-12-31"}
        ).status_code
        == 409
    )
    assert _patch(client, f, '"1"', colour="red").status_code == 422
    assert _patch(client, f, '"1"', status="archived").status_code == 422
    assert _patch(client, f, '"1"', deadline=None).status_code == 422


def test_overdue_follows_a_frozen_calendar(client_as: Any, app: Any, db: Session) -> None:
    w = over_standard_world(db)
    w2 = over_standard_world(db)
    inspector = client_as("inspector", regions=[330000])
    freeze(app, dt.date(2026, 12, 1))
    _put_on_ledger(inspector, w.finding.id, deadline="2026-12-10", responsible_person="张三")
    _put_on_ledger(inspector, w2.finding.id, deadline="2026-12-20", responsible_person="李四")
    mine = {w.finding.id, w2.finding.id}

    def overdue() -> set[int]:
        items = inspector.get("/api/v1/rectifications?status=overdue&limit=10000").json()["items"]
        return {i["finding_id"] for i in items} & mine

    freeze(app, dt.date(2026, 12, 10))  # the deadline day itself is not late
    assert overdue() == set()
    rem = inspector.get("/api/v1/rectifications/reminders?within_days=7").json()
    zhang = [p for p in rem["people"] if p["responsible_person"] == "张三"]
    assert zhang and [x["finding_id"] for x in zhang[0]["due_soon"]] == [w.finding.id]
    assert not [p for p in rem["people"] if p["responsible_person"] == "李四"]
    freeze(app, dt.date(2026, 12, 11))
    assert overdue() == {w.finding.id}
    item = inspector.get(URL.format(w.finding.id)).json()
    assert (item["status_name_zh"], item["overdue"], item["overdue_days"]) == ("逾期", True, 1)
    rem = inspector.get("/api/v1/rectifications/reminders").json()
    zhang = [p for p in rem["people"] if p["responsible_person"] == "张三"][0]
    assert [x["finding_id"] for x in zhang["overdue"]] == [w.finding.id]
    # the daily flag: once per item, audited
    assert ledger.flag_overdue(db, today=dt.date(2026, 12, 11))["flagged"] >= 1
    assert ledger.flag_overdue(db, today=dt.date(2026, 12, 11))["flagged"] == 0
    flagged = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "rectification.overdue",
            AuditEvent.object_id == str(_rid(db, w.finding.id)),
        )
    ).all()
    assert len(flagged) == 1
    freeze(app, dt.date(2026, 12, 21))
    assert overdue() == mine
    # an inspector extends the deadline: no longer overdue, the flag is cleared
    etag = inspector.get(URL.format(w.finding.id)).headers["ETag"]
    r = _patch(inspector, w.finding.id, etag, deadline="2027-01-31")
    assert r.status_code == 200 and r.json()["overdue"] is False
    assert r.json()["overdue_flagged_on"] is None
    assert overdue() == {w2.finding.id}


def _rid(db: Session, finding: int) -> int:
    return int(
        db.scalars(select(Rectification.id).where(Rectification.finding_id == finding)).one()
    )


def test_a_finding_no_longer_produced_is_proposed_for_closure(
    client_as: Any, app: Any, db: Session
) -> None:
    freeze(app, TODAY)
    w = over_standard_world(db)
    plain = over_standard_world(db)
    inspector = client_as("inspector", regions=[330000])
    _put_on_ledger(inspector, w.finding.id, measures="调整")
    # both offices are vacated: the rule no longer produces either finding
    db.execute(delete(Occupancy).where(Occupancy.room_id.in_([w.room.id, plain.room.id])))
    result = evaluate(db, w.site, as_of=AS_OF)
    evaluate(db, plain.site, as_of=AS_OF)
    assert result.proposed_for_closure == 1
    db.refresh(w.finding)
    db.refresh(plain.finding)
    assert w.finding.status == "rectifying"  # not closed behind the inspector's back
    assert plain.finding.status == "closed"  # no ledger item: closed as before
    item = inspector.get(URL.format(w.finding.id)).json()
    assert item["closure_proposed"] is True and item["status"] == "pending"
    ev = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "compliance.evaluate",
            AuditEvent.object_id == str(result.evaluation_id),
        )
    ).first()
    assert ev is not None and ev.after["proposed_for_closure"] == 1  # type: ignore[index]
    # the inspector may close a proposed item from any open status, with evidence
    etag = f'"{item["version"]}"'
    assert _patch(inspector, w.finding.id, etag, status="closed").status_code == 409
    _evidence(inspector, w.finding.id, "verification")
    r = _patch(inspector, w.finding.id, etag, status="closed")
    assert r.status_code == 200, r.text
    assert db.get(ComplianceFinding, w.finding.id).status == "closed"  # type: ignore[union-attr]


def test_a_proposal_is_withdrawn_when_the_rule_finds_it_again(
    client_as: Any, app: Any, db: Session
) -> None:
    freeze(app, TODAY)
    w = over_standard_world(db)
    inspector = client_as("inspector", regions=[330000])
    _put_on_ledger(inspector, w.finding.id)
    occ = db.scalars(select(Occupancy).where(Occupancy.room_id == w.room.id)).one()
    occ.end_date = dt.date(2026, 1, 1)
    evaluate(db, w.site, as_of=AS_OF)
    assert inspector.get(URL.format(w.finding.id)).json()["closure_proposed"] is True
    occ.end_date = None
    evaluate(db, w.site, as_of=AS_OF)
    item = inspector.get(URL.format(w.finding.id)).json()
    assert item["closure_proposed"] is False and item["finding"]["status"] == "rectifying"


def test_ledger_as_an_attacker(client_as: Any, app: Any, db: Session) -> None:
    freeze(app, TODAY)
    w = over_standard_world(db)
    f = w.finding.id
    far = other_county(db, w.county)
    far_city = far - far % 100
    _put_on_ledger(client_as("inspector", regions=[330000]), f)
    outsiders = [
        client_as("agency_officer", agencies=[w.site.agency.id + 100000]),
        client_as("inspector", regions=[far_city]),
        client_as("leader", regions=[far_city]),
        client_as("planner", regions=[far_city]),
    ]
    for c in outsiders:
        assert c.get(URL.format(f)).status_code == 404
        assert _patch(c, f, '"1"', measures="x").status_code in (403, 404)
        assert c.post(
            URL.format(f), json={"responsible_person": "x", "deadline": "2026-12-31"}
        ).status_code in (403, 404)
        items = c.get("/api/v1/rectifications?limit=10000").json()["items"]
        assert f not in {i["finding_id"] for i in items}
        assert c.get("/api/v1/rectifications/reminders").status_code == 200
        people = c.get("/api/v1/rectifications/reminders?within_days=365").json()["people"]
        assert all(x["finding_id"] != f for p in people for x in p["overdue"] + p["due_soon"])
    surveyor = client_as("surveyor", regions=[330000])
    assert surveyor.get(URL.format(f)).status_code == 403
    leader = client_as("leader", regions=[330000])
    assert leader.get(URL.format(f)).status_code == 200
    assert _patch(leader, f, '"1"', measures="x").status_code == 403
    # the responsible agency's officer sees it, even when it is not the finding's agency
    own = client_as("agency_officer", agencies=[w.site.agency.id])
    assert own.get(URL.format(f)).status_code == 200
    assert db.get(Rectification, _rid(db, f)).version == 1  # type: ignore[union-attr]


def test_progress_per_month(client_as: Any, app: Any, db: Session) -> None:
    freeze(app, TODAY)
    w = over_standard_world(db)
    inspector = client_as("inspector", regions=[330000])
    _put_on_ledger(inspector, w.finding.id, deadline="2026-12-05")
    freeze(app, dt.date(2027, 1, 15))
    p = inspector.get("/api/v1/rectifications/progress?months=3").json()
    months = {m["month"]: m for m in p["months"]}
    assert list(months) == ["2026-11", "2026-12", "2027-01"]
    assert months["2026-12"]["opened"] >= 1 and months["2026-12"]["overdue_at_end"] >= 1
    assert months["2027-01"]["open_at_end"] >= 1


def test_ledger_excel_has_the_columns_and_no_formulas(client: Any, app: Any, db: Session) -> None:
    freeze(app, TODAY)
    w = over_standard_world(db)
    _put_on_ledger(
        client, w.finding.id, problem=EVIL[2], responsible_person=EVIL[3], measures=EVIL[0]
    )
    r = client.get(f"/api/v1/exports/rectifications.xlsx?agency={w.site.agency.id}")
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.openxmlformats"
    )
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    for col in (
        "办公楼",
        "楼层",
        "房间号",
        "实际用途",
        "使用单位",
        "使用面积(m²)",
        "核定面积(m²)",
        "超标面积(m²)",
        "是否整改到位",
        "未整改原因",
        "使用人",
        "职务",
        "职级",
        "是否兼职",
        "整改前",
        "整改后",
    ):
        assert col in header, col
    row = dict(zip(header, rows[1], strict=True))
    assert (row["使用面积(m²)"], row["核定面积(m²)"], row["超标面积(m²)"]) == (20.0, 18.0, 2.0)
    assert (
        row["存在问题"] == "=1+1" and row["责任人"] == "@SUM(A1)" and row["整改措施"] == "{{7*7}}"
    )
    assert row["使用人"] == "测试人" and row["是否整改到位"] == "否" and row["整改状态"] == "待整改"
    cells = {c.value: c for c in ws[2]}
    assert cells["=1+1"].data_type == "s" and cells["@SUM(A1)"].data_type == "s"
    assert cells["=1+1"].quotePrefix and cells["@SUM(A1)"].quotePrefix
    assert len(rows) == 2


@pytest.mark.parametrize("role", ["surveyor"])
def test_ledger_export_refuses_roles(client_as: Any, role: str) -> None:
    assert (
        client_as(role, regions=[330000]).get("/api/v1/exports/rectifications.xlsx").status_code
        == 403
    )
