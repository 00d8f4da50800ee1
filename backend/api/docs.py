"""``/docs``: the OpenAPI documentation page, working offline.

Swagger UI comes from the npm package ``swagger-ui-dist`` installed at setup and served
by the app under ``/static/vendor/swagger-ui/`` (like the map's Leaflet); the page has no
inline script (its settings travel in a JSON ``data-config`` attribute), so it works
under a Content-Security-Policy without ``unsafe-inline`` and on an intranet without
internet access.
"""

from __future__ import annotations

import html
import json

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from backend.api.html import page_response
from map_ui import assets

OAUTH2_REDIRECT = "/docs/oauth2-redirect"


def docs_page(openapi_url: str, title: str) -> str:
    """The Swagger UI page (every asset local; settings in ``data-config``)."""
    config = json.dumps({"openapi_url": openapi_url, "oauth2_redirect_url": OAUTH2_REDIRECT})
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{html.escape(title)} — API</title>
<link rel="icon" href="{assets.OWN_PREFIX}/favicon.svg">
<link rel="stylesheet" href="{assets.SWAGGER_CSS}">
</head>
<body data-config="{html.escape(config, quote=True)}">
<div id="swagger-ui"></div>
<script src="{assets.SWAGGER_JS}"></script>
<script src="{assets.SWAGGER_PRESET_JS}"></script>
<script src="{assets.SWAGGER_INIT_JS}"></script>
</body>
</html>
"""


def install(app: FastAPI, *, openapi_url: str) -> None:
    """Serve ``/docs`` and its OAuth2 redirect page from local assets."""

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return page_response(docs_page(openapi_url, app.title))

    @app.get(OAUTH2_REDIRECT, include_in_schema=False)
    def swagger_ui_redirect(request: Request) -> RedirectResponse:
        # the package's own page (its script is a file, not inline), query string kept
        query = request.url.query
        return RedirectResponse(assets.SWAGGER_OAUTH2_REDIRECT + (f"?{query}" if query else ""))
