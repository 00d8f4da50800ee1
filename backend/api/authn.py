"""The gates: cross-site writes refused; anonymous requests reach only the login page,
health, static assets and docs.

Pure ASGI middlewares run before any route (and before any body is read):

- ``CrossSiteGuard``: a request with an unsafe method that carries the session cookie (and
  no bearer token) must come from this server's origin — ``Origin`` matching ``Host`` or
  one of ``OFFICEMAP_SESSION_ALLOWED_ORIGINS``, or ``Sec-Fetch-Site: same-origin`` — else
  403 JSON (``backend.sessions.service.cross_site_refusal``). The login form is checked
  the same way when it names a foreign Origin (login CSRF).
- ``AuthGate``: the request carries a validly signed token (``Authorization: Bearer`` or
  the session cookie, read by FastAPI's security schemes ``bearer_scheme`` and
  ``cookie_scheme`` — the bearer token wins, see ``request_token``); who the caller is, what they may see and whether the token was
  revoked is decided where the users row is read (``backend.api.deps.get_principal``,
  ``users.read_as``). Anonymous page requests are redirected to ``/login``; anonymous API
  requests get 401.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request, Response
from fastapi.security import APIKeyCookie, OAuth2PasswordBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.accounts import auth
from backend.api.errors import gis_client
from backend.services.errors import DomainError, Forbidden, Unauthenticated
from backend.sessions.service import cross_site_refusal
from backend.settings import auth_settings

PUBLIC_PATHS = frozenset(
    {
        "/login",
        "/logout",
        "/api/v1/health",
        "/api/v1/auth/token",
        "/api/v1/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/ogc/api",
    }
)
PUBLIC_PREFIXES = ("/static/",)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


# The two ways a request carries its token, as FastAPI security schemes: routes take them
# as dependencies (``backend.api.deps.get_token``), which also documents them in OpenAPI.
bearer_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    auto_error=False,
    description="`Authorization: Bearer <token>` from `POST /api/v1/auth/token`",
)
cookie_scheme = APIKeyCookie(
    name=auth.cookie_name(),
    auto_error=False,
    scheme_name="SessionCookie",
    description="the HttpOnly session cookie set by signing in at /login",
)


def choose_token(bearer: str | None, cookie: str | None) -> str | None:
    """The request's token: the bearer token when there is one, else the session cookie."""
    return (bearer or "").strip() or cookie or None


async def request_credentials(
    bearer: Annotated[str | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> str | None:
    """The request's token (bearer, else cookie) as a dependency; None when there is none."""
    return choose_token(bearer, cookie)


def _connection(headers: list[tuple[bytes, bytes]]) -> HTTPConnection:
    return HTTPConnection({"type": "http", "headers": headers})


def _bearer(conn: HTTPConnection) -> str | None:
    """What ``bearer_scheme`` reads, for code outside dependency injection (middlewares)."""
    scheme, token = get_authorization_scheme_param(conn.headers.get("Authorization"))
    return token if scheme.lower() == "bearer" else None


def _cookie(conn: HTTPConnection) -> str | None:
    """What ``cookie_scheme`` reads, for code outside dependency injection (middlewares)."""
    return conn.cookies.get(cookie_scheme.model.name) or None


def _credentials(headers: list[tuple[bytes, bytes]]) -> tuple[bool, bool]:
    """(has a bearer token, has the session cookie)."""
    conn = _connection(headers)
    return bool((_bearer(conn) or "").strip()), _cookie(conn) is not None


class CrossSiteGuard:
    """Refuse cookie-authenticated unsafe requests from another origin (CSRF), with 403."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        has_bearer, has_cookie = _credentials(scope["headers"])
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        # the login form is also checked when a browser names its origin (login CSRF)
        login = scope["path"] == "/login" and "origin" in headers
        ambient = not has_bearer and (has_cookie or login)
        reason = cross_site_refusal(scope["method"], headers, ambient_credentials=ambient)
        if reason is None:
            await self.app(scope, receive, send)
            return
        error = Forbidden(
            f"cross-site request refused: {reason}",
            message_zh="已拒绝跨站请求：带登录 Cookie 的写操作须来自本站页面",
            details={"reason": "cross_site", "origin": headers.get("origin", "")[:100] or None},
        )
        await _send(send, 403, _json_error(error), [])


def request_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The bearer token, else the session cookie's value (``choose_token``), from raw ASGI
    headers: for the middlewares, which run before dependency injection."""
    conn = _connection(headers)
    return choose_token(_bearer(conn), _cookie(conn))


class AuthGate:
    """Refuse anonymous requests outside the public paths."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        token = request_token(scope["headers"])
        error: Unauthenticated | None = auth.not_signed_in() if token is None else None
        if token is not None:
            try:
                auth.token_subject(token)
            except Unauthenticated as exc:
                error = exc
        if error is None:
            await self.app(scope, receive, send)
        elif scope["path"].startswith("/api/") or gis_client(scope):
            await _send(send, 401, _json_error(error), [(b"www-authenticate", b"Bearer")])
        else:
            target = scope["path"] + (
                "?" + scope["query_string"].decode() if scope["query_string"] else ""
            )
            location = "/login?next=" + quote(target, safe="")
            await _send(send, 303, b"", [(b"location", location.encode())])


def _json_error(exc: DomainError) -> bytes:
    body: dict[str, Any] = {
        "code": exc.code,
        "message": exc.message,
        "message_zh": exc.message_zh,
        "details": exc.details,
    }
    return json.dumps(body, ensure_ascii=False).encode()


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [
        *headers,
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """The HttpOnly, SameSite=Strict session cookie (Secure over https)."""
    response.set_cookie(
        cookie_scheme.model.name,
        token,
        max_age=auth_settings().token_minutes * 60,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def install(app: FastAPI) -> None:
    app.add_middleware(AuthGate)
    app.add_middleware(CrossSiteGuard)  # added last: runs first
