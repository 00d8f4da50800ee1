"""/api/v1/reconciliation: 账账/账实/账证 mismatches with both figures, per agency."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from backend.api.deps import ScopeDep, SessionDep
from backend.api.responses import XLSX, download
from backend.reconciliation import schemas, service

router = APIRouter(prefix="/api/v1", tags=["reconciliation 账账账实账证"])


@router.get(
    "/reconciliation",
    response_model=schemas.Reconciliation,
    responses={200: {"content": {XLSX: {}}, "description": "JSON or Excel"}},
    summary="Reconciliation 账账/账实/账证",
)
def reconciliation(
    session: SessionDep,
    scope: ScopeDep,
    region: Annotated[int | None, Query(ge=100000, le=999999)] = None,
    format: Annotated[Literal["json", "xlsx"], Query()] = "json",
) -> Any:
    """The master register against the agencies' sub-ledgers (账账: rooms used by an
    agency's people but allocated elsewhere), the stock-take's on-site figures against the
    survey (账实: recorded room areas vs surveyed rooms, declared rooms the survey lacks,
    recorded 证载面积 vs the floors' building areas) and against title certificates (账证:
    证载面积 vs the sum of floor building areas, certificate numbers, the stock-take's
    recorded 证载面积). Each mismatch has both figures
    and its agency; ``format=xlsx`` exports it (cells starting with = + - @ stay text)."""
    result = service.reconcile(session, scope=scope, region=region)
    if format == "xlsx":
        return download(service.xlsx(result), "账账账实账证核对.xlsx", "reconciliation.xlsx")
    return result
