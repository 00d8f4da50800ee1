"""What-if scenarios: evaluated apart from the live findings, compared per region/agency."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from backend.db.compliance import ComplianceFinding
from backend.live.models import WhatIfFinding, WhatIfScenario

CITY = 330100


def fingerprint(db: Session) -> tuple[Any, ...]:
    """Every byte a what-if must not touch: live findings, evaluations, standards."""
    db.flush()
    return tuple(
        db.execute(
            text(f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {t} t")  # noqa: S608
        ).scalar_one()
        for t in (
            "compliance_findings",
            "compliance_evaluations",
            "standard_versions",
            "standard_office_allowances",
            "standard_settings",
        )
    )


def live_count(db: Session, rule: str) -> int:
    return int(
        db.execute(
            select(func.count())
            .select_from(ComplianceFinding)
            .where(ComplianceFinding.rule_code == rule, ComplianceFinding.status != "closed")
        ).scalar_one()
    )


def test_scenario_leaves_live_findings_byte_identical(client: Any, db: Session) -> None:
    before = fingerprint(db)
    generous = [
        {"agency_level": level, "rank_code": rank, "max_usable_m2": 1000}
        for level, rank in db.execute(
            text("SELECT DISTINCT agency_level, rank_code FROM standard_office_allowances")
        )
    ]
    r = client.post(
        "/api/v1/whatif/scenarios",
        json={
            "name": "宽松标准 <script>{{7*7}}",
            "draft": {"allowances": generous},
            "idle_threshold_days": 1,
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert fingerprint(db) == before
    assert body["name"] == "宽松标准 <script>{{7*7}}"
    c = client.get(f"/api/v1/whatif/scenarios/{body['id']}").json()
    over = c["by_rule"]["office_over_standard"]
    live_over = live_count(db, "office_over_standard")
    assert live_over > 0
    assert over == {"live": live_over, "scenario": 0, "gained": 0, "lost": live_over}
    idle = c["by_rule"]["idle_room"]
    assert idle["scenario"] >= idle["live"] and idle["gained"] > 0  # 1 day instead of 180
    assert c["total"]["over_standard_m2_scenario"] == 0
    assert c["total"]["over_standard_m2_live"] > 0
    assert c["total"]["idle_m2_scenario"] >= c["total"]["idle_m2_live"]
    assert sum(g["lost"] for g in c["groups"]) == c["total"]["lost"]
    assert {g["key"] for g in c["groups"]} <= {
        k // 100 * 100 for (k,) in db.execute(text("SELECT adcode FROM regions"))
    }
    by_agency = client.get(f"/api/v1/whatif/scenarios/{body['id']}?level=agency").json()
    assert by_agency["total"] == c["total"]
    assert fingerprint(db) == before


def test_same_standard_scenario_matches_the_live_findings(client: Any, db: Session) -> None:
    """Under the standard in effect at the day of the last full run, nothing is gained or lost."""
    as_of = db.execute(
        text(
            "SELECT as_of FROM compliance_evaluations WHERE kind = 'full' ORDER BY id DESC LIMIT 1"
        )
    ).scalar_one()
    r = client.post("/api/v1/whatif/scenarios", json={"name": "现行", "as_of": as_of.isoformat()})
    assert r.status_code == 201, r.text
    c = client.get(f"/api/v1/whatif/scenarios/{r.json()['id']}").json()
    assert c["total"]["gained"] == 0 and c["total"]["lost"] == 0
    assert c["total"]["live_findings"] == c["total"]["scenario_findings"] > 0


def test_scenario_stays_within_the_creators_scope(client_as: Any, db: Session) -> None:
    planner = client_as("planner", regions=[CITY])
    r = planner.post("/api/v1/whatif/scenarios", json={"name": "杭州", "idle_threshold_days": 30})
    assert r.status_code == 201, r.text
    regions = db.scalars(
        select(WhatIfFinding.region_adcode).where(WhatIfFinding.scenario_id == r.json()["id"])
    ).all()
    assert regions and all(CITY <= a <= CITY + 99 for a in regions)
    # a province-wide reader sees the comparison only where the scenario was run
    c = client_as("leader", regions=[330000]).get(f"/api/v1/whatif/scenarios/{r.json()['id']}")
    assert c.status_code == 200
    assert {g["key"] for g in c.json()["groups"]} == {CITY}


def test_bad_scenarios_are_refused_and_store_nothing(
    client: Any, client_as: Any, db: Session
) -> None:
    def stored() -> int:
        return int(db.execute(select(func.count()).select_from(WhatIfScenario)).scalar_one())

    n = stored()
    bad_rank = {"agency_level": "county", "rank_code": "no_such_rank", "max_usable_m2": 9}
    r = client.post(
        "/api/v1/whatif/scenarios", json={"name": "x", "draft": {"allowances": [bad_rank]}}
    )
    assert r.status_code == 422 and r.json()["details"]["field"] == "draft.allowances.0.rank_code"
    r = client.post("/api/v1/whatif/scenarios", json={"name": "x", "version": "no-such-version"})
    assert r.status_code == 404
    r = client.post("/api/v1/whatif/scenarios", json={"name": "x", "idle_threshold_days": -3})
    assert r.status_code == 422
    r = client.post("/api/v1/whatif/scenarios", json={"name": "x", "sql": "DROP TABLE rooms"})
    assert r.status_code == 422
    for role in ("leader", "surveyor", "agency_officer", "inspector"):
        assert (
            client_as(role, regions=[330000])
            .post("/api/v1/whatif/scenarios", json={"name": "x"})
            .status_code
            == 403
        )
    assert stored() == n
    assert client.get("/api/v1/whatif/scenarios/999999999").status_code == 404


def test_export_writes_user_text_as_text(client: Any, db: Session) -> None:
    r = client.post("/api/v1/whatif/scenarios", json={"name": "=1+1", "idle_threshold_days": 90})
    assert r.status_code == 201
    x = client.get(f"/api/v1/whatif/scenarios/{r.json()['id']}/export.xlsx?level=county")
    assert x.status_code == 200
    wb = load_workbook(io.BytesIO(x.content))
    assert wb.sheetnames == ["情景", "按县（区）对比", "按规则对比"]
    name = wb["情景"]["B1"]
    assert name.value == "=1+1" and name.data_type == "s"
    rows = list(wb["按县（区）对比"].iter_rows(values_only=True))
    assert rows[0][0] == "区划/单位代码" and rows[-1][1] == "合计"
