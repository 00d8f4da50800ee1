"""Map pages: a folium-built Leaflet map inside an autoescaped Jinja2 template.

folium builds the Leaflet map (its options, scale control and basemap layer) from numbers
and our own constants only; that script is served as a file of its own
(``map_script``), never inline. Everything that comes from the register — names, floor
lists, bounds — goes to the page as data (``data-config``), and the page's ES module
builds the DOM from it with ``textContent``. No data is embedded beyond that: layers are
fetched from the API for the current view.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, cast

import folium
from branca.element import Figure

from map_ui import assets
from map_ui.i18n import Lang, t
from map_ui.templating import render_page

RuleGroups = Mapping[str, Sequence[str]]
"""Compliance layer group → its rule codes (a code ending in "." is a prefix)."""
PageKind = Literal["holdings", "building", "vacancy"]
MAP_ID = "main"  # folium names the map's div and JS variable ``map_<id>``
MAP_NAME = f"map_{MAP_ID}"


@dataclass(frozen=True)
class Basemap:
    """An XYZ tile URL template and its attribution; ``url=None``: no basemap."""

    url: str | None = None
    attribution: str = ""


@dataclass(frozen=True)
class FloorRef:
    """A floor as the building page lists it."""

    id: int
    level: int
    name: str | None


_PAGE_JS: dict[PageKind, list[str]] = {
    "holdings": [src for _, src in assets.VECTORGRID_JS],
    "building": [src for _, src in assets.VECTORGRID_JS],
    "vacancy": [src for _, src in assets.HEAT_JS],
}


@lru_cache(maxsize=8)
def map_script(basemap: Basemap) -> str:
    """The JS that creates the Leaflet map (``var map_main = L.map(…)``), built by folium.

    The same for every page and caller: the page's module sets the view from its
    ``data-config``. Only the administrator's basemap setting reaches folium.
    """
    m = folium.Map(
        location=[30.0, 120.0],
        zoom_start=8,
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
        min_zoom=4,
        max_zoom=21,
    )
    m._id = MAP_ID  # a stable name instead of a random one: the div is in our template
    if basemap.url:
        folium.TileLayer(
            tiles=basemap.url,
            attr=basemap.attribution or "basemap",
            name="basemap",
            max_zoom=21,
            max_native_zoom=18,
        ).add_to(m)
    figure = cast(Figure, m.get_root())
    figure.render()
    script: str = figure.script.render()
    return script


def _map_page(kind: PageKind, *, lang: Lang, title: str, config: dict[str, object]) -> str:
    return render_page(
        "map.html",
        lang=lang,
        title=title,
        config={"page": kind, "mapName": MAP_NAME, **config},
        page=kind,
        map_id=MAP_NAME,
        map_script="/map/leaflet.js",
        css=[href for _, href in assets.MAP_CSS],
        js=[*(src for _, src in assets.MAP_JS), *_PAGE_JS[kind]],
    )


def holdings_page(
    *,
    api_base: str,
    basemap: Basemap,
    lang: Lang = "zh",
    province_adcode: int | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    tiles_base: str = "/tiles",
    rule_groups: RuleGroups | None = None,
) -> str:
    """/map — the province: regions with a choropleth switch, buildings clustered on the
    server at low zoom and as vector-tile footprints when zoomed in, compliance layers."""
    return _map_page(
        "holdings",
        lang=lang,
        title=t("title.holdings", lang),
        config={
            "api": api_base,
            "tiles": tiles_base,
            "province": province_adcode,
            "bounds": list(bounds) if bounds else None,
            "basemap": bool(basemap.url),
            "buildingPage": "/map/buildings/",
            "vacancyPage": "/map/vacancy",
            "footprintZoom": 15,
            "complianceZoom": 12,
            "complianceGroups": ["over_standard", "idle", "not_recovered", "data_quality"],
            "ruleGroups": dict(rule_groups or {}),
        },
    )


def building_page(
    *,
    api_base: str,
    building_id: int,
    building_name: str,
    bounds: tuple[float, float, float, float],
    floors: list[FloorRef],
    floor_id: int | None,
    basemap: Basemap,
    lang: Lang = "zh",
    tiles_base: str = "/tiles",
    rule_groups: RuleGroups | None = None,
) -> str:
    """/map/buildings/{id} — floor selector, rooms as vector tiles coloured by category,
    compliance or vacancy, room popups and the floor's room table."""
    return _map_page(
        "building",
        lang=lang,
        title=f"{building_name} · {t('title.building', lang)}",
        config={
            "api": api_base,
            "tiles": tiles_base,
            "basemap": bool(basemap.url),
            "building": {"id": building_id, "name": building_name, "bounds": list(bounds)},
            "floors": [{"id": f.id, "level": f.level, "name": f.name} for f in floors],
            "floor": floor_id,
            "holdingsPage": "/map",
            "ruleGroups": dict(rule_groups or {}),
        },
    )


def vacancy_page(
    *,
    api_base: str,
    basemap: Basemap,
    lang: Lang = "zh",
    province_adcode: int | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    idle_days: int | None = None,
) -> str:
    """/map/vacancy — idle-area heatmap binned on the server per zoom, region and agency
    level filters, and the leaders' panel. ``idle_days``: the standards' idle threshold
    (None: not configured, no "idle only" filter)."""
    return _map_page(
        "vacancy",
        lang=lang,
        title=t("title.vacancy", lang),
        config={
            "api": api_base,
            "province": province_adcode,
            "bounds": list(bounds) if bounds else None,
            "basemap": bool(basemap.url),
            "holdingsPage": "/map",
            "idleDays": idle_days,
        },
    )
