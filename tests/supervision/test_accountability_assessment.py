"""问责 records (roles, scope) and the assessment (reproducible scores, as-of, Excel)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.db.models import AuditEvent
from backend.supervision import assessment
from backend.supervision.models import AccountabilityRecord
from tests.supervision.helpers import EVIL, TODAY, freeze, jpeg, other_county, over_standard_world


def _record(w: Any, **kw: Any) -> dict[str, Any]:
    return {
        "person_name": "王五",
        "person_post": "副局长",
        "agency_id": w.site.agency.id,
        "finding_ids": [w.finding.id],
        "measure": "talk",
        "decided_on": "2026-11-30",
        "issuing_body": "省纪委监委",
    } | kw


def test_accountability_roles_and_scope(client_as: Any, app: Any, db: Session) -> None:
    freeze(app, TODAY)
    w = over_standard_world(db)
    far_city = other_county(db, w.county) // 100 * 100
    inspector = client_as("inspector", regions=[330000])
    r = inspector.post("/api/v1/accountability", json=_record(w, measure_detail=EVIL[1]))
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["measure_name_zh"] == "约谈" and rec["measure_detail"] == EVIL[1]
    leader = client_as("leader", regions=[330000])
    assert leader.get(f"/api/v1/accountability/{rec['id']}").status_code == 200
    assert [
        x["id"]
        for x in leader.get(f"/api/v1/accountability?finding={w.finding.id}").json()["items"]
    ] == [rec["id"]]
    for role in ("agency_officer", "planner", "surveyor"):
        c = client_as(role, regions=[330000], agencies=[w.site.agency.id])
        assert c.get("/api/v1/accountability").status_code == 403
        assert c.get(f"/api/v1/accountability/{rec['id']}").status_code == 403
        assert c.post("/api/v1/accountability", json=_record(w)).status_code == 403
    assert leader.post("/api/v1/accountability", json=_record(w)).status_code == 403
    far = client_as("inspector", regions=[far_city])
    assert far.get(f"/api/v1/accountability/{rec['id']}").status_code == 404
    assert far.get("/api/v1/accountability?limit=10000").json()["items"] == []
    n = db.execute(select(func.count()).select_from(AccountabilityRecord)).scalar_one()
    assert far.post("/api/v1/accountability", json=_record(w)).status_code == 404
    ev = db.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    for body in (
        _record(w, measure="fine"),
        _record(w, finding_ids=[]),
        _record(w, finding_ids=[2**40]),
        _record(w, decided_on="2027-01-01"),
        _record(w, issuing_body=""),
        _record(w, colour="red"),
    ):
        assert inspector.post("/api/v1/accountability", json=body).status_code in (404, 422), body
    assert db.execute(select(func.count()).select_from(AccountabilityRecord)).scalar_one() == n
    assert db.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == ev


def _recompute(unit: dict[str, Any], scheme: dict[str, Any]) -> float | None:
    return assessment.score_unit(unit["indicators"], scheme)


def test_scores_are_reproducible_from_their_inputs(client: Any, app: Any, db: Session) -> None:
    freeze(app, TODAY)
    r = client.get("/api/v1/assessments?level=city&as_of=2026-12-01")
    assert r.status_code == 200, r.text
    body = r.json()
    scheme = assessment.scheme_for(dt.date(2026, 12, 1))
    assert body["scheme"]["version"] == scheme["version"]
    assert sum(i["weight"] for i in scheme["indicators"]) == 100
    units = body["units"]
    assert len(units) >= 2
    ranks = [u["rank"] for u in units]
    assert ranks == sorted(ranks) and ranks[0] == 1
    for u in units:
        assert _recompute(u, scheme) == u["score"]
    # one unit's inputs listed object by object add up to its numerator and denominator
    u = units[0]
    for ind in u["indicators"]:
        objs = client.get(
            "/api/v1/assessments/inputs",
            params={
                "as_of": "2026-12-01",
                "level": "city",
                "key": u["key"],
                "indicator": ind["code"],
            },
        ).json()["objects"]
        assert round(sum(o["amount"] for o in objs), 2) == round(ind["denominator"], 2)
        assert round(sum(o["amount"] for o in objs if o["in_numerator"]), 2) == round(
            ind["numerator"], 2
        )
    # the same date gives the same scores
    assert client.get("/api/v1/assessments?level=city&as_of=2026-12-01").json()["units"] == units


def test_a_past_assessment_does_not_move_with_later_work(
    client: Any, client_as: Any, app: Any, db: Session
) -> None:
    freeze(app, TODAY)
    w = over_standard_world(db)
    inspector = client_as("inspector", regions=[330000])
    county = w.county
    past = client.get(f"/api/v1/assessments?level=county&as_of=2026-11-30&region={county}").json()
    # later: an inspection checks the building and the finding is rectified and closed
    i = inspector.post(
        "/api/v1/inspections",
        json={
            "kind": "special",
            "title": "t",
            "region_adcode": 330000,
            "scope_buildings": [w.site.building.id],
            "starts_on": "2026-12-01",
            "ends_on": "2026-12-31",
        },
    ).json()
    assert (
        inspector.post(
            f"/api/v1/inspections/{i['id']}/checks", json={"building_id": w.site.building.id}
        ).status_code
        == 201
    )
    f = w.finding.id
    inspector.post(
        f"/api/v1/findings/{f}/rectification",
        json={"responsible_person": "张三", "deadline": "2026-12-31", "measures": "m"},
    )
    inspector.post(
        "/api/v1/evidence",
        files={"file": ("p.jpg", jpeg(), "image/jpeg")},
        data={"phase": "verification", "finding_id": str(f)},
    )
    for status, tag in (
        ("in_progress", '"1"'),
        ("awaiting_verification", '"2"'),
        ("closed", '"3"'),
    ):
        body: dict[str, Any] = {"status": status}
        if status == "awaiting_verification":
            body["after_state"] = "done"
        r = inspector.patch(
            f"/api/v1/findings/{f}/rectification", json=body, headers={"If-Match": tag}
        )
        assert r.status_code == 200, r.text
    again = client.get(f"/api/v1/assessments?level=county&as_of=2026-11-30&region={county}").json()
    assert again["units"] == past["units"]
    now = client.get(f"/api/v1/assessments?level=county&as_of=2026-12-01&region={county}").json()
    unit = {u["key"]: u for u in now["units"]}[county]
    ind = {x["code"]: x for x in unit["indicators"]}
    assert ind["inspection_coverage"]["numerator"] >= 1
    assert ind["over_standard_cleared"]["numerator"] >= 2.0


def test_assessment_roles_scope_and_excel(
    client_as: Any, client: Any, app: Any, db: Session
) -> None:
    freeze(app, TODAY)
    for role in ("agency_officer", "surveyor"):
        c = client_as(role, regions=[330000], agencies=[1])
        assert c.get("/api/v1/assessments").status_code == 403
        assert c.get("/api/v1/exports/assessment.xlsx").status_code == 403
    leader = client_as("leader", regions=[330100])
    units = leader.get("/api/v1/assessments?level=county").json()["units"]
    assert units and all(330100 <= u["key"] <= 330199 for u in units)
    assert leader.get("/api/v1/assessments?region=330200").status_code == 404
    assert client.get("/api/v1/assessments?as_of=2025-06-01").status_code == 422
    assert client.get("/api/v1/assessments?scheme=1999.9").status_code == 404
    assert client.get("/api/v1/assessments?level=galaxy").status_code == 422
    r = client.get("/api/v1/exports/assessment.xlsx?level=city")
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[1][:4] == ("排名", "代码", "名称", "得分")
    api = client.get("/api/v1/assessments?level=city").json()["units"]
    assert [row[3] for row in rows[2:]] == [u["score"] for u in api]
    t = client.get("/api/v1/assessments/trend?level=city&months=3").json()
    assert t["series"] and all(len(s["points"]) == 3 for s in t["series"])
