"""/stocktake in headless Chromium: a campaign from launch to verified for one agency."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.conftest import PageProbe
from tests.map_ui.helpers import assert_clean, wait_for, wait_loaded

pytestmark = pytest.mark.browser


def _county_with_agencies(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT region_adcode FROM agencies a JOIN regions r ON r.adcode = a.region_adcode "
                    "WHERE r.level = 'county' GROUP BY 1 ORDER BY count(*), 1 LIMIT 1"
                )
            ).scalar_one()
        )


def _click(page: PageProbe, row: Any, to: str) -> None:
    """Move the agency's declaration on, and wait for the reloaded table."""
    row.locator(f"button[data-to='{to}']").click()
    wait_loaded(page, "main")


def test_campaign_from_launch_to_verified(
    page: PageProbe, live_server: str, engine: Engine
) -> None:
    region = _county_with_agencies(engine)
    page.page.goto(f"{live_server}/stocktake")
    wait_loaded(page, "main")
    assert "办公用房清查登记" in page.page.title()
    page.page.fill("#st-name", "浏览器测试清查 <b>{{7*7}}</b>")
    page.page.fill("#st-region", str(region))
    page.page.fill("#st-deadline", "2026-12-31")
    page.page.click("#st-launch-button")
    wait_loaded(page, "main")
    option = page.page.locator("#st-campaign option:checked").inner_text()
    assert "浏览器测试清查 <b>{{7*7}}</b>" in option  # shown as text, not markup
    rows = page.page.locator("#st-agencies tbody tr")
    assert rows.count() >= 1
    agency = rows.first.get_attribute("data-agency")
    row = page.page.locator(f"#st-agencies tbody tr[data-agency='{agency}']")
    assert "未填报" in row.inner_text()
    _click(page, row, "in_progress")
    assert "填报中" in row.inner_text()
    _click(page, row, "submitted")
    assert "已提交" in row.inner_text()
    row.locator("input.st-reason").fill("房间面积与平面图不符")
    _click(page, row, "returned")
    assert "已退回" in row.inner_text() and "房间面积与平面图不符" in row.inner_text()
    _click(page, row, "submitted")
    _click(page, row, "verified")
    assert row.get_attribute("data-status") == "verified"
    assert "已核实" in row.inner_text()
    page.screenshot("stocktake-campaign-verified")
    assert page.page.locator("#st-error").inner_text() == ""
    assert_clean(page)


def test_page_in_english(page: PageProbe, live_server: str) -> None:
    page.page.goto(f"{live_server}/stocktake?lang=en")
    wait_loaded(page, "main")
    assert "Office space stock-take" in page.page.title()
    page.page.fill("#st-name", "x")
    page.page.fill("#st-region", "999999")
    page.page.fill("#st-deadline", "2026-12-31")
    page.page.click("#st-launch-button")
    wait_for(page, "document.getElementById('st-launch-error').textContent.length > 0")
    assert "region" in page.page.locator("#st-launch-error").inner_text().lower()
    page.failed.clear()  # the refused launch is a 422 on purpose
    assert page.errors == []
