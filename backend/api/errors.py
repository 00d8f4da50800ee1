"""One table from domain exceptions to HTTP status and a JSON body.

Every error body is ``{"code": …, "message": …, "message_zh": …, "details": …}``.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import asyncpg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.services import errors as e

STATUS: dict[type[e.DomainError], int] = {
    e.NotFound: 404,
    e.OutOfScope: 404,
    e.Forbidden: 403,
    e.Unauthenticated: 401,
    e.InvalidInput: 422,
    e.InvalidGeometry: 422,
    e.StaleVersion: 412,
    e.PreconditionRequired: 428,
    e.Conflict: 409,
    e.PayloadTooLarge: 413,
    e.UnsupportedMediaType: 415,
    e.RateLimited: 429,
    e.InvalidParameter: 400,
}


def error_body(code: str, message: str, message_zh: str, details: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "message_zh": message_zh, "details": details}


def status_for(exc: e.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_response(exc: e.DomainError) -> JSONResponse:
    """The JSON answer of a domain error (``WWW-Authenticate`` on 401, ``Retry-After`` on 429).

    Routes that must commit their transaction although they refuse (a failed sign-in is
    recorded for throttling) return this instead of raising.
    """
    headers: dict[str, str] = {}
    if isinstance(exc, e.Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, e.RateLimited):
        details = exc.details if isinstance(exc.details, dict) else {}
        headers["Retry-After"] = str(details.get("retry_after_seconds", 1))
        headers["Cache-Control"] = "no-store"
    return JSONResponse(
        error_body(exc.code, exc.message, exc.message_zh, exc.details),
        status_code=status_for(exc),
        headers=headers or None,
    )


def gis_client(scope: Any) -> bool:
    """An OGC API request from a GIS client (not a browser asking for HTML): refused with
    401 JSON, never redirected to the sign-in page."""
    if not (scope["path"] == "/ogc" or scope["path"].startswith("/ogc/")):
        return False
    accept = b"".join(v for k, v in scope["headers"] if k == b"accept")
    return b"text/html" not in accept


async def _domain(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, e.DomainError)
    path = request.url.path
    if (
        isinstance(exc, e.Unauthenticated)
        and not path.startswith(("/api/", "/tiles/"))
        and not gis_client(request.scope)
    ):
        # a page whose session was signed out or revoked: sign in again, then come back
        target = path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return error_response(exc)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"location": list(err.get("loc", ())), "message": err.get("msg"), "type": err.get("type")}
        for err in exc.errors()
    ]
    return JSONResponse(
        error_body("invalid_parameter", "request parameters are invalid", "请求参数无效", details),
        status_code=422,
    )


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: ("not_found", "资源不存在"), 405: ("method_not_allowed", "不支持的请求方法")}
    code, zh = codes.get(exc.status_code, ("http_error", "请求失败"))
    return JSONResponse(
        error_body(code, str(exc.detail), zh), status_code=exc.status_code, headers=exc.headers
    )


def internal_error_body(request_id: str) -> dict[str, Any]:
    """The body of an unhandled error: the usual shape plus the request id (nothing else)."""
    return {
        **error_body(
            "internal_error",
            f"internal error; quote request id {request_id} when reporting it",
            f"服务器内部错误；反馈问题时请提供请求编号 {request_id}",
            {"request_id": request_id},
        ),
        "request_id": request_id,
    }


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    """A value the database cannot hold (out of range, bad text): the caller's input, 422.

    Parameters are bounded at the edge; this is the second wall, logged so the missing
    bound gets fixed.
    """
    rid = getattr(request.state, "request_id", None)
    logging.getLogger("officemap.errors").warning(
        "database refused a value: %s",
        type(exc).__name__,
        extra={"fields": {"request_id": rid, "path": request.url.path}},
    )
    return JSONResponse(
        error_body(
            "invalid_parameter",
            "a value is out of range or not acceptable",
            "参数超出范围或无效",
            {"request_id": rid},
        ),
        status_code=422,
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database cannot be reached (stopped, restarting, connection lost): 503, retry."""
    rid = getattr(request.state, "request_id", None)
    logging.getLogger("officemap.errors").error(
        "database unavailable: %s",
        type(exc).__name__,
        extra={"fields": {"request_id": rid, "path": request.url.path}},
    )
    return JSONResponse(
        error_body(
            "database_unavailable",
            "the database is unavailable; retry shortly (read the object again before "
            "repeating a write)",
            "数据库暂时不可用，请稍后重试（重复写入前请先重新读取数据）",
            {"request_id": rid},
        ),
        status_code=503,
        headers={"Retry-After": "5"},
    )


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(e.DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(sqlalchemy.exc.DataError, _data_error)
    app.add_exception_handler(asyncpg.exceptions.DataError, _data_error)
    app.add_exception_handler(sqlalchemy.exc.OperationalError, _database_unavailable)
    app.add_exception_handler(sqlalchemy.exc.InterfaceError, _database_unavailable)
    app.add_exception_handler(asyncpg.exceptions.PostgresConnectionError, _database_unavailable)
    app.add_exception_handler(asyncpg.exceptions.ConnectionDoesNotExistError, _database_unavailable)
