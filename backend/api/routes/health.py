"""Liveness for anyone (nothing else); database details for administrators."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from backend.accounts.access import Principal
from backend.api.deps import SessionDep, require_roles
from backend.api.schemas import Health
from backend.inventory.service import database_answers, database_health

router = APIRouter(prefix="/api/v1", tags=["health"])
log = logging.getLogger(__name__)


@router.get(
    "/health",
    summary="Is the service healthy (anonymous: status only)",
    responses={
        200: {"model": Health, "description": "the database answers"},
        503: {
            "description": "the database does not answer",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"status": {"const": "unavailable"}},
                        "required": ["status"],
                    }
                }
            },
        },
    },
)
def health(session: SessionDep) -> JSONResponse:
    """``{"status": "ok"}`` when the database answers, else 503 ``unavailable``. Nothing
    else: no versions, paths or sizes for anonymous callers (see ``/health/details``)."""
    try:
        database_answers(session)
    except SQLAlchemyError:
        log.exception("health check: the database does not answer")
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


@router.get("/health/details", summary="Database versions (administrators)")
def health_details(
    session: SessionDep, principal: Annotated[Principal, Depends(require_roles("admin"))]
) -> dict[str, Any]:
    """PostgreSQL and PostGIS versions, for the operator; signed-in admins only."""
    return {"status": "ok", "database": database_health(session)}
