"""Liveness and database health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from backend.api.deps import SessionDep
from backend.services.inventory import database_health

router = APIRouter(prefix="/api/v1", tags=["health"])


@router.get("/health", summary="Service and database health")
def health(session: SessionDep) -> dict[str, Any]:
    """``status: ok`` when the database answers; versions of PostgreSQL and PostGIS."""
    return {"status": "ok", "database": database_health(session)}
