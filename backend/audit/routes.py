"""Audit trail for admins and inspectors, within their scope."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from backend.accounts.access import Principal, roles_for
from backend.api.deps import PageDep, SessionDep, require_roles
from backend.audit import service as audit

router = APIRouter(prefix="/api/v1", tags=["audit 审计"])

Auditor = Annotated[Principal, Depends(require_roles(*roles_for("audit.read")))]


@router.get("/audit", summary="Audit events (who, when, what, before, after), newest first")
def list_audit(
    session: SessionDep,
    principal: Auditor,
    page: PageDep,
    object_type: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_]+$")] = None,
    object_id: Annotated[str | None, Query(max_length=80)] = None,
    actor: Annotated[str | None, Query(max_length=80)] = None,
) -> dict[str, Any]:
    """Hash-chained events about objects in the caller's scope."""
    items = audit.list_events(
        session,
        scope=principal.scope,
        object_type=object_type,
        object_id=object_id,
        actor=actor,
        limit=page.limit,
        offset=page.offset,
    )
    return {
        "items": items,
        "numberReturned": len(items),
        "limit": page.limit,
        "offset": page.offset,
    }
