"""Cached vector tiles answered before the app runs: no database, no routing, no thread.

A pure ASGI middleware in front of the auth gate. For ``GET /tiles/{layer}/{z}/{x}/{y}.pbf``
it verifies the bearer token or session cookie (signature, expiry; a verified token is
remembered until its own expiry), takes the caller's principal from a short-lived cache,
and looks the tile up in the tile cache (``tiles.cached_tile``). A hit is answered at once —
gzip-compressed when the client accepts it (compressed once, when the tile was made), with
its ETag and 304 for a matching ``If-None-Match``. Anything else (no token, an unknown
parameter, a miss, a stale data version) goes on to the app, whose tile route reads the
database, refills both caches and answers the same way.

Principal cache, per token: filled by the tile route after it read the users row (which
also checks that this very token is not revoked: signed out, or issued before the user's
last "sign out everywhere" or password change); an entry serves for
``OFFICEMAP_FASTPATH_PRINCIPAL_TTL_S`` seconds (default 5) and only while the audited data
version it was read at is still current (every grant, revoke, deactivation or other audited
write moves it). A token revoked in a way the audit trail does not record therefore stops
working on cached tiles within that TTL at the latest.
"""

from __future__ import annotations

import re
import threading
import time
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

import jwt
from cachetools import TLRUCache, TTLCache
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.accounts import auth
from backend.accounts.access import Principal
from backend.api.authn import request_token
from backend.maps import tiles
from backend.services.errors import Unauthenticated
from backend.settings import fastpath_settings

MVT = "application/vnd.mapbox-vector-tile"
CACHE_CONTROL = "private, max-age=60, must-revalidate"
_PATH = re.compile(
    r"^/tiles/(buildings|floors|rooms|compliance)/(\d{1,2})/(\d{1,8})/(\d{1,8})\.pbf$"
)
_INT_PARAMS = {"floor", "building", "level"}
_GROUPS = frozenset({"over_standard", "idle", "not_recovered", "data_quality", "lease"})

# the tile route (a worker thread) fills them, this middleware (the event loop) reads them
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _tokens() -> TLRUCache[str, tuple[str, float]]:
    """Verified token → (username, expires at in epoch seconds): kept until its own expiry."""
    return TLRUCache(
        maxsize=fastpath_settings().cache_entries,
        ttu=lambda _token, hit, _now: hit[1],
        timer=time.time,
    )


@lru_cache(maxsize=1)
def _principals() -> TTLCache[str, tuple[Principal, int]]:
    """Token → (principal, data version it was read at), for ``principal_ttl_s``."""
    s = fastpath_settings()
    return TTLCache(maxsize=s.cache_entries, ttl=s.principal_ttl_s, timer=time.monotonic)


def remember(token: str | None, principal: Principal) -> None:
    """Called by the tile route after it loaded ``principal`` for ``token`` from the users row
    (which also checked that this token was not revoked)."""
    if token is None:
        return
    ttl = fastpath_settings().principal_ttl_s
    if ttl <= 0:
        return
    version = tiles.known_data_version()
    if version is None:
        return
    with _lock:
        _principals()[token] = (principal, version)


def forget(token: str | None = None) -> None:
    """Drop one token's cached principal (or all)."""
    with _lock:
        if token is None:  # new caches, sized and timed by the current settings
            _principals.cache_clear()
            _tokens.cache_clear()
        else:
            _principals().pop(token, None)


def _username(token: str) -> str | None:
    with _lock:
        hit = _tokens().get(token)
    if hit is not None:
        return hit[0]
    try:
        subject = auth.token_subject(token)
        expires = float(jwt.decode(token, options={"verify_signature": False})["exp"])
    except (Unauthenticated, jwt.PyJWTError, KeyError, ValueError):
        return None
    if expires > time.time():
        with _lock:
            _tokens()[token] = (subject, expires)
    return subject


def _principal(token: str) -> Principal | None:
    with _lock:
        hit = _principals().get(token)
    if hit is None or hit[1] != tiles.known_data_version():
        return None
    return hit[0]


def _filter(query: bytes) -> tiles.TileFilter | None:
    values: dict[str, Any] = {}
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name in values:
            return None
        if name in _INT_PARAMS and re.fullmatch(r"-?\d{1,9}", value):
            values[name] = int(value)
        elif name == "group" and value in _GROUPS:
            values[name] = value
        else:
            return None  # anything unusual is the route's to check
    return tiles.TileFilter(**values)


def response_parts(
    tile: tiles.Tile, headers: list[tuple[bytes, bytes]]
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and body for ``tile`` given the request's headers (gzip, ETag/304)."""
    accept = b"".join(v for k, v in headers if k == b"accept-encoding")
    match = b"".join(v for k, v in headers if k == b"if-none-match").decode("latin-1")
    gz = b"gzip" in accept and bool(tile.gzip)
    etag = tile.gzip_etag if gz else tile.etag
    out = [
        (b"etag", etag.encode()),
        (b"cache-control", CACHE_CONTROL.encode()),
        (b"vary", b"Accept-Encoding"),
    ]
    if match and etag in {t.strip() for t in match.split(",")}:
        return 304, out, b""
    body = tile.gzip if gz else tile.data
    out += [(b"content-type", MVT.encode()), (b"content-length", str(len(body)).encode())]
    if gz:
        out.append((b"content-encoding", b"gzip"))
    return 200, out, body


class TileCacheGate:
    """Answer cached tile hits before the app (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            match = _PATH.match(scope["path"])
            if match is not None:
                hit = self._hit(scope, match)
                if hit is not None:
                    status, headers, body = hit
                    await send(
                        {"type": "http.response.start", "status": status, "headers": headers}
                    )
                    await send(
                        {
                            "type": "http.response.body",
                            "body": body if scope["method"] == "GET" else b"",
                        }
                    )
                    return
        await self.app(scope, receive, send)

    @staticmethod
    def _hit(
        scope: Scope, match: re.Match[str]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        token = request_token(scope["headers"])
        flt = _filter(scope["query_string"])
        if token is None or flt is None:
            return None
        principal = _principal(token) if _username(token) is not None else None
        if principal is None:
            return None
        layer, z, x, y = match.group(1), *(int(g) for g in match.groups()[1:])
        if not (z <= tiles.MAX_ZOOM and x < 2**z and y < 2**z):
            return None
        tile = tiles.cached_tile(layer, z, x, y, scope=principal.scope, flt=flt)
        if tile is None:
            return None
        return response_parts(tile, scope["headers"])
