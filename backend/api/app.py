"""The FastAPI application."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from backend.api import authn, docs, errors, observability, openapi, routes
from backend.db import replica, roles
from backend.db import session as db_session
from backend.db.async_pool import PoolReader
from backend.maps import tile_cache
from backend.settings import database_settings, map_settings, replica_settings
from map_ui import assets

DESCRIPTION = """
**OfficeMap 办公用房一张图** — the register of a province's Party and government office
buildings, floors and rooms, with areas computed from geometry.

- Geometries are GeoJSON in CGCS2000 lon/lat (EPSG:4490, RFC 7946 axis order).
- Areas: planar in the survey's projected CRS (CGCS2000 3° Gauss–Krüger for lon/lat
  input), stored with the method, reported to 0.01 m² rounded half-up; never Web Mercator.
- Errors are JSON: `{"code", "message", "message_zh", "details"}`.
- Lists are paginated with `limit`/`offset` and report `numberMatched`/`numberReturned`.
"""


def create_app(database_url: str | None = None) -> FastAPI:
    """Build the app; its database engine and pool connect with ``database_url``, else
    ``OFFICEMAP_DATABASE_APP_URL``: the LOGIN role requests run as, never the owner's."""
    url = database_url or database_settings().app_url
    if url is None and database_settings().url:
        raise RuntimeError(
            "OFFICEMAP_DATABASE_APP_URL is not set: requests do not run as the owner "
            "(OFFICEMAP_DATABASE_URL). " + roles.CREATE_HINT
        )
    if url:
        db_session.configure(
            url, pool_size=database_settings().pool_size, echo=database_settings().echo
        )
    reader = PoolReader(url, size=database_settings().pool_size) if url else None
    if url and replica_settings().urls:
        replica.configure_replicas(replica_settings().urls, pool_size=database_settings().pool_size)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.reader = reader  # the by-id reads' async pool (opened on first use)
        yield
        if reader is not None:
            await reader.close()

    app = FastAPI(
        lifespan=lifespan,
        title="OfficeMap 办公用房一张图",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served from local assets by backend.api.docs
        redoc_url=None,
    )
    docs.install(app, openapi_url="/api/v1/openapi.json")
    openapi.install(app)
    errors.install(app)
    authn.install(app)
    app.add_middleware(tile_cache.TileCacheGate)  # cached tiles before the sign-in gate
    observability.install(app)  # outermost: request id, access log, catch-all JSON 500
    # every module of backend.api.routes with a ``router`` is included, in name order
    for mod in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"backend.api.routes.{mod.name}")
        if hasattr(module, "router"):
            app.include_router(module.router)
    for name, folder in assets.vendor_dirs(map_settings().assets_dir).items():
        app.mount(
            f"{assets.VENDOR_PREFIX}/{name}", StaticFiles(directory=folder), name=f"vendor-{name}"
        )
    app.mount(assets.OWN_PREFIX, StaticFiles(directory=assets.OWN_DIR), name="officemap-static")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/map")

    return app
