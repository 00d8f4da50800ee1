"""Answers the feature routes share: an object with its ETag, a page of items, a download.

One home for the HTTP side of optimistic locking (the ETag a later If-Match names), the
list envelope (``numberMatched``/``numberReturned``/``items``) and spreadsheet downloads
(a Chinese file name for browsers that read ``filename*``, an ASCII one for the others).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from backend.api.deps import etag
from backend.exports.workbook import XLSX

# OpenAPI ``responses=`` entries, merged per route with ``{**A, **B}``
XLSX_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {XLSX: {}}, "description": "Excel workbook"}
}
NOT_FOUND_DOC: dict[int | str, dict[str, Any]] = {
    404: {"description": "not found or outside the caller's scope"},
}
VERSIONED_DOC: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND_DOC,
    412: {"description": "If-Match is stale: the object changed since it was read"},
    428: {"description": "If-Match is missing"},
}
WRITE_DOC: dict[int | str, dict[str, Any]] = {
    403: {"description": "the caller's role may not do this"},
    **VERSIONED_DOC,
    409: {"description": "the object's state does not allow this (or a duplicate)"},
    422: {"description": "invalid input (the field is named in details)"},
}


def _json(body: Mapping[str, Any] | BaseModel) -> Any:
    return body.model_dump(mode="json") if isinstance(body, BaseModel) else body


def versioned(
    body: Mapping[str, Any] | BaseModel,
    *,
    status: int = 200,
    location: str | None = None,
) -> JSONResponse:
    """``body`` (a schema or its dict, with a ``version``) and that version as its ETag."""
    content = _json(body)
    headers = {"ETag": etag(int(content["version"]))}
    if location is not None:
        headers["Location"] = location
    return JSONResponse(content, status_code=status, headers=headers)


def paged(total: int, items: Iterable[Mapping[str, Any] | BaseModel]) -> dict[str, Any]:
    """One page of a list, with how many match in all."""
    out = [_json(i) for i in items]
    return {"numberMatched": total, "numberReturned": len(out), "items": out}


def download(content: bytes, filename: str, ascii_name: str, *, media_type: str = XLSX) -> Response:
    """A file to save (``attachment``), named ``filename`` where the browser can."""
    return Response(
        content=content,
        media_type=media_type,
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
            )
        },
    )


__all__ = [
    "NOT_FOUND_DOC",
    "VERSIONED_DOC",
    "WRITE_DOC",
    "XLSX",
    "XLSX_DOC",
    "download",
    "paged",
    "versioned",
]
