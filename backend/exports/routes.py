"""Excel exports: the register 登记造册 and the findings list, scope-filtered."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from backend.api.deps import FindingStatus, IdFilter, RegionFilter, RuleCode, ScopeDep, SessionDep
from backend.api.responses import XLSX_DOC, download
from backend.exports import service as exports

router = APIRouter(prefix="/api/v1/exports", tags=["exports 导出"])


@router.get("/register.xlsx", responses=XLSX_DOC, response_class=Response, summary="登记造册")
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
    return download(body, "办公用房登记造册.xlsx", "register.xlsx")


@router.get("/findings.xlsx", responses=XLSX_DOC, response_class=Response, summary="问题清单")
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
    return download(body, "合规问题清单.xlsx", "findings.xlsx")
