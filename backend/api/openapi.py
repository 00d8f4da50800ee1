"""The OpenAPI document: the shared schemas, and the error answers of every API operation.

Every ``/api/`` operation may answer an error (401 without a token, 404, 422 on bad
parameters, 5XX); each is the one JSON shape of ``backend.api.errors``. Rather than
repeating that on every route, the document is completed once here: operations get
``4XX``/``5XX`` answers with the ``ErrorBody`` schema, and documented error statuses
without a body schema get it too.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from backend.api.schemas import SCHEMAS, ErrorBody, ref

ERROR_CONTENT = {"application/json": {"schema": ref(ErrorBody)}}


def _components(doc: dict[str, Any]) -> None:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for model in SCHEMAS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas.setdefault(name, sub)
        schemas[model.__name__] = schema


def _errors(doc: dict[str, Any]) -> None:
    for path, item in doc.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = op.setdefault("responses", {})
            for code, answer in responses.items():
                if code[:1] in "45" and "content" not in answer:
                    answer["content"] = ERROR_CONTENT
                elif code == "422" and "HTTPValidationError" in str(answer.get("content")):
                    answer["content"] = ERROR_CONTENT  # our handler's shape, not FastAPI's
            responses.setdefault("4XX", {"description": "error", "content": ERROR_CONTENT})
            responses.setdefault(
                "5XX",
                {"description": "server error (with a request id)", "content": ERROR_CONTENT},
            )


def install(app: FastAPI) -> None:
    """Complete ``app``'s OpenAPI document (built once, on first request)."""

    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = build()
            _components(doc)
            _errors(doc)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
