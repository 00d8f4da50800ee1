"""Supervision pages in Chromium: an inspection from plan to 销号 — the inspector plans and
checks on site, the agency officer rectifies with a photo, the inspector verifies."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import Engine, text

from tests.conftest import PageProbe
from tests.map_ui.helpers import assert_clean, wait_loaded

pytestmark = pytest.mark.browser


APP = "#om-app"


def item_status(page: PageProbe) -> str:
    """The status the open ledger item's badge shows (its class names the status)."""
    badge = page.page.locator("#om-item .om-badge").first
    classes = (badge.get_attribute("class") or "").split()
    return next(c for c in classes if c != "om-badge")


def _context(browser: Any, live_server: str, username: str, *, width: int = 1024) -> PageProbe:
    from backend.accounts.auth import cookie_name, issue_token

    ctx = browser.new_context(viewport={"width": width, "height": 1366}, locale="zh-CN")
    ctx.add_cookies(
        [
            {
                "name": cookie_name(),
                "value": issue_token(username),
                "url": live_server,
                "httpOnly": True,
                "sameSite": "Strict",
            }
        ]
    )
    return PageProbe(ctx.new_page(), live_server)


@pytest.fixture
def target(engine: Engine) -> Iterator[dict[str, Any]]:
    """An open room finding of the demo officer's agency; everything the test adds is
    removed afterwards (audit events stay: they are append-only)."""
    with engine.begin() as conn:
        agency = conn.execute(
            text("SELECT agencies[1] FROM users WHERE username = 'officer'")
        ).scalar_one()
        row = conn.execute(
            text("""
            SELECT f.id, f.building_id, f.room_id, f.status, f.details FROM compliance_findings f
            WHERE f.agency_id = :a AND f.room_id IS NOT NULL AND f.status = 'open'
              AND NOT EXISTS (SELECT 1 FROM rectifications r WHERE r.finding_id = f.id)
            ORDER BY (f.rule_code = 'office_over_standard') DESC, f.id LIMIT 1"""),
            {"a": agency},
        ).one()
        first_audit = conn.execute(
            text("SELECT coalesce(max(id), 0) FROM audit_events")
        ).scalar_one()
    yield {"finding": row.id, "building": row.building_id, "room": row.room_id, "agency": agency}
    with engine.begin() as conn:
        ids = (
            conn.execute(text("SELECT id FROM inspections WHERE title = 'Chromium 抽查'"))
            .scalars()
            .all()
        )
        conn.execute(
            text(
                "DELETE FROM evidence WHERE rectification_id IN (SELECT id FROM rectifications WHERE finding_id = :f) OR check_id IN (SELECT id FROM inspection_checks WHERE inspection_id = ANY(:i))"
            ),
            {"f": row.id, "i": list(ids)},
        )
        conn.execute(
            text(
                "DELETE FROM evidence_files ef WHERE NOT EXISTS (SELECT 1 FROM evidence e WHERE e.sha256 = ef.sha256)"
            )
        )
        conn.execute(text("DELETE FROM rectifications WHERE finding_id = :f"), {"f": row.id})
        conn.execute(text("DELETE FROM inspections WHERE id = ANY(:i)"), {"i": list(ids)})
        conn.execute(
            text(
                "UPDATE compliance_findings SET status = :s, closed_at = NULL, details = CAST(:d AS jsonb) WHERE id = :f"
            ),
            {"s": row.status, "d": __import__("json").dumps(row.details), "f": row.id},
        )
    assert first_audit >= 0


def _photo(tmp_path: Any) -> str:
    path = tmp_path / "整改后.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (120, 90), (90, 160, 90)).save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return str(path)


