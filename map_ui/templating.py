"""Pages from Jinja2 template files, always autoescaped.

User text (names, notes, file and level names) only ever reaches a page as a template
*value*: escaped into the HTML, or inside the JSON of the ``data-config`` attribute that
the page's scripts read. No string that carries data is ever compiled as a template
(folium/branca compile the strings they are given, so folium is only handed numbers and
our own constants, see ``map_ui.pages``). Pages carry no inline script: the
Content-Security-Policy below forbids it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from map_ui import assets
from map_ui.i18n import Lang, texts

_ENV = Environment(
    loader=PackageLoader("map_ui", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_page(
    name: str,
    *,
    lang: Lang,
    title: str,
    config: Mapping[str, Any] | None = None,
    **context: Any,
) -> str:
    """Render ``map_ui/templates/<name>`` with autoescape.

    ``config`` is serialised to JSON into the body's ``data-config`` attribute (Jinja's
    ``tojson`` escapes ``< > & '`` so the attribute cannot be closed from inside).
    """
    template = _ENV.get_template(name)
    page_config = {"lang": lang, "texts": texts(lang), **(config or {})}
    return template.render(
        lang=lang,
        html_lang="zh-CN" if lang == "zh" else "en",
        title=title,
        config=page_config,
        static=assets.OWN_PREFIX,
        vendor=assets.VENDOR_PREFIX,
        **context,
    )


def content_security_policy(*, image_sources: Iterable[str] = ()) -> str:
    """The policy of every page: our own scripts only (no inline, no eval), no framing.

    ``style-src`` allows inline styles: Leaflet positions its panes and markers with
    ``style`` attributes; styles cannot run code.
    """
    images = " ".join(["'self'", "data:", "blob:", *image_sources])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def origin_of(url_template: str | None) -> list[str]:
    """The origin of a basemap URL template, for ``img-src`` (none without a basemap).

    >>> origin_of("https://t{s}.example.cn/tiles/{z}/{x}/{y}.png")
    ['https://*.example.cn']
    >>> origin_of("http://10.1.2.3:8080/{z}/{x}/{y}.png"), origin_of(None)
    (['http://10.1.2.3:8080'], [])
    """
    if not url_template:
        return []
    parts = urlsplit(url_template)
    host = parts.netloc
    if "{" in host:  # subdomain placeholder such as t{s}.example.cn
        host = "*." + host.split(".", 1)[1] if "." in host else host
    return [f"{parts.scheme}://{host}"] if parts.scheme and host else []


__all__ = ["content_security_policy", "origin_of", "render_page"]
