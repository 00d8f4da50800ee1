"""The gate: anonymous requests reach only the login page, health, static assets and docs.

A pure ASGI middleware checks that a request carries a valid token (``Authorization:
Bearer`` or the session cookie) before any route runs; who the caller is, and what they
may see, is decided by ``backend.api.deps.get_principal``. Anonymous page requests are
redirected to ``/login``; anonymous API requests get 401.
"""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.services import auth
from backend.services.errors import Unauthenticated

PUBLIC_PATHS = frozenset(
    {
        "/login",
        "/logout",
        "/api/v1/health",
        "/api/v1/auth/token",
        "/api/v1/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
    }
)
PUBLIC_PREFIXES = ("/static/",)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def request_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The bearer token, else the session cookie's value."""
    cookie_token = None
    for name, value in headers:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials:
                return credentials.strip()
        elif name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed cookie header is anonymous
                continue
            morsel = jar.get(auth.cookie_name())
            if morsel is not None:
                cookie_token = morsel.value
    return cookie_token


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
        elif scope["path"].startswith("/api/"):
            await _send(send, 401, _json_error(error), [(b"www-authenticate", b"Bearer")])
        else:
            target = scope["path"] + (
                "?" + scope["query_string"].decode() if scope["query_string"] else ""
            )
            location = "/login?next=" + quote(target, safe="")
            await _send(send, 303, b"", [(b"location", location.encode())])


def _json_error(exc: Unauthenticated) -> bytes:
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


def install(app: FastAPI) -> None:
    app.add_middleware(AuthGate)