def test_inspection_from_plan_to_closure(
    browser: Any, live_server: str, target: dict[str, Any], tmp_path: Any, engine: Engine
) -> None:
    f = target["finding"]
    # 1. the inspector plans an inspection of the building (tablet-sized window)
    insp = _context(browser, live_server, "inspector", width=820)
    insp.page.goto(f"{live_server}/supervision")
    wait_loaded(insp, APP, 60_000)
    insp.page.fill("input[name=title]", "Chromium 抽查")
    insp.page.select_option("select[name=kind]", "spot")
    insp.page.fill("input[name=scope_buildings]", str(target["building"]))
    insp.screenshot("supervision-plan-form")
    insp.page.click("#om-plan-form button[type=submit]")
    insp.page.wait_for_url("**/supervision/inspections/**", timeout=60_000)
    wait_loaded(insp, APP, 60_000)
    insp.screenshot("supervision-inspection-plan")
    # 2. on site: the check form of the building, the room, the measured area, confirm
    insp.page.click(f"button[data-building='{target['building']}']")
    wait_loaded(insp, APP, 60_000)
    assert f"· {target['building']}" in insp.page.locator("#om-check h2").inner_text()
    insp.page.select_option("#om-room", str(target["room"]))
    insp.page.fill("#om-measured", "25.30")
    insp.page.select_option("#om-use", "office")
    insp.page.fill("#om-occupant", "<script>alert(1)</script>")
    insp.page.select_option("#om-outcome", f"confirm:{f}")
    insp.page.click("#om-check-form button[type=submit]")
    wait_loaded(insp, APP, 60_000)
    assert "#" in insp.page.locator("#om-check-msg .om-ok").inner_text()  # saved #id
    assert insp.page.locator("#om-checks tbody tr").count() >= 1
    assert "<script>alert(1)</script>" in insp.page.locator("#om-checks").inner_text()
    insp.page.fill("#om-person", "张三")
    insp.page.click("#om-ledger-form button[type=submit]")
    wait_loaded(insp, APP, 60_000)
    assert insp.page.locator(f"#om-after-check .om-ok a[href$='finding={f}']").count() == 1
    insp.screenshot("supervision-check-form-tablet")
    assert_clean(insp)
    # 3. the agency officer rectifies: measures, start, a photo after, submit
    off = _context(browser, live_server, "officer")
    off.page.goto(f"{live_server}/supervision/ledger?finding={f}")
    wait_loaded(off, APP, 60_000)
    assert off.page.locator("#om-item h2").first.inner_text().startswith(f"#{f} ")
    off.page.fill("#om-measures", "调整办公室，腾退多余面积")
    off.page.click("#om-start")
    wait_loaded(off, APP, 60_000)
    assert item_status(off) == "in_progress"
    off.page.select_option("#om-phase", "after")
    off.page.set_input_files("#om-file", _photo(tmp_path))
    off.page.click("#om-upload")
    wait_loaded(off, APP, 60_000)
    assert off.page.locator("#om-item .om-evidence figure").count() == 1
    off.page.fill("#om-after", "已腾退至标准面积内")
    off.page.click("#om-submit")
    wait_loaded(off, APP, 60_000)
    assert item_status(off) == "awaiting_verification"
    # the officer cannot close it: no verify button for this status? the server says no
    off.screenshot("supervision-ledger-officer")
    assert_clean(off)
    # 4. the inspector verifies and closes (销号)
    insp.page.goto(f"{live_server}/supervision/ledger?finding={f}")
    wait_loaded(insp, APP, 60_000)
    assert item_status(insp) == "awaiting_verification"
    assert insp.page.locator(".om-evidence img").count() == 1
    insp.page.fill("#om-vnote", "现场核验属实")
    insp.page.click("#om-verify")
    # closed, or the server's refusal on the page (shown in the failure message)
    wait_loaded(insp, APP, 60_000)
    refused = insp.page.locator("#om-item-msg").inner_text()
    assert refused == "", (refused, insp.failed)
    assert item_status(insp) == "closed"
    assert "已销号" in insp.page.locator("#om-item").inner_text()
    insp.screenshot("supervision-ledger-closed")
    assert_clean(insp)
    with engine.connect() as conn:
        status = conn.execute(
            text("SELECT status FROM compliance_findings WHERE id = :f"), {"f": f}
        ).scalar_one()
        actions = (
            conn.execute(
                text(
                    "SELECT action FROM audit_events WHERE object_type IN ('inspection', 'inspection_check', 'rectification', 'evidence') ORDER BY id DESC LIMIT 7"
                )
            )
            .scalars()
            .all()
        )
    assert status == "closed"
    assert list(reversed(actions)) == [
        "inspection.create",
        "inspection.check",
        "rectification.create",
        "rectification.in_progress",
        "evidence.upload",
        "rectification.awaiting_verification",
        "rectification.closed",
    ]
    # 5. the leaders' panel shows this month's closure and the ranking
    lead = _context(browser, live_server, "leader")
    lead.page.goto(f"{live_server}/supervision/leaders")
    wait_loaded(lead, APP, 60_000)
    progress = lead.last_json("/rectifications/progress")["months"]
    assert progress[-1]["closed"] >= 1
    closed = lead.page.locator("#om-progress tbody tr").last.locator("td").nth(2).inner_text()
    assert int(closed) == progress[-1]["closed"]
    assert lead.page.locator("#om-ranking tbody tr").count() >= 2
    lead.screenshot("supervision-leaders")
    assert_clean(lead)


def test_pages_are_text_only_and_english(page: PageProbe, live_server: str) -> None:
    page.page.goto(f"{live_server}/supervision/ledger?lang=en")
    wait_loaded(page, APP, 60_000)
    assert "Rectification ledger" in page.page.title()
    assert page.page.locator("#om-export").count() == 1
    assert_clean(page)
