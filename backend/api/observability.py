"""Request ids, one structured log line per request, and the catch-all JSON 500.

A pure ASGI middleware (no thread hop, no body buffering) that:

- gives every request an id (a sane incoming ``X-Request-ID`` is kept, else a new one),
  answers it in ``X-Request-ID`` and keeps it in ``request.state.request_id`` so error
  bodies can carry it;
- turns any exception that escapes the app into the JSON error shape with status 500 and
  the request id (never a stack trace, a path or a library message in the answer); the
  exception itself is logged with the id;
- writes one JSON line per request to the ``officemap.access`` logger: id, user, method,
  route template, status, milliseconds. Never a query string, header, token or body.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api.errors import internal_error_body

ACCESS = logging.getLogger("officemap.access")
ERRORS = logging.getLogger("officemap.errors")
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
request_id_var: ContextVar[str | None] = ContextVar("officemap_request_id", default=None)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        doc.update(getattr(record, "fields", {}) or {})
        if "request_id" not in doc and request_id_var.get():
            doc["request_id"] = request_id_var.get()
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr for the app's ``officemap.*`` loggers (idempotent; records
    still propagate, so a host's own root handlers see them too)."""
    root = logging.getLogger("officemap")
    if any(getattr(h, "_officemap", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._officemap = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)


def _user(scope: Scope) -> str | None:
    """The caller's username from a valid token, for the log only (None when anonymous)."""
    from backend.accounts import auth
    from backend.api.authn import request_token
    from backend.services.errors import DomainError

    token = request_token(scope.get("headers", []))
    if not token:
        return None
    try:
        return auth.token_subject(token)
    except DomainError:
        return None


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else "(unmatched)"


class RequestContext:
    """Request id, access log line and catch-all 500 (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode(
            "latin-1"
        )
        rid = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", rid.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            ERRORS.exception(
                "unhandled error",
                extra={"fields": {"request_id": rid, "route": _route(scope)}},
            )
            status = 500
            if not response_started:
                body = json.dumps(internal_error_body(rid), ensure_ascii=False).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"),
                            (b"x-request-id", rid.encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
        finally:
            if ACCESS.isEnabledFor(logging.INFO):
                ACCESS.info(
                    "request",
                    extra={
                        "fields": {
                            "request_id": rid,
                            "user": _user(scope),
                            "method": scope.get("method"),
                            "route": _route(scope),
                            "status": status,
                            "ms": round((time.perf_counter() - started) * 1000, 2),
                        }
                    },
                )
            request_id_var.reset(token)


def install(app: Any) -> None:
    """Outermost middleware of ``app`` (add it after every other middleware), and the
    JSON log lines."""
    configure_logging()
    app.add_middleware(RequestContext)
