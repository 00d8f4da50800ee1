"""Multipart uploads (floor plans, ledgers, evidence): refused before and while receiving.

One home for what every upload route does before it reads the form: a declared
Content-Length past the limit is refused at once (413), a body that is not multipart is
refused (415), and the body stream itself answers 413 as soon as more than the limit
arrives — without a Content-Length (chunked) Starlette would otherwise spool the whole
multipart body before the file's capped read.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.types import Message

from backend.services.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

FORM_OVERHEAD = 64 * 1024  # the form's other fields and multipart framing


def multipart_request(request: Request, *, limit: int, message: str, message_zh: str) -> Request:
    """The request to read the form from, for a file of at most ``limit`` bytes.

    ``message``/``message_zh`` say what to send when the body is not multipart.
    """
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise PayloadTooLarge(
            f"the request has {declared} bytes (limit {limit})",
            message_zh="上传内容过大",
            details={"bytes": int(declared), "limit": limit},
        )
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UnsupportedMediaType(message, message_zh=message_zh)
    return _capped(request, limit)


def _capped(request: Request, limit: int) -> Request:
    """The request whose body stream answers 413 once more than the file limit plus the
    form overhead has arrived."""
    receive = request.receive
    cap = limit + FORM_OVERHEAD
    seen = 0

    async def counting_receive() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > cap:
                raise PayloadTooLarge(
                    f"the request body exceeds {cap} bytes (file limit {limit} + form "
                    "overhead); refused while receiving",
                    message_zh="上传内容过大",
                    details={"bytes_received": seen, "limit": limit},
                )
        return message

    return Request(request.scope, counting_receive)


def flag(value: Any, name: str) -> bool:
    """A true/false form field (empty: false)."""
    text = str(value or "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return False
    if text in ("1", "true", "yes", "on"):
        return True
    raise InvalidInput(f"{name} must be true or false", message_zh=f"{name} 须为 true 或 false")


def text_field(form: Any, name: str) -> str | None:
    """A text form field (a file sent under that name is refused)."""
    value = form.get(name)
    if value is None or isinstance(value, str):
        return value
    raise InvalidInput(
        f"{name} must be a form field, not a file", message_zh=f"{name} 须为文本字段"
    )


async def file_field(form: Any, limit: int) -> tuple[str, bytes]:
    """The form's ``file`` (422 without one): its name and at most ``limit + 1`` bytes, so
    the caller can tell a file past its limit without reading all of it."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInput("the form needs a file field", message_zh="缺少 file 文件字段")
    return upload.filename or "", await upload.read(limit + 1)


def multipart_doc(
    file_description: str, fields: dict[str, Any], *, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """OpenAPI ``openapi_extra`` for an upload read from the raw request (so that the size
    cap applies while receiving): a multipart body with ``file`` and the form ``fields``."""
    file = {"type": "string", "format": "binary", "description": file_description}
    schema = {
        "type": "object",
        "required": ["file", *required],
        "properties": {"file": file, **fields},
    }
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }
