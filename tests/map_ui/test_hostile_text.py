"""User text on pages is data: never template source, never live HTML (issue 9).

Names an editor or a file can set (building, floor) are filled with Jinja syntax, markup
that would close the title and open a script, and an event-handler payload; every page
must show them as text, in the HTML and in the DOM Chromium builds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from tests.conftest import PageProbe
from tests.map_ui.helpers import assert_clean, wait_loaded

BUILDING_NAME = (
    "T{{ 7*7 }}X</title><script>window.pwned=1</script><img src=x onerror=window.pwned=2>"
)
ROOM_NUMBER = "=1+1<img src=x onerror=window.pwned=3>"[:40]
PERSON_NAME = "{{7*7}}<script>window.pwned=4</script>"
ADDRESS = "{{ config }}<a href=javascript:alert(1)>x</a>"
FLOOR_NAME = "{{7*7}}-{{lipsum.__module__}}<b>'\"&"


class _Scan(HTMLParser):
    """Collects <title> text, <script> tags (src and inline body) and the body's data-config."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.scripts: list[tuple[str | None, str]] = []
        self.config: dict[str, Any] = {}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("title", "script"):
            self._in = tag
            if tag == "script":
                self.scripts.append((a.get("src"), ""))
        if tag == "body" and a.get("data-config"):
            self.config = json.loads(a["data-config"] or "{}")

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "title":
            self.title += data
        elif self._in == "script":
            src, body = self.scripts[-1]
            self.scripts[-1] = (src, body + data)


def _scan(html: str) -> _Scan:
    scan = _Scan()
    scan.feed(html)
    return scan


def _rename(conn: Any, building_id: int, building: str, floor: str) -> int:
    conn.execute(
        text("UPDATE buildings SET name = :n WHERE id = :b"), {"n": building, "b": building_id}
    )
    floor_id: int = conn.execute(
        text(
            "UPDATE floors SET name = :n WHERE id = (SELECT min(id) FROM floors "
            "WHERE building_id = :b AND valid_to IS NULL) RETURNING id"
        ),
        {"n": floor, "b": building_id},
    ).scalar_one()
    return floor_id


def test_building_page_html_keeps_names_as_text(client: Any, db: Session) -> None:
    _rename(db.connection(), 2, BUILDING_NAME, FLOOR_NAME)
    r = client.get("/map/buildings/2")
    assert r.status_code == 200
    html = r.text
    assert "T49X" not in html and "49-" not in html and "jinja2" not in html
    scan = _scan(html)
    assert scan.title.startswith(BUILDING_NAME)  # the parser unescapes: same text
    assert all(src and not body.strip() for src, body in scan.scripts), "inline script"
    assert scan.config["building"]["name"] == BUILDING_NAME
    assert any(f["name"] == FLOOR_NAME for f in scan.config["floors"])
    csp = r.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )


@pytest.mark.parametrize("path", ["/map", "/map/vacancy", "/map/buildings/1", "/map?lang=en"])
def test_every_map_page_has_no_inline_script(client: Any, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    scan = _scan(r.text)
    assert scan.scripts and all(src and not body.strip() for src, body in scan.scripts)
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_login_page_escapes_next_and_error(app: Any) -> None:
    from fastapi.testclient import TestClient

    with TestClient(app) as anon:
        payload = '"><script>window.pwned=1</script>{{7*7}}'
        r = anon.get("/login", params={"next": "/map?x=" + payload})
        assert r.status_code == 200
        assert "<script>window.pwned" not in r.text and "{{7*7}}" in r.text
        assert not _scan(r.text).scripts
        r = anon.post("/login", data={"username": "{{7*7}}<i>", "password": "x"})
        assert r.status_code in (401, 429)
        assert "<i>" not in r.text


@pytest.fixture
def hostile_building(engine: Engine) -> Iterator[tuple[int, int]]:
    """Building 3 and its lowest floor renamed (committed for the live server), restored after."""
    with engine.begin() as conn:
        old = conn.execute(text("SELECT name FROM buildings WHERE id = 3")).scalar_one()
        floor_old = conn.execute(
            text(
                "SELECT id, name FROM floors WHERE building_id = 3 AND valid_to IS NULL "
                "ORDER BY id LIMIT 1"
            )
        ).one()
        floor_id = _rename(conn, 3, BUILDING_NAME, FLOOR_NAME)
        room = conn.execute(
            text(
                "SELECT r.id, r.number, o.id AS occ, o.person_name FROM rooms r "
                "JOIN occupancies o ON o.room_id = r.id AND o.end_date IS NULL "
                "WHERE r.floor_id = :f ORDER BY r.id LIMIT 1"
            ),
            {"f": floor_id},
        ).one_or_none()
        if room is None:  # the lowest floor may have no occupied room: take the first one
            floor_id = conn.execute(
                text(
                    "SELECT r.floor_id FROM rooms r JOIN occupancies o ON o.room_id = r.id "
                    "AND o.end_date IS NULL JOIN floors f ON f.id = r.floor_id "
                    "AND f.valid_to IS NULL WHERE r.building_id = 3 ORDER BY r.id LIMIT 1"
                )
            ).scalar_one()
            room = conn.execute(
                text(
                    "SELECT r.id, r.number, o.id AS occ, o.person_name FROM rooms r "
                    "JOIN occupancies o ON o.room_id = r.id AND o.end_date IS NULL "
                    "WHERE r.floor_id = :f ORDER BY r.id LIMIT 1"
                ),
                {"f": floor_id},
            ).one()
        address_old = conn.execute(text("SELECT address FROM buildings WHERE id = 3")).scalar()
        conn.execute(
            text("UPDATE rooms SET number = :n WHERE id = :r"), {"n": ROOM_NUMBER, "r": room.id}
        )
        conn.execute(
            text("UPDATE occupancies SET person_name = :n WHERE id = :o"),
            {"n": PERSON_NAME, "o": room.occ},
        )
        conn.execute(text("UPDATE buildings SET address = :a WHERE id = 3"), {"a": ADDRESS})
    try:
        yield 3, floor_id
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE rooms SET number = :n WHERE id = :r"), {"n": room.number, "r": room.id}
            )
            conn.execute(
                text("UPDATE occupancies SET person_name = :n WHERE id = :o"),
                {"n": room.person_name, "o": room.occ},
            )
            conn.execute(text("UPDATE buildings SET address = :a WHERE id = 3"), {"a": address_old})
            conn.execute(text("UPDATE buildings SET name = :n WHERE id = 3"), {"n": old})
            conn.execute(
                text("UPDATE floors SET name = :n WHERE id = :f"),
                {"n": floor_old.name, "f": floor_old.id},
            )


@pytest.mark.browser
def test_building_page_dom_shows_names_as_text(
    page: PageProbe, live_server: str, hostile_building: tuple[int, int]
) -> None:
    building_id, floor_id = hostile_building
    page.page.goto(f"{live_server}/map/buildings/{building_id}?floor={floor_id}")
    wait_loaded(page)
    assert page.page.title().startswith(BUILDING_NAME)
    assert page.page.evaluate("() => window.pwned === undefined")
    assert page.page.locator("h1", has_text="T{{ 7*7 }}X").count() == 1
    assert page.page.locator(".om-floor", has_text="{{7*7}}-{{lipsum.__module__}}").count() == 1
    row = page.page.locator("#om-room-table tbody tr", has_text=ROOM_NUMBER)
    assert row.count() == 1
    row.click()  # the room popup: number and occupant's name as text
    popup = page.page.locator(".om-room-popup")
    popup.wait_for(timeout=10_000)
    assert ROOM_NUMBER in popup.inner_text() and PERSON_NAME in popup.inner_text()
    assert popup.locator("img, script").count() == 0
    inline = page.page.evaluate(
        "() => [...document.scripts].filter(s => !s.src && s.textContent.trim()).length"
    )
    assert inline == 0
    assert page.page.evaluate("() => window.pwned === undefined")
    page.screenshot("map-building-hostile-names")
    assert_clean(page)


@pytest.mark.browser
def test_holdings_popup_shows_names_and_address_as_text(
    page: PageProbe, live_server: str, hostile_building: tuple[int, int]
) -> None:
    page.page.goto(f"{live_server}/map")
    wait_loaded(page)
    page.page.fill("#om-search", "T{{ 7*7 }}X")
    result = page.page.locator(".om-result", has_text="T{{ 7*7 }}X")
    result.wait_for(timeout=10_000)
    result.first.click()
    popup = page.page.locator(".om-popup")
    popup.wait_for(timeout=10_000)
    text_ = popup.inner_text()
    assert BUILDING_NAME in text_ and ADDRESS in text_
    assert popup.locator("a[href^='javascript'], img, script").count() == 0
    assert page.page.evaluate("() => window.pwned === undefined")
    page.screenshot("map-holdings-hostile-popup")
    assert_clean(page)
