"""Folium page builders: plain functions from URLs and settings to a ``folium.Map``.

No data is embedded: the page's script fetches layers from the API for the current view.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import cast

import folium
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from map_ui import assets
from map_ui.i18n import Lang, t, texts


@dataclass(frozen=True)
class Basemap:
    """An XYZ tile URL template and its attribution; ``url=None``: no basemap."""

    url: str | None = None
    attribution: str = ""


def offline_map(
    *, center: tuple[float, float], zoom: int, basemap: Basemap, lang: Lang, title: str
) -> folium.Map:
    """A folium map whose JS/CSS all come from this server, never a CDN."""
    m = folium.Map(
        location=[center[1], center[0]],
        zoom_start=zoom,
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
        min_zoom=5,
        max_zoom=21,
    )
    m.default_js = list(assets.MAP_JS)
    m.default_css = list(assets.MAP_CSS)
    if basemap.url:
        folium.TileLayer(
            tiles=basemap.url,
            attr=basemap.attribution or "basemap",
            name="basemap",
            max_zoom=21,
            max_native_zoom=18,
        ).add_to(m)
    head = (
        f'<meta http-equiv="Content-Language" content="{"zh-CN" if lang == "zh" else "en"}">'
        f"<title>{title}</title>"
        f'<link rel="stylesheet" href="{assets.OWN_PREFIX}/officemap.css">'
        f'<link rel="icon" href="{assets.OWN_PREFIX}/favicon.svg" type="image/svg+xml">'
    )
    cast(Figure, m.get_root()).header.add_child(Element(head))
    return m


class _Boot(MacroElement):
    """Calls ``OfficeMap.<function>(map, config)`` right after the map is created."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "OfficeMap.{{ this.function }}({{ this._parent.get_name() }}, {{ this.payload }});"
        "{% endmacro %}"
    )

    def __init__(self, function: str, payload: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "OfficeMapBoot"
        self.function = function
        self.payload = payload


def _boot(m: folium.Map, function: str, config: dict[str, object]) -> None:
    """Load our page script and start ``OfficeMap.<function>`` on the map."""
    cast(Figure, m.get_root()).header.add_child(
        Element(f'<script src="{assets.OWN_PREFIX}/officemap.js"></script>')
    )
    # </ cannot appear inside a <script> block
    payload = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    m.add_child(_Boot(function, payload))


def holdings_map(
    *,
    api_base: str,
    center: tuple[float, float],
    basemap: Basemap,
    lang: Lang = "zh",
    province_adcode: int | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    tiles_base: str = "/tiles",
) -> folium.Map:
    """/map — the province: regions with a choropleth switch, buildings clustered on the
    server at low zoom and as vector-tile footprints when zoomed in, compliance layers."""
    title = t("title.holdings", lang)
    m = offline_map(center=center, zoom=8, basemap=basemap, lang=lang, title=title)
    m.default_js += assets.VECTORGRID_JS
    _boot(
        m,
        "holdings",
        {
            "api": api_base,
            "tiles": tiles_base,
            "lang": lang,
            "texts": texts(lang),
            "province": province_adcode,
            "bounds": list(bounds) if bounds else None,
            "basemap": bool(basemap.url),
            "buildingPage": "/map/buildings/",
            "vacancyPage": "/map/vacancy",
            "footprintZoom": 15,
            "complianceZoom": 12,
            "complianceGroups": ["over_standard", "idle", "not_recovered", "data_quality"],
        },
    )
    return m


@dataclass(frozen=True)
class FloorRef:
    """A floor as the building page lists it."""

    id: int
    level: int
    name: str | None


def building_map(
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
) -> folium.Map:
    """/map/buildings/{id} — floor selector, rooms as vector tiles coloured by category,
    compliance or vacancy, room popups and the floor's room table."""
    title = f"{building_name} · {t('title.building', lang)}"
    minx, miny, maxx, maxy = bounds
    m = offline_map(
        center=((minx + maxx) / 2, (miny + maxy) / 2),
        zoom=18,
        basemap=basemap,
        lang=lang,
        title=title,
    )
    m.default_js += assets.VECTORGRID_JS
    _boot(
        m,
        "building",
        {
            "api": api_base,
            "tiles": tiles_base,
            "lang": lang,
            "texts": texts(lang),
            "basemap": bool(basemap.url),
            "building": {"id": building_id, "name": building_name, "bounds": list(bounds)},
            "floors": [{"id": f.id, "level": f.level, "name": f.name} for f in floors],
            "floor": floor_id,
            "holdingsPage": "/map",
        },
    )
    return m


def vacancy_map(
    *,
    api_base: str,
    center: tuple[float, float],
    basemap: Basemap,
    lang: Lang = "zh",
    province_adcode: int | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    idle_days: int | None = None,
) -> folium.Map:
    """/map/vacancy — idle-area heatmap binned on the server per zoom, region and agency
    level filters, and the leaders' panel. ``idle_days``: the standards' idle threshold
    (None: not configured, no "idle only" filter)."""
    title = t("title.vacancy", lang)
    m = offline_map(center=center, zoom=8, basemap=basemap, lang=lang, title=title)
    m.default_js += assets.HEAT_JS
    _boot(
        m,
        "vacancy",
        {
            "api": api_base,
            "lang": lang,
            "texts": texts(lang),
            "province": province_adcode,
            "bounds": list(bounds) if bounds else None,
            "basemap": bool(basemap.url),
            "holdingsPage": "/map",
            "idleDays": idle_days,
        },
    )
    return m


def render(m: folium.Map) -> str:
    """The page's HTML."""
    html: str = m.get_root().render()
    return html
