"""Excel exports: the register 登记造册 and the findings list, scope-filtered."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import Response

from backend.api.deps import FindingStatus, IdFilter, RegionFilter, RuleCode, ScopeDep, SessionDep
from backend.exports import service as exports
from backend.exports import workbook

router = APIRouter(prefix="/api/v1/exports", tags=["exports 导出"])

_XLSX: dict[int | str, dict[str, Any]] = {
    200: {"content": {workbook.XLSX: {}}, "description": "Excel workbook"}
}


def _xlsx(body: bytes, filename: str, ascii_name: str) -> Response:
    return Response(
        content=body,
        media_type=workbook.XLSX,
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
            )
        },
    )


@router.get("/register.xlsx", responses=_XLSX, response_class=Response, summary="登记造册")
def register(
    session: SessionDep,
    scope: ScopeDep,
    region: RegionFilter = None,
    agency: IdFilter = None,
    building: IdFilter = None,
) -> Response:
    """Agency → building → floor → room with areas, category, occupants, allowance, status."""
    body = exports.register_xlsx(
        session, scope=scope, region=region, agency=agency, building=building
    )
    return _xlsx(body, "办公用房登记造册.xlsx", "register.xlsx")


@router.get("/findings.xlsx", responses=_XLSX, response_class=Response, summary="问题清单")
def findings(
    session: SessionDep,
    scope: ScopeDep,
    rule: Annotated[RuleCode | None, Query()] = None,
    region: RegionFilter = None,
    agency: IdFilter = None,
    building: IdFilter = None,
    status: FindingStatus | None = None,
) -> Response:
    body = exports.findings_xlsx(
        session,
        scope=scope,
        rule=rule,
        region=region,
        agency=agency,
        building=building,
        status=status,
    )
    return _xlsx(body, "合规问题清单.xlsx", "findings.xlsx")
