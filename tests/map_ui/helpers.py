"""Helpers for the browser tests of the map pages."""

from __future__ import annotations

from typing import Any

from tests.conftest import PageProbe


def wait_for(page: PageProbe, expr: str, timeout: float = 30_000) -> None:
    """Wait until ``expr`` is truthy in the page.

    Passed as a function, not an expression: Playwright evaluates expression strings with
    ``new Function``, which the pages' Content-Security-Policy (no eval) refuses.
    """
    page.page.wait_for_function(f"() => ({expr})", timeout=timeout)


def wait_ready(page: PageProbe, expr: str, timeout: float = 15_000) -> Any:
    """Wait until ``expr`` is truthy in the page and return its value."""
    wait_for(page, expr, timeout)
    return page.page.evaluate(f"() => ({expr})")


def map_name(page: PageProbe) -> str:
    """The JS global of the folium map (``map_<hash>``)."""
    name: str = page.page.evaluate("Object.keys(window).find(k => k.startsWith('map_'))")
    return name


def click_latlng(page: PageProbe, lat: float, lon: float) -> None:
    """Click the map where ``lat, lon`` is drawn."""
    m = map_name(page)
    pt = page.page.evaluate(f"window['{m}'].latLngToContainerPoint([{lat}, {lon}])")
    box = page.page.locator(".leaflet-container").bounding_box()
    page.page.mouse.click(box["x"] + pt["x"], box["y"] + pt["y"])


def assert_clean(page: PageProbe) -> None:
    """No script errors, no failed requests, nothing requested off the host."""
    assert page.errors == []
    assert page.failed == []
    assert page.external_requests() == []
