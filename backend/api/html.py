"""HTML answers: every page goes out with the same security headers."""

from __future__ import annotations

from fastapi.responses import HTMLResponse

from backend.settings import map_settings
from map_ui.templating import content_security_policy, origin_of


def page_response(html: str, *, status_code: int = 200) -> HTMLResponse:
    """A page: no inline script may run, nothing may frame it, nothing is cached."""
    csp = content_security_policy(image_sources=origin_of(map_settings().basemap_url))
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "Content-Security-Policy": csp,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store",
        },
    )
