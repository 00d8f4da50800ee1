"""Helpers for the browser tests of the map pages."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.conftest import PageProbe


def wait_for(page: PageProbe, expr: str, timeout: float = 30_000) -> None:
    """Wait until ``expr`` is truthy in the page.

    Passed as a function, not an expression: Playwright evaluates expression strings with
    ``new Function``, which the pages' Content-Security-Policy (no eval) refuses.
    """
    page.page.wait_for_function(f"() => ({expr})", timeout=timeout)


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


def wait_loaded(page: PageProbe, root: str = ".leaflet-container", timeout: float = 30_000) -> None:
    """Wait until the page's ``root`` has loaded its data: it says so with ``aria-busy="false"``
    (set while loading for assistive technology)."""
    page.page.locator(f'{root}[aria-busy="false"]').wait_for(state="attached", timeout=timeout)


def eventually(check: Callable[[], Any], timeout: float = 30_000, every: float = 200) -> Any:
    """Poll ``check()`` until it returns something truthy (Playwright's clock: no sleeps in
    Python); return that value, or fail with the last one after ``timeout`` ms."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {timeout / 1000:.0f} s")
        time.sleep(every / 1000)


# the fill colours a person sees on the map's canvas tiles: pixels of the translucent fills
# (alpha of a fill opacity 0.55–0.9), not the opaque strokes, counted per colour
_CANVAS_FILLS = """() => {
  const counts = {};
  for (const c of document.querySelectorAll('.leaflet-container canvas.leaflet-tile')) {
    if (!c.width || !c.height) { continue; }
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4 * 5) {
      if (d[i + 3] < 140 || d[i + 3] > 235) { continue; }
      const hex = '#' + [d[i], d[i + 1], d[i + 2]].map(v => v.toString(16).padStart(2, '0')).join('');
      counts[hex] = (counts[hex] || 0) + 1;
    }
  }
  return counts;
}"""


def drawn_fills(page: PageProbe, min_pixels: int = 20) -> set[str]:
    """The fill colours drawn on the map's canvas tiles (``#rrggbb``), each covering at least
    ``min_pixels`` sampled pixels (anti-aliased edges fall below)."""
    counts: dict[str, int] = page.page.evaluate(_CANVAS_FILLS)
    return {c for c, n in counts.items() if n >= min_pixels and not near(c, STROKES, 12)}


# outlines of rooms, footprints and findings (their anti-aliased pixels are translucent too)
STROKES = ["#555555", "#333333", "#ffffff"]


def near(colour: str, palette: set[str] | list[str], tolerance: int = 4) -> bool:
    """``colour`` is one of ``palette`` up to rounding (a fill's alpha is premultiplied)."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return any(
        all(
            abs(a - int(p[i : i + 2], 16)) <= tolerance for a, i in zip(rgb, (1, 3, 5), strict=True)
        )
        for p in palette
    )


def fill_pixels(page: PageProbe, colour: str) -> int:
    """How many sampled canvas pixels show the fill ``colour``."""
    counts: dict[str, int] = page.page.evaluate(_CANVAS_FILLS)
    return sum(n for c, n in counts.items() if near(c, [colour]))


def count_layers(page: PageProbe, predicate: str) -> int:
    """How many layers of the folium map satisfy the JS ``predicate`` (an arrow function of
    the layer), e.g. ``"l => l.feature && l.feature.properties.level === 'city'"``."""
    m = map_name(page)
    n: int = page.page.evaluate(
        f"(() => {{ let n = 0; window['{m}'].eachLayer(l => {{ if (({predicate})(l)) n++; }});"
        " return n; })()"
    )
    return n
