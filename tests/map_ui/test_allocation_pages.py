"""Reallocation pages in headless Chromium: a planner approves and executes a request on
the demo and the idle findings it cures close; an agency officer files a request.

The live server works on committed data: what the test changes is undone afterwards
(audit events stay — they are append-only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from backend import timekeeping
from tests.conftest import PageProbe, bearer
from tests.map_ui.helpers import assert_clean, wait_loaded

pytestmark = pytest.mark.browser


def _signed_in(
    browser: Any, live_server: str, username: str, engine: Engine | None = None
) -> PageProbe:
    from backend.accounts.auth import cookie_name, issue_token

    generation = 0
    if engine is not None:  # other tests may have signed the demo user out everywhere
        with engine.connect() as conn:
            generation = conn.execute(
                text("SELECT token_generation FROM users WHERE username = :u"), {"u": username}
            ).scalar_one()

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    context.add_cookies(
        [
            {
                "name": cookie_name(),
                "value": issue_token(username, generation=generation),
                "url": live_server,
                "httpOnly": True,
                "sameSite": "Strict",
            }
        ]
    )
    return PageProbe(context.new_page(), live_server)


@pytest.fixture
def undo(engine: Engine) -> Iterator[dict[str, Any]]:
    """Restores rooms, occupancies, uses and requests the test changes through the app."""
    from backend.compliance import service as compliance

    with engine.connect() as conn:
        before = {
            "requests": conn.execute(
                text("SELECT coalesce(max(id), 0) FROM space_requests")
            ).scalar_one(),
            "occupancies": conn.execute(
                text("SELECT coalesce(max(id), 0) FROM occupancies")
            ).scalar_one(),
            "rooms": dict(conn.execute(text("SELECT id, agency_id FROM rooms")).all()),
            "ended": set(
                conn.scalars(
                    text("SELECT id FROM occupancies WHERE end_date = :d"),
                    {"d": timekeeping.today()},
                )
            ),
        }
    yield before
    with Session(engine) as s, s.begin():
        changed = [
            r
            for r, a in s.execute(text("SELECT id, agency_id FROM rooms")).all()
            if before["rooms"].get(r) != a
        ]
        s.execute(text("DELETE FROM occupancies WHERE id > :o"), {"o": before["occupancies"]})
        s.execute(
            text("UPDATE occupancies SET end_date = NULL WHERE end_date = :d AND NOT id = ANY(:e)"),
            {"d": timekeeping.today(), "e": sorted(before["ended"])},
        )
        for room in changed:
            s.execute(
                text("UPDATE rooms SET agency_id = :a WHERE id = :r"),
                {"a": before["rooms"][room], "r": room},
            )
        s.execute(text("DELETE FROM approved_uses WHERE approval_ref LIKE 'allocation plan %'"))
        s.execute(
            text(
                "UPDATE asset_pool SET taken_on = NULL, plan_id = NULL WHERE plan_id IN "
                "(SELECT p.id FROM allocation_plans p WHERE p.request_id > :q)"
            ),
            {"q": before["requests"]},
        )
        s.execute(text("DELETE FROM space_requests WHERE id > :q"), {"q": before["requests"]})
        if changed:
            compliance.evaluate_rooms(s, changed)


def test_planner_approves_and_executes_and_the_idle_findings_close(
    browser: Any, live_server: str, engine: Engine, undo: dict[str, Any]
) -> None:
    from backend.compliance import standards

    with Session(engine) as s:
        allowances = standards.office_allowances_in_effect(s, timekeeping.today())
        # county agencies of cities with idle offices, the least housed first
        county_agencies = (
            s.execute(
                text(
                    "SELECT a.id FROM agencies a WHERE a.level = 'county' "
                    "AND (a.approved_office_area_m2 IS NOT NULL OR EXISTS ("
                    "  SELECT 1 FROM agency_staffing st WHERE st.agency_id = a.id)) AND EXISTS ("
                    "  SELECT 1 FROM compliance_findings f JOIN rooms r ON r.id = f.room_id "
                    "  WHERE f.rule_code = 'idle_room' AND f.status = 'open' AND r.category = 'office' "
                    "  AND r.region_adcode / 100 = a.region_adcode / 100) "
                    "ORDER BY (SELECT coalesce(sum(r.usable_area_m2), 0) FROM rooms r "
                    "  WHERE r.agency_id = a.id AND r.category = 'office'), a.id LIMIT 40"
                )
            )
            .scalars()
            .all()
        )
        idle_rooms = set(
            s.scalars(
                text(
                    "SELECT room_id FROM compliance_findings WHERE rule_code = 'idle_room' "
                    "AND status = 'open'"
                )
            )
        )
    # an agency short of space (its entitlement, standard or approved area, exceeds its
    # holding) and an idle office of its city that it may take without going over
    idle = agency = entitled = None
    for a in county_agencies:
        e = httpx.get(
            f"{live_server}/api/v1/agencies/{a}/entitlement", headers=bearer("admin")
        ).json()
        if e["shortfall_m2"] is None or e["shortfall_m2"] <= 0:
            continue
        with Session(engine) as s:
            idle = s.execute(
                text(
                    "SELECT f.room_id, r.usable_area_m2, r.region_adcode, r.building_id "
                    "FROM compliance_findings f JOIN rooms r ON r.id = f.room_id "
                    "JOIN agencies a ON a.id = :a "
                    "WHERE f.rule_code = 'idle_room' AND f.status = 'open' "
                    "AND r.category = 'office' AND r.usable_area_m2 <= :short "
                    "AND r.region_adcode / 100 = a.region_adcode / 100 "
                    "ORDER BY r.usable_area_m2, r.id LIMIT 1"
                ),
                {"a": a, "short": e["shortfall_m2"]},
            ).one_or_none()
        if idle is not None:
            agency, entitled = a, e
            break
    assert idle is not None and entitled is not None, "the demo has an agency short of space"
    rank = min(
        (
            c
            for (lvl, c), m2 in allowances.items()
            if lvl == "county" and m2 >= float(idle.usable_area_m2)
        ),
        key=lambda c: allowances[("county", c)],
    )
    r = httpx.post(
        f"{live_server}/api/v1/space-requests",
        json={
            "agency_id": agency,
            "offices": [{"rank_code": rank, "count": 1}],
            "near_building_id": idle.building_id,
            "preferred_region_adcode": idle.region_adcode,
            "reason": "{{7*7}}<script>x</script>",
        },
        headers=bearer("planner"),
    )
    assert r.status_code == 201, r.text
    request_id = r.json()["id"]
    page = _signed_in(browser, live_server, "planner", engine)
    try:
        page.page.goto(f"{live_server}/map/allocation")
        wait_loaded(page)
        with page.page.expect_response(lambda r: "/candidates" in r.url) as answer:
            page.page.click(f"tr[data-request='{request_id}'] button.om-show")
        wait_loaded(page)
        cands = answer.value.json()
        assert page.page.locator(".om-cand").count() == len(cands["candidates"])
        routes = [c["route"] for c in cands["candidates"]]
        order = {"transfer": 0, "swap": 1, "rent": 2, "build": 3}
        assert routes and [order[x] for x in routes] == sorted(order[x] for x in routes)
        pick = next(
            c
            for c in cands["candidates"]
            if c["route"] == "transfer" and {a["room_id"] for a in c["assignments"]} & idle_rooms
        )
        page.page.wait_for_timeout(300)
        page.screenshot("allocation-candidates")
        page.page.click(f".om-cand[data-rank='{pick['rank']}'] button.om-approve")
        wait_loaded(page)
        page.page.click("#om-execute")
        wait_loaded(page)
        assert page.last_json("/execute")["idle_findings_closed"] >= 1
        shown = page.last_json("/entitlement")  # the table the page drew after executing
        assert page.page.locator("#om-result h2").count() == 2  # executed, entitlement
        page.page.wait_for_timeout(200)
        page.screenshot("allocation-executed")
        table = page.page.locator("#om-result").inner_text()
        assert "已整改闲置问题" in table
        # the entitlement table on the page carries the new holding
        assert f"{shown['held_office_m2']:,.2f} m²" in table
        assert_clean(page)
    finally:
        page.page.context.close()
    rooms = [a["room_id"] for a in pick["assignments"]]
    with Session(engine) as s:
        statuses = s.execute(
            text(
                "SELECT status FROM compliance_findings WHERE rule_code = 'idle_room' "
                "AND room_id = ANY(:r) AND status IN ('open', 'rectifying')"
            ),
            {"r": rooms},
        ).all()
        assert statuses == []  # the idle findings of the rooms it houses are closed
        owner = set(s.scalars(text("SELECT agency_id FROM rooms WHERE id = ANY(:r)"), {"r": rooms}))
        assert owner == {agency}
        expected_held = s.execute(
            text(
                "SELECT sum(r.usable_area_m2) FROM rooms r JOIN floors f ON f.id = r.floor_id "
                "AND f.valid_to IS NULL WHERE r.agency_id = :a AND r.category = 'office'"
            ),
            {"a": agency},
        ).scalar_one()
    held = httpx.get(
        f"{live_server}/api/v1/agencies/{agency}/entitlement", headers=bearer("admin")
    ).json()["held_office_m2"]
    assert held == pytest.approx(float(expected_held), abs=0.01)  # the entitlement updated
    assert shown["held_office_m2"] == pytest.approx(held, abs=0.01)
    assert shown["held_office_m2"] == pytest.approx(
        entitled["held_office_m2"] + pick["area_m2"], abs=0.01
    )
    assert shown["shortfall_m2"] == pytest.approx(
        entitled["shortfall_m2"] - pick["area_m2"], abs=0.01
    )


def test_agency_officer_files_and_tracks_a_request(
    browser: Any, live_server: str, engine: Engine, undo: dict[str, Any]
) -> None:
    page = _signed_in(browser, live_server, "officer", engine)
    try:
        page.page.goto(f"{live_server}/allocation/request")
        wait_loaded(page, "#om-app")
        page.page.fill("#om-count", "2")
        page.page.fill("#om-reason", "<img src=x onerror=alert(1)>{{7*7}}")
        with page.page.expect_response(
            lambda r: r.url.endswith("/space-requests") and r.request.method == "POST"
        ) as answer:
            page.page.click("#om-submit")
        created = answer.value.json()
        wait_loaded(page, "#om-app")
        row = page.page.locator(f"tr[data-request='{created['id']}']").inner_text()
        assert "<img src=x onerror=alert(1)>{{7*7}}" in row and "待审核" in row
        assert page.page.locator("#om-app img").count() == 0
        page.screenshot("allocation-request")
        assert_clean(page)
    finally:
        page.page.context.close()
