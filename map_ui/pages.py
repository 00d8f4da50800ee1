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
) -> folium.Map:
    """/map — the province: region boundaries, buildings clustered, footprints when zoomed in."""
    title = t("title.holdings", lang)
    m = offline_map(center=center, zoom=8, basemap=basemap, lang=lang, title=title)
    m.default_js += assets.MARKERCLUSTER_JS
    m.default_css += assets.MARKERCLUSTER_CSS
    _boot(
        m,
        "holdings",
        {
            "api": api_base,
            "lang": lang,
            "texts": texts(lang),
            "province": province_adcode,
            "basemap": bool(basemap.url),
            "buildingPage": "/map/buildings/",
            "footprintZoom": 15,
        },
    )
    return m


def render(m: folium.Map) -> str:
    """The page's HTML."""
    html: str = m.get_root().render()
    return html
