"""Third-party map assets, installed from the npm registry at setup and served by the app.

``VENDOR`` maps a URL prefix under ``/static/vendor/`` to a folder of ``node_modules``;
no page loads anything from a CDN.
"""

from __future__ import annotations

from pathlib import Path

VENDOR_PREFIX = "/static/vendor"
OWN_PREFIX = "/static/officemap"
OWN_DIR = Path(__file__).resolve().parent / "static"

# URL folder → folder inside node_modules
VENDOR: dict[str, str] = {
    "leaflet": "leaflet/dist",
    "heat": "leaflet.heat/dist",
    "vectorgrid": "leaflet.vectorgrid/dist",
    "swagger-ui": "swagger-ui-dist",
}

LEAFLET_JS = ("leaflet", f"{VENDOR_PREFIX}/leaflet/leaflet.js")
LEAFLET_CSS = ("leaflet_css", f"{VENDOR_PREFIX}/leaflet/leaflet.css")

# what every page loads: Leaflet only (folium's default jQuery / Bootstrap / Font Awesome /
# awesome-markers are not used by our pages, so they are not installed either; buildings are
# clustered on the server, not by leaflet.markercluster)
MAP_JS = [LEAFLET_JS]
MAP_CSS = [LEAFLET_CSS]
HEAT_JS = [("leaflet-heat.js", f"{VENDOR_PREFIX}/heat/leaflet-heat.js")]
VECTORGRID_JS = [("vectorgrid", f"{VENDOR_PREFIX}/vectorgrid/Leaflet.VectorGrid.bundled.min.js")]


def vendor_dirs(node_modules: Path) -> dict[str, Path]:
    """URL folder → existing folder on disk (missing ones are left out)."""
    return {
        name: node_modules / sub for name, sub in VENDOR.items() if (node_modules / sub).is_dir()
    }


# the API documentation at /docs (Swagger UI from the npm package swagger-ui-dist)
SWAGGER_JS = f"{VENDOR_PREFIX}/swagger-ui/swagger-ui-bundle.js"
SWAGGER_PRESET_JS = f"{VENDOR_PREFIX}/swagger-ui/swagger-ui-standalone-preset.js"
SWAGGER_CSS = f"{VENDOR_PREFIX}/swagger-ui/swagger-ui.css"
SWAGGER_INIT_JS = f"{OWN_PREFIX}/js/api-docs.js"
SWAGGER_OAUTH2_REDIRECT = f"{VENDOR_PREFIX}/swagger-ui/oauth2-redirect.html"
