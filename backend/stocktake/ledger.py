"""Ledger import (清查登记造册): agencies, buildings, rooms and occupants from workbooks.

One pass reads and checks every row of every sheet, resolves references (credit codes,
buildings, rooms) against the file and the register, and compares each row with what is
stored: created, updated or unchanged. A dry run or a file with any error stops there and
answers the report; a commit writes everything in the caller's transaction (all or
nothing), with one audit event. The same file again finds every row unchanged.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pyproj import Transformer
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Text,
    and_,
    any_,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from backend.accounts.access import Principal, roles_for
from backend.audit import service as audit
from backend.db.models import Agency, AgencyStaffing, Building
from backend.services import scope as visibility
from backend.services.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from backend.settings import LedgerSettings, ledger_settings
from backend.stocktake import cells, codes, regions
from backend.stocktake.models import BuildingAgency, BuildingLedger, LedgerOccupant, LedgerRoom
from backend.stocktake.sheets import Issue, Mapping, Record, Sheet, records
from backend.stocktake.template import SHEET_TITLES
from backend.stocktake.workbook import Limits, RawFile, Refused, read

IMPORTERS = roles_for("ledger.import")
REFERENCE_SETTERS = ("admin", "planner")  # staffing quota and approved area (核定)
INVALID: Any = object()
_READ: dict[str, Any] = {}  # a record's cells once parsed (shared, never written)
CHINA = (73.0, 3.0, 136.0, 54.0)


@dataclass(frozen=True)
class LedgerRequest:
    filename: str
    data: bytes
    dry_run: bool = False
    mapping: dict[str, Any] | None = None


@dataclass
class LedgerOutcome:
    """``status``: dry_run, imported, unchanged or rejected; ``report`` is the API body."""

    status: str
    report: dict[str, Any]


# ---------------------------------------------------------------- report context
@dataclass
class Ctx:
    principal: Principal
    settings: LedgerSettings
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    kinds: dict[str, str] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)

    def updated(self, sheet: str, rec: Record, fields: Iterable[str]) -> None:
        """Count an update and say which fields it changes (for the report)."""
        self.count(sheet, "updated")
        if len(self.changes) < self.settings.max_errors:
            self.changes.append({"sheet": sheet, "row": rec.row, "fields": sorted(fields)})

    def issue(
        self,
        sheet: str,
        rec: Record | None,
        fld: str | None,
        code: str,
        msg: str,
        zh: str,
        *,
        warning: bool = False,
    ) -> None:
        column = rec.columns.get(fld) if rec is not None and fld else None
        row = rec.row if rec is not None else None
        (self.warnings if warning else self.errors).append(Issue(sheet, row, column, code, msg, zh))

    def value(self, sheet: str, rec: Record, fld: str, parse: Callable[[Any], Any]) -> Any:
        """The parsed value of a field; INVALID (and an error) when it does not parse."""
        if fld in rec.no_value:
            self.issue(
                sheet,
                rec,
                fld,
                "formula_without_value",
                "formula without a cached value: open and save the workbook in Excel/WPS",
                "公式没有计算结果：请在 Excel/WPS 中打开并保存后再导入",
            )
            return INVALID
        raw = rec.values.get(fld)
        if isinstance(raw, str) and raw.startswith("#") and raw.rstrip("!?").isupper():
            self.issue(
                sheet, rec, fld, "cell_error", f"cell error {raw[:12]}", f"单元格错误 {raw[:12]}"
            )
            return INVALID
        try:
            return parse(raw)
        except cells.CellError as exc:
            self.issue(sheet, rec, fld, exc.code, exc.message, exc.message_zh)
            return INVALID

    def count(self, sheet: str, outcome: str) -> None:
        self.counts[sheet][outcome] += 1


def _code(value: Any) -> str | None:
    s = cells.text(value)
    return None if s is None else s.replace(" ", "").upper()


def _str(limit: int) -> Callable[[Any], str | None]:
    def parse(value: Any) -> str | None:
        s = cells.plain(value)
        if s is not None and len(s) > limit:
            raise cells.CellError(
                "text_too_long", f"longer than {limit} characters", f"超过 {limit} 个字符"
            )
        return s

    return parse


def _region_code(value: Any) -> int | None:
    s = cells.text(value)
    if s is None:
        return None
    code = regions.normalise_code(s.replace(" ", ""))
    if code is None:
        raise cells.CellError(
            "not_a_region_code", f"not a region code: {s[:20]!r}", f"无法识别的区划代码：{s[:20]}"
        )
    return code


_Parse = Callable[[Any], Any]

# sheet field → (column, parser): the building's own columns and its ledger facts
_BUILDING_FIELDS: dict[str, tuple[str, _Parse]] = {
    "address": ("address", _str(300)),
    "certificate_no": ("building_certificate_no", _str(64)),
    "registered_owner": ("registered_owner", _str(200)),
    "year_built": ("year_built", cells.year),
    "storeys_above": ("storeys_above", cells.integer),
    "storeys_below": ("storeys_below", cells.integer),
}
_OCCUPANT_FIELDS: dict[str, tuple[str, _Parse]] = {
    "person_name": ("person_name", _str(80)),
    "post_title": ("post_title", _str(120)),
    "start_date": ("start_date", cells.date),
    "concurrent": ("is_concurrent_post", cells.flag),
}
_BUILDING_FACTS: dict[str, tuple[str, _Parse]] = {
    "title_area": ("title_area_m2", cells.decimal),
    "use": ("use", _str(60)),
    "issued_on": ("issued_on", cells.date),
}


# ---------------------------------------------------------------- typed rows
@dataclass(slots=True)
class AgencyRow:
    sheet: str
    rec: Record
    credit_code: str
    values: dict[str, Any]  # name, level, region_adcode, approved_office_area_m2
    parent: str | None
    staffing: dict[str, tuple[int, int]] | None
    id: int | None = None
    rejected: bool = False  # a value is wrong: the row is reported, never planned


@dataclass(slots=True)
class BuildingRow:
    sheet: str
    rec: Record
    values: dict[str, Any]  # Building columns present in the sheet
    facts: dict[str, Any]  # BuildingLedger columns present
    agency_code: str | None
    user_codes: list[str] | None
    id: int | None = None
    region_adcode: int | None = None


@dataclass(slots=True)
class RoomRow:
    sheet: str
    rec: Record
    building: BuildingRow | int
    level: int
    number: str
    values: dict[str, Any]
    agency_code: str | None
    agency_present: bool
    id: int | None = None


@dataclass(slots=True)
class OccupantRow:
    sheet: str
    rec: Record
    room: RoomRow | int
    person_id: str
    values: dict[str, Any]
    agency_code: str | None
    rank: str


# ---------------------------------------------------------------- entry point
def import_ledger(
    session: Session,
    req: LedgerRequest,
    *,
    principal: Principal,
    settings: LedgerSettings | None = None,
) -> LedgerOutcome:
    """Check a ledger file against the register and, unless a dry run or rejected, commit it."""
    principal.require(*IMPORTERS)
    s = settings or ledger_settings()
    ctx = Ctx(principal, s)
    raw, sheets = _read_sheets(req, s, ctx)
    by_kind: dict[str, list[Sheet]] = defaultdict(list)
    for sh in sheets:
        by_kind[sh.kind].append(sh)

    # sheets are planned in dependency order: a room names a building, an occupant a room
    plan = Plan(session, ctx)
    plan.agencies(by_kind["agencies"])
    plan.buildings(by_kind["buildings"])
    plan.rooms(by_kind["rooms"])
    plan.occupants(by_kind["occupants"])

    sha = hashlib.sha256(req.data).hexdigest()
    report = _report(ctx, sheets, raw.format, raw.encoding, req.filename, sha)
    if ctx.errors:
        status = "rejected"
    elif req.dry_run:
        status = "dry_run"
    elif not any(c["created"] or c["updated"] for c in report["sheets"]):
        status = "unchanged"
    else:
        _commit(session, plan, principal, req.filename, sha, report)
        status = "imported"
    report["status"] = status
    return LedgerOutcome(status, report)


def _read_sheets(req: LedgerRequest, s: LedgerSettings, ctx: Ctx) -> tuple[RawFile, list[Sheet]]:
    """The file's ledger sheets as records; refusals (size, type, mapping) raise at once."""
    try:
        mapping = Mapping.parse(req.mapping)
    except ValueError as exc:
        raise InvalidInput(
            f"mapping: {exc}", message_zh="mapping 参数无效", details={"parameter": "mapping"}
        ) from exc
    limits = Limits(
        s.max_bytes, s.max_unzipped_bytes, s.max_zip_ratio, s.max_zip_members, s.max_rows
    )
    try:
        raw = read(req.filename, req.data, limits)
    except Refused as exc:
        raise _refused(exc) from exc
    issues: list[Issue] = []
    sheets: list[Sheet] = []
    for rs in raw.sheets:
        sh = records(rs, mapping, issues)
        rs.rows = []  # the records hold what is needed: free the raw cells early
        if sh is not None:
            sheets.append(sh)
            ctx.kinds[sh.name] = sh.kind
    # a missing column makes the sheet unusable; the other header issues are advice
    for i in issues:
        (ctx.errors if i.code == "missing_column" else ctx.warnings).append(i)
    total_rows = sum(len(sh.records) for sh in sheets)
    if total_rows > s.max_rows:
        raise PayloadTooLarge(
            f"{total_rows} rows exceed the limit of {s.max_rows}",
            message_zh=f"数据行数 {total_rows} 超过上限 {s.max_rows}",
        )
    if not sheets:
        ctx.errors.append(
            Issue(
                "",
                None,
                None,
                "no_ledger_sheet",
                "no ledger sheet found in the file",
                "文件中未找到台账工作表（单位、房屋、房间、使用人）",
            )
        )
    return raw, sheets


def _commit(
    session: Session,
    plan: Plan,
    principal: Principal,
    filename: str,
    sha: str,
    report: dict[str, Any],
) -> None:
    """Write the plan, audit it once and reconcile the buildings it touched."""
    plan.apply()
    audit.record(
        session,
        actor=principal.username,
        action="ledger.import",
        object_type="ledger_import",
        object_id=sha[:16],
        after={
            "sha256": sha,
            "filename": filename[:255],
            "totals": report["totals"],
            "agencies": sorted(plan.touched_agencies),
        },
    )
    from backend.stocktake import service  # the reconciliation runs after the rows exist

    service.reconcile(session, buildings=sorted(plan.touched_buildings))


def _refused(exc: Refused) -> Exception:
    details = {"code": exc.code}
    if exc.status == 413:
        return PayloadTooLarge(exc.message, message_zh=exc.message_zh, details=details)
    if exc.status == 415:
        return UnsupportedMediaType(exc.message, message_zh=exc.message_zh, details=details)
    return InvalidInput(exc.message, message_zh=exc.message_zh, details=details)


def _report(
    ctx: Ctx, sheets: list[Sheet], fmt: str, encoding: str | None, filename: str, sha: str
) -> dict[str, Any]:
    per_sheet = []
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    err = Counter(i.sheet for i in ctx.errors)
    warn = Counter(i.sheet for i in ctx.warnings)
    for sh in sheets:
        c = ctx.counts[sh.name]
        entry = {
            "sheet": sh.name,
            "kind": sh.kind,
            "rows_read": sh.rows_read,
            "created": c["created"],
            "updated": c["updated"],
            "unchanged": c["unchanged"],
            "errors": err[sh.name],
            "warnings": warn[sh.name],
        }
        per_sheet.append(entry)
        for k in ("rows_read", "created", "updated", "unchanged"):
            totals[sh.kind][k] += entry[k]  # type: ignore[operator]
    limit = ctx.settings.max_errors
    return {
        "status": None,
        "source": {"filename": filename[:255], "sha256": sha, "format": fmt, "encoding": encoding},
        "sheets": per_sheet,
        "totals": {k: dict(v) for k, v in totals.items()},
        "error_count": len(ctx.errors),
        "warning_count": len(ctx.warnings),
        "errors": [i.as_dict() for i in ctx.errors[:limit]],
        "warnings": [i.as_dict() for i in ctx.warnings[:limit]],
        "changes": ctx.changes,
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(float(a), float(b), abs_tol=1e-9)
    return bool(a == b)


def _diff(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in new.items() if not _same(v, old.get(k))}


# ---------------------------------------------------------------- the plan
class Plan:
    """What the file says, resolved against the register; applied only when clean."""

    def __init__(self, session: Session, ctx: Ctx) -> None:
        self.session = session
        self.ctx = ctx
        self.scope = ctx.principal.scope
        self.agency_rows: dict[str, AgencyRow] = {}
        self.db_agencies: dict[str, dict[str, Any]] = {}
        self.agency_levels: dict[int, str] = {}
        self.agency_changes: list[tuple[AgencyRow, dict[str, Any], bool]] = []
        self.building_rows: list[BuildingRow] = []
        self.building_changes: list[tuple[BuildingRow, dict[str, Any], dict[str, Any], bool]] = []
        self.room_rows: dict[tuple[Any, int, str], RoomRow] = {}
        self.room_changes: list[tuple[RoomRow, dict[str, Any]]] = []
        self.occupant_changes: list[tuple[OccupantRow, dict[str, Any], int | None]] = []
        self.db_buildings: dict[int, dict[str, Any]] = {}
        self.touched_agencies: set[int] = set()
        self.touched_buildings: set[int] = set()
        self._rows_by_id: dict[int, BuildingRow] = {}
        self._rows_by_name: dict[str, list[BuildingRow]] = defaultdict(list)
        self._db_room_buildings: set[int] = set()
        self._looked_up: set[str] = set()  # credit codes already asked of the register
        self._region_names: regions.RegionNames | None = None
        self._users_of: dict[int, list[Any]] = {}  # id(BuildingRow) → using agencies' ids
        self._db_room_cache: dict[tuple[int, int, str], dict[str, Any]] = {}
        self._db_room_by_id: dict[int, dict[str, Any]] = {}

    def _regions(self) -> regions.RegionNames:
        if self._region_names is None:
            self._region_names = regions.all_regions(self.session)
        return self._region_names

    # ------------------------------------------------ agencies
    def _load_agencies(self, codes_: Iterable[str]) -> None:
        want = sorted({c for c in codes_ if c not in self._looked_up})
        if not want:
            return
        self._looked_up.update(want)
        rows = self.session.execute(
            select(
                Agency.id,
                Agency.credit_code,
                Agency.name,
                Agency.level,
                Agency.region_adcode,
                Agency.parent_id,
                Agency.approved_office_area_m2,
            ).where(_any(Agency.credit_code, want), visibility.agencies(self.scope))
        ).mappings()
        for r in rows:
            self.db_agencies[r["credit_code"]] = dict(r)
            self.agency_levels[r["id"]] = r["level"]
        taken = set(
            self.session.execute(
                text("SELECT officemap_credit_codes_taken(CAST(:c AS text[]))"), {"c": want}
            ).scalars()
        )
        for c in taken - set(self.db_agencies):
            self.db_agencies[c] = {"id": None, "hidden": True}

    def _agency_id(self, code: str | None) -> int | None | Any:
        """The id (None for an agency created by this file) or INVALID when unknown."""
        if code is None:
            return None
        if code in self.agency_rows:
            return self.agency_rows[code].id
        self._load_agencies([code])
        found = self.db_agencies.get(code)
        if found is None or found.get("hidden"):
            return INVALID
        return found["id"]

    def _agency_level(self, code: str | None) -> str | None:
        if code is None:
            return None
        if code in self.agency_rows:
            return str(self.agency_rows[code].values.get("level") or "") or self._db_level(code)
        return self._db_level(code)

    def _db_level(self, code: str) -> str | None:
        self._load_agencies([code])
        found = self.db_agencies.get(code)
        return None if not found or found.get("hidden") else found["level"]

    def _agency_region(self, code: str | None) -> int | None:
        if code is None:
            return None
        row = self.agency_rows.get(code)
        if row is not None and row.values.get("region_adcode"):
            return int(row.values["region_adcode"])
        found = self.db_agencies.get(code)
        return None if not found or found.get("hidden") else found["region_adcode"]

    def _unknown_agency(self, sheet: str, rec: Record, fld: str, code: str) -> None:
        self.ctx.issue(
            sheet,
            rec,
            fld,
            "unknown_agency",
            f"agency {code[:20]} is neither in the file nor in the register within your scope",
            f"单位 {code[:20]} 既不在本文件中，也不在您权限范围内的登记库中",
        )

    def agencies(self, sheets: list[Sheet]) -> None:
        rows: list[AgencyRow] = []
        for sh in sheets:
            present = set(sh.records[0].values) if sh.records else set()
            for rec in sh.records:
                code = self._credit_code(sh, rec)
                if code is None:
                    continue
                row = self._agency_row(sh, rec, present, code)
                # a bad row still claims its code: references to it are not "unknown agency"
                self.agency_rows[code] = row
                if not row.rejected:
                    rows.append(row)
        if not rows:
            return
        self._load_agencies([r.credit_code for r in rows] + [r.parent for r in rows if r.parent])
        known_regions = set(self._regions().regions)
        staffing_now = self._db_staffing(
            [
                self.db_agencies[r.credit_code]["id"]
                for r in rows
                if r.credit_code in self.db_agencies
                and not self.db_agencies[r.credit_code].get("hidden")
            ]
        )
        for r in rows:
            self._agency_plan(r, known_regions, staffing_now)

    def _credit_code(self, sh: Sheet, rec: Record) -> str | None:
        """The row's checked 统一社会信用代码, or None (with an error) when it cannot key a row."""
        ctx = self.ctx
        code = ctx.value(sh.name, rec, "credit_code", _code)
        if code is None:
            ctx.issue(
                sh.name,
                rec,
                "credit_code",
                "required",
                "统一社会信用代码 missing",
                "缺少统一社会信用代码",
            )
            return None
        if code is INVALID:
            return None
        problem = codes.credit_code_problem(code)
        if problem:
            ctx.issue(
                sh.name,
                rec,
                "credit_code",
                f"credit_code_{problem}",
                f"统一社会信用代码 {code[:20]} is invalid ({problem}, GB 32100-2015)",
                {
                    "checksum": f"统一社会信用代码 {code} 校验位错误（GB 32100-2015）",
                    "length": f"统一社会信用代码 {code[:20]} 应为 18 位",
                    "characters": f"统一社会信用代码 {code[:20]} 含无效字符",
                }[problem],
            )
            return None
        if code in self.agency_rows:
            ctx.issue(
                sh.name,
                rec,
                "credit_code",
                "duplicate_agency",
                f"agency {code} appears twice",
                f"单位 {code} 重复出现",
            )
            return None
        return str(code)

    def _agency_row(self, sh: Sheet, rec: Record, present: set[str], code: str) -> AgencyRow:
        """The row's values; ``rejected`` when any of them is wrong (errors reported)."""
        ctx = self.ctx
        values: dict[str, Any] = {}
        name = ctx.value(sh.name, rec, "name", _str(200))
        level_raw = ctx.value(sh.name, rec, "level", cells.text)
        region = ctx.value(sh.name, rec, "region", _region_code)
        bad = INVALID in (name, level_raw, region)
        if name is None:
            ctx.issue(sh.name, rec, "name", "required", "单位名称 missing", "缺少单位名称")
            bad = True
        level = codes.parse_level(level_raw) if isinstance(level_raw, str) else None
        if level is None and level_raw is not INVALID:
            ctx.issue(
                sh.name,
                rec,
                "level",
                "unknown_level",
                f"unknown agency level {str(level_raw)[:20]!r}",
                f"无法识别的单位级别：{str(level_raw)[:20]}（应为 中央/省/市/县/乡）",
            )
            bad = True
        if region is None and region is not INVALID:
            ctx.issue(
                sh.name, rec, "region", "required", "行政区划代码 missing", "缺少行政区划代码"
            )
            bad = True
        values.update(name=name, level=level, region_adcode=region)
        if "approved_area" in present:
            area = ctx.value(sh.name, rec, "approved_area", cells.decimal)
            bad |= area is INVALID
            values["approved_office_area_m2"] = area
        staffing = self._staffing(sh, rec, present, level) if level else None
        bad |= staffing is INVALID
        parent = ctx.value(sh.name, rec, "parent", _code) if "parent" in present else None
        bad |= parent is INVALID
        if bad:
            return AgencyRow(sh.name, rec, code, values, None, None, rejected=True)
        return AgencyRow(sh.name, rec, code, values, parent, staffing)

    def _staffing(
        self, sh: Sheet, rec: Record, present: set[str], level: str
    ) -> dict[str, tuple[int, int]] | None | Any:
        steps = [i for i in range(1, 10) if f"quota.{i}" in present or f"headcount.{i}" in present]
        if not steps:
            return None
        out: dict[str, list[int]] = {}
        bad = False
        for i in steps:
            q = self.ctx.value(sh.name, rec, f"quota.{i}", cells.integer)
            h = self.ctx.value(sh.name, rec, f"headcount.{i}", cells.integer)
            if INVALID in (q, h):
                bad = True
                continue
            if q is None and h is None:
                continue
            code = codes.ladder_rank(i, level)
            if code is None:
                code = next(c for c in (codes.ladder_rank(j, level) for j in range(1, 10)) if c)
                self.ctx.issue(
                    sh.name,
                    rec,
                    f"quota.{i}",
                    "rank_above_level",
                    f"{codes.LADDER[i - 1]} is above the {level} table: counted as its top rank",
                    f"{codes.LADDER[i - 1]} 高于该级别标准表，按其最高一档计",
                    warning=True,
                )
            acc = out.setdefault(code, [0, 0])
            acc[0] += q or 0
            acc[1] += h or 0
        if bad:
            return INVALID
        return {k: (v[0], v[1]) for k, v in out.items()}

    def _db_staffing(self, ids: list[int]) -> dict[int, dict[str, tuple[int, int]]]:
        out: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
        if ids:
            for a, rank, q, h in self.session.execute(
                select(
                    AgencyStaffing.agency_id,
                    AgencyStaffing.rank_code,
                    AgencyStaffing.quota,
                    AgencyStaffing.headcount,
                ).where(_any(AgencyStaffing.agency_id, ids))
            ):
                out[a][rank] = (q, h)
        return out

    def _agency_plan(
        self,
        r: AgencyRow,
        known_regions: set[int],
        staffing_now: dict[int, dict[str, tuple[int, int]]],
    ) -> None:
        """Compare one checked agency row with the register: created, updated or unchanged."""
        found = self.db_agencies.get(r.credit_code)
        if not self._agency_writable(r, known_regions, found):
            return
        parent_id = self._parent_id(r)
        if parent_id is INVALID:
            return
        setter = self.ctx.principal.has_any(*REFERENCE_SETTERS)
        if found is None:
            self._plan_new_agency(r, setter)
        else:
            self._plan_agency_update(r, found, parent_id, staffing_now.get(found["id"], {}), setter)

    def _agency_writable(
        self, r: AgencyRow, known_regions: set[int], found: dict[str, Any] | None
    ) -> bool:
        """Whether the row's region exists and the caller may write this agency there."""
        ctx = self.ctx
        region = r.values["region_adcode"]
        if region not in known_regions:
            ctx.issue(
                r.sheet,
                r.rec,
                "region",
                "unknown_region",
                f"unknown region code {region}",
                f"行政区划代码 {region} 不存在",
            )
            return False
        if r.values["level"] == "township" and region <= 999_999:
            ctx.issue(
                r.sheet,
                r.rec,
                "region",
                "township_agency_on_county",
                "a township agency should hang on its township (9-digit 统计用区划代码)",
                "乡级单位应填写所在乡镇（街道）的 9 位统计用区划代码",
                warning=True,
            )
        if found is not None and found.get("hidden"):
            ctx.issue(
                r.sheet,
                r.rec,
                "credit_code",
                "agency_not_writable",
                "this agency is outside your scope",
                "该单位不在您的权限范围内",
            )
            return False
        if found is None and not self.scope.allows_region(region):
            ctx.issue(
                r.sheet,
                r.rec,
                "region",
                "agency_not_writable",
                "you may not register agencies in this region",
                "您无权在该区划登记单位",
            )
            return False
        return True

    def _parent_id(self, r: AgencyRow) -> Any:
        """The parent's id (None: none, or created by this file); INVALID when it cannot be."""
        if r.parent is None:
            return None
        parent_id = self._agency_id(r.parent)
        if parent_id is INVALID:
            self._unknown_agency(r.sheet, r.rec, "parent", r.parent)
            return INVALID
        if r.parent == r.credit_code:
            self.ctx.issue(
                r.sheet,
                r.rec,
                "parent",
                "parent_is_self",
                "an agency cannot be its own parent",
                "上级单位不能是本单位",
            )
            return INVALID
        return parent_id

    def _plan_new_agency(self, r: AgencyRow, setter: bool) -> None:
        r.id = None
        new = dict(r.values)
        # only the managing office sets reference figures (核定), also on a new agency
        if not setter and (
            new.get("approved_office_area_m2") is not None
            or any(q for q, _ in (r.staffing or {}).values())
        ):
            self._forbidden(r)
            return
        self.agency_changes.append((r, new, True))
        self.ctx.count(r.sheet, "created")

    def _plan_agency_update(
        self,
        r: AgencyRow,
        found: dict[str, Any],
        parent_id: Any,
        staffing_before: dict[str, tuple[int, int]],
        setter: bool,
    ) -> None:
        r.id = found["id"]
        old = dict(found)
        changes = _diff(r.values, old)
        if "parent" in r.rec.columns:
            if parent_id is None and r.parent is not None:  # a parent created by this file
                changes["parent_id"] = None
            elif parent_id != old["parent_id"]:
                changes["parent_id"] = parent_id
        # ranks outside the level's table cannot be written in the template: they are kept
        # as they are and left out of the comparison
        level_ranks = _level_ranks(r.values["level"])
        now = {k: v for k, v in staffing_before.items() if k in level_ranks}
        staffing_changed = r.staffing is not None and r.staffing != now
        if not setter:
            quota_changed = staffing_changed and {
                k: q for k, (q, _) in (r.staffing or {}).items()
            } != {k: q for k, (q, _) in now.items()}
            if quota_changed or "approved_office_area_m2" in changes:
                self._forbidden(r)
                return
        if changes or staffing_changed:
            if not staffing_changed:
                r.staffing = None
            self.agency_changes.append((r, changes, False))
            self.ctx.updated(
                r.sheet, r.rec, [*changes, *(["staffing"] if staffing_changed else [])]
            )
        else:
            self.ctx.count(r.sheet, "unchanged")

    def _forbidden(self, r: AgencyRow) -> None:
        self.ctx.issue(
            r.sheet,
            r.rec,
            None,
            "reference_figure_forbidden",
            "only the managing office (admin, planner) may set staffing quotas and approved areas",
            "仅管理机关（管理员、规划调配）可设置核定编制和核定面积",
        )

    # ------------------------------------------------ buildings
    def buildings(self, sheets: list[Sheet]) -> None:
        ctx = self.ctx
        seen: dict[tuple[Any, ...], BuildingRow] = {}
        rows: list[BuildingRow] = []
        for sh in sheets:
            present = set(sh.records[0].values) if sh.records else set()
            for rec in sh.records:
                row = self._building_row(sh, rec, present)
                if row is None:
                    continue
                key = (
                    ("id", row.id) if row.id else ("name", row.agency_code, row.values.get("name"))
                )
                if key in seen:
                    ctx.issue(
                        sh.name,
                        rec,
                        "name",
                        "duplicate_building",
                        f"building {row.values.get('name')} appears twice",
                        f"房屋“{row.values.get('name')}”重复出现",
                    )
                    continue
                seen[key] = row
                rows.append(row)
        self.building_rows = rows
        self._resolve_buildings(rows)
        for b in rows:
            if b.id:
                self._rows_by_id[b.id] = b
            self._rows_by_name[b.values["name"]].append(b)

    def _building_row(self, sh: Sheet, rec: Record, present: set[str]) -> BuildingRow | None:
        """The row's checked values, or None when any is wrong (errors reported)."""
        ctx = self.ctx
        v = ctx.value
        bid = v(sh.name, rec, "building_id", cells.integer) if "building_id" in present else None
        name = v(sh.name, rec, "name", _str(200))
        agency = v(sh.name, rec, "agency", _code)
        values: dict[str, Any] = {"name": name}
        values.update(self._fields(sh, rec, present, _BUILDING_FIELDS))
        facts = self._fields(sh, rec, present, _BUILDING_FACTS)
        if "ownership" in present:
            ownership = self._ownership(sh, rec)
            if ownership is not None:
                values["ownership"] = ownership
        region = v(sh.name, rec, "region", _region_code) if "region" in present else None
        users = self._user_codes(sh, rec) if "users" in present else None
        location = self._location(sh, rec, present)
        if location is not INVALID:
            facts.update(location)
        if any(x is INVALID for x in (bid, name, agency, region, users, location)) or any(
            x is INVALID for x in (*values.values(), *facts.values())
        ):
            return None
        if name is None:
            ctx.issue(sh.name, rec, "name", "required", "房屋名称 missing", "缺少房屋名称")
            return None
        if agency is None:
            ctx.issue(
                sh.name,
                rec,
                "agency",
                "required",
                "管理单位 missing",
                "缺少管理单位统一社会信用代码",
            )
            return None
        return BuildingRow(sh.name, rec, values, facts, agency, users, bid, region)

    def _fields(
        self, sh: Sheet, rec: Record, present: set[str], spec: dict[str, tuple[str, _Parse]]
    ) -> dict[str, Any]:
        """column → parsed value for the sheet fields of ``spec`` the sheet has."""
        return {
            col: self.ctx.value(sh.name, rec, fld, parse)
            for fld, (col, parse) in spec.items()
            if fld in present
        }

    def _ownership(self, sh: Sheet, rec: Record) -> str | Any | None:
        """自有/租用/借用 as its code; None for an empty or unreadable cell (the register keeps
        its value; an unreadable cell is already an error)."""
        o = self.ctx.value(sh.name, rec, "ownership", cells.text)
        if not isinstance(o, str):
            return None
        ownership = codes.parse_ownership(o)
        if ownership is None:
            self.ctx.issue(
                sh.name,
                rec,
                "ownership",
                "unknown_ownership",
                f"unknown ownership {o[:20]!r}",
                f"无法识别的权属性质：{o[:20]}（自有/租用/借用）",
            )
            return INVALID
        return ownership

    def _user_codes(self, sh: Sheet, rec: Record) -> list[str] | Any:
        """The using agencies' credit codes, however the cell separates them (、，,;；)."""
        u = self.ctx.value(sh.name, rec, "users", cells.text)
        if u is INVALID:
            return INVALID
        text_ = u or ""
        for sep in ("，", ",", ";", "；"):
            text_ = text_.replace(sep, "、")
        return sorted({p.strip().upper() for p in text_.split("、") if p.strip()})

    def _location(self, sh: Sheet, rec: Record, present: set[str]) -> dict[str, Any] | Any:
        """The building's point in CGCS2000 lon/lat with its source CRS, {} when the sheet has
        no location columns, None values when the row leaves them empty; INVALID when wrong."""
        ctx = self.ctx
        fields = [f for f in ("lon", "lat", "x", "y", "crs") if f in present]
        if not fields:
            return {}

        def coordinate(raw: Any) -> float | None:
            d = cells.decimal(raw, places=9) if cells.text(raw) is not None else None
            return None if d is None else float(d)

        def num(f: str) -> Any:
            return ctx.value(sh.name, rec, f, coordinate) if f in present else None

        lon, lat, x, y = num("lon"), num("lat"), num("x"), num("y")
        crs = ctx.value(sh.name, rec, "crs", cells.text) if "crs" in present else None
        if INVALID in (lon, lat, x, y, crs):
            return INVALID
        if lon is None and lat is None and x is None and y is None:
            ctx.issue(
                sh.name,
                rec,
                "lon",
                "location_missing",
                "location missing: the building is listed without a place on the map",
                "缺少坐标：该房屋不在地图上显示，列为“位置缺失”",
                warning=True,
            )
            return {"location": None, "location_source": None}
        if lon is not None or lat is not None:
            point = self._lon_lat(sh, rec, lon, lat)
        else:
            point = self._projected(sh, rec, x, y, crs)
        if point is INVALID or not self._in_china(sh, rec, point[0], point[1]):
            return INVALID
        lon, lat, src = point
        return {"location": (lon, lat), "location_source": src}

    def _lon_lat(self, sh: Sheet, rec: Record, lon: Any, lat: Any) -> tuple[Any, ...] | Any:
        if lon is None or lat is None:
            self.ctx.issue(
                sh.name,
                rec,
                "lon",
                "location_incomplete",
                "give both 经度 and 纬度",
                "经度和纬度须同时填写",
            )
            return INVALID
        return (lon, lat, "EPSG:4490")

    def _projected(self, sh: Sheet, rec: Record, x: Any, y: Any, crs: Any) -> tuple[Any, ...] | Any:
        """X/Y in a Gauss–Krüger zone, as lon/lat (surveys often give only projected values)."""
        if x is None or y is None:
            self.ctx.issue(
                sh.name, rec, "x", "location_incomplete", "give both X and Y", "X、Y 坐标须同时填写"
            )
            return INVALID
        epsg = _parse_epsg(crs)
        if epsg is None:
            self.ctx.issue(
                sh.name,
                rec,
                "crs",
                "unknown_crs",
                "X/Y need 坐标系: a CGCS2000 Gauss–Krüger zone EPSG:4491–4554",
                "X/Y 坐标须注明坐标系（CGCS2000 高斯-克吕格 EPSG:4491–4554）",
            )
            return INVALID
        lon, lat = _transformer(epsg).transform(x, y)
        return (lon, lat, f"EPSG:{epsg}")

    def _in_china(self, sh: Sheet, rec: Record, lon: float, lat: float) -> bool:
        """Whether the point lies in China's box; the error hints when lon/lat look swapped."""
        if CHINA[0] <= lon <= CHINA[2] and CHINA[1] <= lat <= CHINA[3]:
            return True
        hint = (
            " (looks swapped: 经度 first)"
            if CHINA[0] <= lat <= CHINA[2] and CHINA[1] <= lon <= CHINA[3]
            else ""
        )
        self.ctx.issue(
            sh.name,
            rec,
            "lon",
            "location_out_of_range",
            f"location {lon:.6f}, {lat:.6f} is outside China{hint}",
            f"坐标 {lon:.6f}, {lat:.6f} 不在中国范围内" + ("（经纬度似乎填反）" if hint else ""),
        )
        return False

    def _resolve_buildings(self, rows: list[BuildingRow]) -> None:
        """Match each building row to the register (by id, else by agency and name) and plan it."""
        ids = [r.id for r in rows if r.id]
        codes_ = {r.agency_code for r in rows if r.agency_code} | {
            c for r in rows for c in (r.user_codes or [])
        }
        self._load_agencies([c for c in codes_ if c not in self.agency_rows])
        agency_ids = {c: self._agency_id(c) for c in codes_}
        by_name = {
            (a, r.values["name"])
            for r in rows
            if (a := agency_ids.get(r.agency_code or "")) not in (None, INVALID)
        }
        existing = self._load_buildings(ids, by_name)
        by_key = {(b["agency_id"], b["name"]): b for b in existing.values()}
        known_regions = set(self._regions().regions)
        for r in rows:
            agency_id = agency_ids.get(r.agency_code or "")
            if agency_id is INVALID:
                self._unknown_agency(r.sheet, r.rec, "agency", r.agency_code or "")
                continue
            users = self._using_ids(r, agency_ids)
            if users is INVALID:
                continue
            old = self._stored_building(r, existing, by_key, agency_id)
            if old is INVALID:
                continue
            region = self._building_region(r, known_regions)
            if region is None:
                continue
            r.region_adcode = region
            values = dict(r.values) | {"region_adcode": region, "agency_id": agency_id}
            if "address" in values and values["address"]:
                for w in regions.check_address(self._regions(), values["address"], region):
                    self.ctx.issue(r.sheet, r.rec, "address", w[0], w[1], w[2], warning=True)
            if old is None:
                self._plan_new_building(r, values, users, region, agency_id)
            else:
                self._plan_building_update(r, values, old, users)

    def _using_ids(self, r: BuildingRow, agency_ids: dict[str, Any]) -> list[Any] | Any:
        """The using agencies' ids (None: created by this file); INVALID if one is unknown."""
        users: list[Any] = []
        for c in r.user_codes or []:
            uid = agency_ids.get(c)
            if uid is INVALID:
                self._unknown_agency(r.sheet, r.rec, "users", c)
                return INVALID
            users.append(uid)
        return users

    def _stored_building(
        self,
        r: BuildingRow,
        existing: dict[int, dict[str, Any]],
        by_key: dict[tuple[Any, Any], dict[str, Any]],
        agency_id: Any,
    ) -> dict[str, Any] | None | Any:
        """The register's building the row speaks of: None for a new one, INVALID when the
        row's 房屋编号 names none the caller can see."""
        if r.id:
            old = existing.get(r.id)
            if old is None:
                self.ctx.issue(
                    r.sheet,
                    r.rec,
                    "building_id",
                    "unknown_building",
                    f"building {r.id} not found",
                    f"房屋编号 {r.id} 不存在",
                )
                return INVALID
            return old
        old = by_key.get((agency_id, r.values["name"])) if agency_id else None
        if old is not None:
            r.id = old["id"]
        return old

    def _building_region(self, r: BuildingRow, known_regions: set[int]) -> int | None:
        """The row's region, else its managing agency's; None (with an error) when unknown."""
        region = r.region_adcode or self._agency_region(r.agency_code)
        if region is None:
            self.ctx.issue(
                r.sheet, r.rec, "region", "required", "行政区划代码 missing", "缺少行政区划代码"
            )
            return None
        if region not in known_regions:
            self.ctx.issue(
                r.sheet,
                r.rec,
                "region",
                "unknown_region",
                f"unknown region code {region}",
                f"行政区划代码 {region} 不存在",
            )
            return None
        return region

    def _plan_new_building(
        self, r: BuildingRow, values: dict[str, Any], users: list[Any], region: int, agency_id: Any
    ) -> None:
        if not (self.scope.allows_region(region) or (agency_id in self.scope.agencies)):
            self.ctx.issue(
                r.sheet,
                r.rec,
                "region",
                "building_not_writable",
                "you may not register buildings in this region",
                "您无权在该区划登记房屋",
            )
            return
        self.building_changes.append((r, values, dict(r.facts), True))
        self._users_of[id(r)] = users
        self.ctx.count(r.sheet, "created")

    def _plan_building_update(
        self, r: BuildingRow, values: dict[str, Any], old: dict[str, Any], users: list[Any]
    ) -> None:
        changes = _diff(values, old)
        fact_changes = _diff(dict(r.facts), old["facts"])
        # a point read back from the database differs in the last bits: not a change
        if "location" in fact_changes and _same_point(
            r.facts.get("location"), old["facts"].get("location")
        ):
            fact_changes.pop("location")
            fact_changes.pop("location_source", None)
        users_changed = r.user_codes is not None and set(users) != set(old["users"])
        if changes or fact_changes or users_changed:
            self.building_changes.append((r, changes, fact_changes, False))
            if users_changed:
                self._users_of[id(r)] = users
            self.ctx.updated(
                r.sheet, r.rec, [*changes, *fact_changes, *(["users"] if users_changed else [])]
            )
        else:
            self.ctx.count(r.sheet, "unchanged")

    def _load_buildings(
        self, ids: list[int], names: set[tuple[int, str]]
    ) -> dict[int, dict[str, Any]]:
        cols = (
            Building.id,
            Building.name,
            Building.address,
            Building.region_adcode,
            Building.agency_id,
            Building.building_certificate_no,
            Building.registered_owner,
            Building.ownership,
            Building.year_built,
            Building.storeys_above,
            Building.storeys_below,
        )
        conds = []
        if ids:
            conds.append(_any(Building.id, ids))
        if names:
            conds.append(
                and_(
                    _any(Building.agency_id, sorted({a for a, _ in names})),
                    _any(Building.name, sorted({n for _, n in names})),
                )
            )
        if not conds:
            return {}
        from sqlalchemy import or_

        out: dict[int, dict[str, Any]] = {}
        for r in self.session.execute(
            select(*cols).where(or_(*conds), visibility.buildings(self.scope))
        ).mappings():
            out[r["id"]] = dict(r) | {"facts": {}, "users": set()}
        if out:
            keys = sorted(out)
            for f in self.session.execute(
                select(
                    BuildingLedger.building_id,
                    func.ST_X(BuildingLedger.location),
                    func.ST_Y(BuildingLedger.location),
                    BuildingLedger.location_source,
                    BuildingLedger.title_area_m2,
                    BuildingLedger.use,
                    BuildingLedger.issued_on,
                ).where(_any(BuildingLedger.building_id, keys))
            ):
                out[f[0]]["facts"] = {
                    "location": (f[1], f[2]) if f[1] is not None else None,
                    "location_source": f[3],
                    "title_area_m2": f[4],
                    "use": f[5],
                    "issued_on": f[6],
                }
            # only the using agencies the caller may see take part: the others are neither
            # in the caller's export nor removed by the caller's import
            for b, a in self.session.execute(
                select(BuildingAgency.building_id, BuildingAgency.agency_id)
                .join(Agency, Agency.id == BuildingAgency.agency_id)
                .where(_any(BuildingAgency.building_id, keys), visibility.agencies(self.scope))
            ):
                out[b]["users"].add(a)
        self.db_buildings.update(out)
        return out

    # ------------------------------------------------ rooms
    def _building_ref(self, sh: Sheet, rec: Record, present: set[str]) -> BuildingRow | int | None:
        ctx = self.ctx
        bid = (
            ctx.value(sh.name, rec, "building_id", cells.integer)
            if "building_id" in present
            else None
        )
        name = ctx.value(sh.name, rec, "building", _str(200)) if "building" in present else None
        if INVALID in (bid, name):
            return None
        if bid:
            if bid in self._rows_by_id:
                return self._rows_by_id[bid]
            if bid in self._visible_building_ids([bid]):
                return int(bid)
            ctx.issue(
                sh.name,
                rec,
                "building_id",
                "unknown_building",
                f"building {bid} not found",
                f"房屋编号 {bid} 不存在",
            )
            return None
        if not name:
            ctx.issue(
                sh.name,
                rec,
                "building",
                "required",
                "房屋名称 or 房屋编号 missing",
                "缺少房屋名称或房屋编号",
            )
            return None
        # a name in this file first, else in the register: it must name exactly one
        candidates: list[BuildingRow] | list[int] = self._rows_by_name.get(name, [])
        if not candidates:
            candidates = self._buildings_named(name)
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            ctx.issue(
                sh.name,
                rec,
                "building",
                "ambiguous_building",
                f"several buildings are named {name}: give 房屋编号",
                f"存在多个名为“{name}”的房屋，请填写房屋编号",
            )
        else:
            ctx.issue(
                sh.name,
                rec,
                "building",
                "unknown_building",
                f"building {name} not found",
                f"房屋“{name}”不在本文件中，也不在登记库中",
            )
        return None

    def _visible_building_ids(self, ids: list[int]) -> set[int]:
        missing = [i for i in ids if i not in self.db_buildings]
        if missing:
            self._load_buildings(missing, set())
        return {i for i in ids if i in self.db_buildings}

    def _buildings_named(self, name: str) -> list[int]:
        cache = self.__dict__.setdefault("_named", {})
        if name not in cache:
            cache[name] = list(
                self.session.execute(
                    select(Building.id)
                    .where(Building.name == name, visibility.buildings(self.scope))
                    .limit(2)
                ).scalars()
            )
            self._visible_building_ids(cache[name])
        return list(cache[name])

    def _building_key(self, b: BuildingRow | int) -> Any:
        return ("row", id(b)) if isinstance(b, BuildingRow) else ("id", b)

    def rooms(self, sheets: list[Sheet]) -> None:
        pending: list[RoomRow] = []
        for sh in sheets:
            present = set(sh.records[0].values) if sh.records else set()
            for rec in sh.records:
                row = self._room_row(sh, rec, present)
                if row is None:
                    continue
                key = (self._building_key(row.building), row.level, row.number)
                if key in self.room_rows:
                    self.ctx.issue(
                        sh.name,
                        rec,
                        "number",
                        "duplicate_room",
                        f"room {row.number} on floor {row.level} appears twice",
                        f"房间 {row.number}（{row.level} 层）重复出现",
                    )
                    continue
                rec.values = _READ  # parsed: reports need only the row and the columns
                self.room_rows[key] = row
                pending.append(row)
        if pending:
            self._plan_rooms(pending)

    def _room_row(self, sh: Sheet, rec: Record, present: set[str]) -> RoomRow | None:
        """The row's checked values, or None when any is wrong (errors reported)."""
        ctx = self.ctx
        building = self._building_ref(sh, rec, present)
        level = ctx.value(sh.name, rec, "level", cells.floor_level)
        number = ctx.value(sh.name, rec, "number", _str(40))
        cat = ctx.value(sh.name, rec, "category", cells.text)
        area = ctx.value(sh.name, rec, "recorded_area", cells.decimal)
        agency = ctx.value(sh.name, rec, "agency", _code) if "agency" in present else None
        if INVALID in (level, number, cat, area, agency) or building is None:
            return None
        if level is None or number is None or area is None:
            missing = "level" if level is None else "number" if number is None else "recorded_area"
            ctx.issue(
                sh.name,
                rec,
                missing,
                "required",
                f"{missing} missing",
                {"level": "缺少楼层", "number": "缺少房间号", "recorded_area": "缺少账面面积"}[
                    missing
                ],
            )
            return None
        category: tuple[str, str | None] | None = None
        if cat is not None:
            category = codes.map_category(cat)
            if category is None:
                ctx.issue(
                    sh.name,
                    rec,
                    "category",
                    "unknown_category",
                    f"unknown room category {cat[:20]!r} (2014 standard names)",
                    f"无法识别的用房类别：{cat[:20]}（应为 2014 标准的类别名称）",
                )
                return None
        values = {
            "category": category[0] if category else None,
            "subcategory": category[1] if category else None,
            "recorded_area_m2": area,
        }
        return RoomRow(sh.name, rec, building, level, number, values, agency, "agency" in present)

    def _plan_rooms(self, pending: list[RoomRow]) -> None:
        """Compare the checked room rows with the ledger: created, updated or unchanged."""
        codes_ = {r.agency_code for r in pending if r.agency_code}
        self._load_agencies([c for c in codes_ if c not in self.agency_rows])
        existing = self._db_rooms({b for r in pending if (b := _id_of(r.building)) is not None})
        for r in pending:
            agency_id = self._agency_id(r.agency_code)
            if agency_id is INVALID:
                self._unknown_agency(r.sheet, r.rec, "agency", r.agency_code or "")
                continue
            values = dict(r.values)
            if r.agency_present:
                values["agency_id"] = agency_id
            bid = _id_of(r.building)
            old = existing.get((bid, r.level, r.number)) if bid is not None else None
            if old is None:
                values.setdefault("agency_id", agency_id)
                self.room_changes.append((r, values))
                self.ctx.count(r.sheet, "created")
                continue
            r.id = old["id"]
            changes = _diff(values, old)
            if changes:
                self.room_changes.append((r, changes))
                self.ctx.updated(r.sheet, r.rec, changes)
            else:
                self.ctx.count(r.sheet, "unchanged")

    def _db_rooms(self, buildings: set[int]) -> dict[tuple[int, int, str], dict[str, Any]]:
        out: dict[tuple[int, int, str], dict[str, Any]] = {}
        if not buildings:
            return out
        for r in self.session.execute(
            select(
                LedgerRoom.id,
                LedgerRoom.building_id,
                LedgerRoom.level,
                LedgerRoom.number,
                LedgerRoom.category,
                LedgerRoom.subcategory,
                LedgerRoom.recorded_area_m2,
                LedgerRoom.agency_id,
            ).where(_any(LedgerRoom.building_id, sorted(buildings)))
        ).mappings():
            out[(r["building_id"], r["level"], r["number"])] = dict(r)
        self._db_room_cache.update(out)
        self._db_room_buildings.update(buildings)
        self._db_room_by_id.update({r["id"]: r for r in out.values()})
        return out

    # ------------------------------------------------ occupants
    def occupants(self, sheets: list[Sheet]) -> None:
        seen: set[tuple[Any, ...]] = set()  # (building, level, number, person): once each
        pending: list[OccupantRow] = []
        for sh in sheets:
            present = set(sh.records[0].values) if sh.records else set()
            for rec in sh.records:
                row = self._occupant_row(sh, rec, present, seen)
                if row is not None:
                    rec.values = _READ
                    pending.append(row)
        if pending:
            self._plan_occupants(pending)

    def _occupant_row(
        self, sh: Sheet, rec: Record, present: set[str], seen: set[tuple[Any, ...]]
    ) -> OccupantRow | None:
        """The row's checked values and its room, or None when wrong (errors reported)."""
        ctx = self.ctx
        pid = ctx.value(sh.name, rec, "person_id", _str(64))
        building = self._building_ref(sh, rec, present)
        level = ctx.value(sh.name, rec, "level", cells.floor_level)
        number = ctx.value(sh.name, rec, "number", _str(40))
        rank = ctx.value(sh.name, rec, "rank", cells.text)
        values = self._fields(sh, rec, present, _OCCUPANT_FIELDS)
        if "is_concurrent_post" in values and values["is_concurrent_post"] is None:
            values["is_concurrent_post"] = False
        agency = ctx.value(sh.name, rec, "agency", _code) if "agency" in present else None
        if INVALID in (pid, level, number, rank, agency, *values.values()) or building is None:
            return None
        if pid is None or level is None or number is None or rank is None:
            fld = (
                "person_id"
                if pid is None
                else "level"
                if level is None
                else "number"
                if number is None
                else "rank"
            )
            zh = {"person_id": "缺少人员编号", "level": "缺少楼层", "number": "缺少房间号"}
            ctx.issue(sh.name, rec, fld, "required", f"{fld} missing", zh.get(fld, "缺少职级"))
            return None
        room = self._room_of(building, level, number)
        if room is None:
            ctx.issue(
                sh.name,
                rec,
                "number",
                "unknown_room",
                f"room {number} on floor {level} is not in the ledger",
                f"房间 {number}（{level} 层）不在房间台账中",
            )
            return None
        key = (self._building_key(building), level, number, pid)
        if key in seen:
            ctx.issue(
                sh.name,
                rec,
                "person_id",
                "duplicate_occupant",
                f"person {pid} appears twice in room {number}",
                f"人员 {pid} 在房间 {number} 重复出现",
            )
            return None
        seen.add(key)
        if agency is None:  # an occupant belongs to the room's agency unless the row says
            agency = self._room_agency_code(room, building)
        return OccupantRow(sh.name, rec, room, pid, values, agency, rank)

    def _room_of(
        self, building: BuildingRow | int, level: int, number: str
    ) -> RoomRow | int | None:
        """The room in this file, else the ledger's room of a stored building."""
        room: RoomRow | int | None = self.room_rows.get(
            (self._building_key(building), level, number)
        )
        if room is None and isinstance(building, int):
            if building not in self._db_room_buildings:
                self._db_rooms({building})
            found = self._db_room_cache.get((building, level, number))
            room = found["id"] if found else None
        return room

    def _plan_occupants(self, pending: list[OccupantRow]) -> None:
        """Compare the checked occupant rows with the ledger: created, updated or unchanged."""
        ctx = self.ctx
        self._load_agencies(
            [
                r.agency_code
                for r in pending
                if r.agency_code and r.agency_code not in self.agency_rows
            ]
        )
        existing = self._db_occupants({i for r in pending if (i := _id_of(r.room)) is not None})
        for r in pending:
            agency_id = self._agency_id(r.agency_code) if r.agency_code else INVALID
            if agency_id is INVALID:
                if r.agency_code:
                    self._unknown_agency(r.sheet, r.rec, "agency", r.agency_code)
                else:
                    ctx.issue(
                        r.sheet, r.rec, "agency", "required", "所在单位 missing", "缺少所在单位"
                    )
                continue
            rank_code = self._rank_code(r)
            if rank_code is None:
                continue
            values = dict(r.values) | {"rank_code": rank_code, "agency_id": agency_id}
            rid = _id_of(r.room)
            old = existing.get((rid, r.person_id)) if rid is not None else None
            if old is None:
                self.occupant_changes.append((r, values, None))
                ctx.count(r.sheet, "created")
                continue
            changes = _diff(values, old)
            if changes:
                self.occupant_changes.append((r, changes, old["id"]))
                ctx.updated(r.sheet, r.rec, changes)
            else:
                ctx.count(r.sheet, "unchanged")

    def _rank_code(self, r: OccupantRow) -> str | None:
        """The 2014 standard's rank for the row's title at its agency's level (None: unknown)."""
        level = self._agency_level(r.agency_code)
        match = codes.map_rank(r.rank, level) if level else None
        if match is None:
            self.ctx.issue(
                r.sheet,
                r.rec,
                "rank",
                "unknown_rank",
                f"unknown rank {r.rank[:20]!r}: not a rank of the 2014 standard or a 2019 职级 title",
                f"无法识别的职级：{r.rank[:20]}（应为 2014 标准的职级或 2019 年职务职级名称）",
            )
            return None
        if match.capped:
            # a title above the level's table is judged at the table's top rank
            self.ctx.issue(
                r.sheet,
                r.rec,
                "rank",
                "rank_above_level",
                f"{r.rank[:20]} is above the {level} table: judged at its top rank",
                f"{r.rank[:20]} 高于该级别标准表，按其最高一档判定",
                warning=True,
            )
        return str(match.rank_code)

    def _room_agency_code(self, room: RoomRow | int, building: BuildingRow | int) -> str | None:
        if isinstance(room, RoomRow) and room.agency_code:
            return room.agency_code
        agency_id: int | None = None
        if isinstance(room, int):
            found = self._db_room_by_id.get(room)
            agency_id = found["agency_id"] if found else None
        if agency_id is None:
            if isinstance(building, BuildingRow):
                return building.agency_code
            agency_id = self.db_buildings.get(building, {}).get("agency_id")
        if agency_id is None:
            return None
        return self.session.execute(
            select(Agency.credit_code).where(Agency.id == agency_id)
        ).scalar()

    def _db_occupants(self, rooms: set[int]) -> dict[tuple[int, str], dict[str, Any]]:
        out: dict[tuple[int, str], dict[str, Any]] = {}
        if not rooms:
            return out
        for r in self.session.execute(
            select(
                LedgerOccupant.id,
                LedgerOccupant.ledger_room_id,
                LedgerOccupant.person_id,
                LedgerOccupant.person_name,
                LedgerOccupant.post_title,
                LedgerOccupant.rank_code,
                LedgerOccupant.agency_id,
                LedgerOccupant.is_concurrent_post,
                LedgerOccupant.start_date,
            ).where(_any(LedgerOccupant.ledger_room_id, sorted(rooms)))
        ).mappings():
            out[(r["ledger_room_id"], r["person_id"])] = dict(r)
        return out

    # ------------------------------------------------ apply
    def apply(self) -> None:
        """Write the plan: agencies, buildings, rooms, occupants (each needs the ids before)."""
        self._apply_agencies()
        self._apply_buildings()
        self._apply_rooms()
        self._apply_occupants()
        self.session.flush()

    def _apply_agencies(self) -> None:
        s = self.session
        # new ones first: a parent may be an agency this file creates
        new = [(r, v) for r, v, created in self.agency_changes if created]
        if new:
            ids = (
                s.execute(
                    insert(Agency).returning(Agency.id, sort_by_parameter_order=True),
                    [
                        {k: v[k] for k in ("name", "level", "region_adcode")}
                        | {
                            "credit_code": r.credit_code,
                            "approved_office_area_m2": v.get("approved_office_area_m2"),
                        }
                        for r, v in new
                    ],
                )
                .scalars()
                .all()
            )
            for (r, _), i in zip(new, ids, strict=True):
                r.id = int(i)
        staffing_rows: list[dict[str, Any]] = []
        staffing_clear: dict[str, list[int]] = defaultdict(list)  # level → agencies
        for ar, v, created in self.agency_changes:
            assert ar.id is not None
            self.touched_agencies.add(ar.id)
            self._update_agency(ar, v, created)
            if ar.staffing is not None:
                if not created:
                    staffing_clear[ar.values["level"]].append(ar.id)
                staffing_rows += [
                    {"agency_id": ar.id, "rank_code": k, "quota": q, "headcount": h}
                    for k, (q, h) in sorted(ar.staffing.items())
                ]
        # the file's staffing replaces the level's ranks only: other ranks stay as they are
        for level, ids_ in staffing_clear.items():
            s.execute(
                delete(AgencyStaffing).where(
                    _any(AgencyStaffing.agency_id, ids_),
                    AgencyStaffing.rank_code.in_(sorted(_level_ranks(level))),
                )
            )
        if staffing_rows:
            s.execute(insert(AgencyStaffing), staffing_rows)

    def _update_agency(self, ar: AgencyRow, v: dict[str, Any], created: bool) -> None:
        """Its changed columns and parent; a stored agency's version moves even when only its
        staffing changed."""
        changes = dict(v) if not created else {}
        if ar.parent is not None and (created or "parent_id" in v):
            changes["parent_id"] = self._agency_id(ar.parent)
        changes = {k: val for k, val in changes.items() if k in AGENCY_COLUMNS}
        if changes or not created:
            bump = {} if created else {"version": Agency.version + 1, "updated_at": func.now()}
            self.session.execute(
                update(Agency)
                .where(Agency.id == ar.id)
                .values(**changes, **bump)
                .execution_options(synchronize_session=False)
            )

    def _apply_rooms(self) -> None:
        """Updates one by one, new rooms in bulk (their region is their building's)."""
        new_rooms = []
        for rr, values in self.room_changes:
            bid = rr.building.id if isinstance(rr.building, BuildingRow) else rr.building
            assert bid is not None
            self.touched_buildings.add(bid)
            if "agency_id" in values and values["agency_id"] is None and rr.agency_code:
                values["agency_id"] = self._agency_id(rr.agency_code)
            if rr.id is None:
                new_rooms.append((rr, bid, values))
            else:
                self._update_row(LedgerRoom, rr.id, values)
        if new_rooms:
            regions_ = self._regions_of(Building, {b for _, b, _ in new_rooms})
            ids = self._copy_rows(
                "ledger_rooms",
                (
                    "building_id",
                    "level",
                    "number",
                    "category",
                    "subcategory",
                    "recorded_area_m2",
                    "agency_id",
                    "region_adcode",
                ),
                [
                    (
                        b,
                        r.level,
                        r.number,
                        v.get("category"),
                        v.get("subcategory"),
                        v["recorded_area_m2"],
                        v.get("agency_id"),
                        regions_[b],
                    )
                    for r, b, v in new_rooms
                ],
            )
            for (nr, _, _), i in zip(new_rooms, ids, strict=True):
                nr.id = i

    def _apply_occupants(self) -> None:
        """Updates one by one, new occupants in bulk (their region is their room's)."""
        new_occ = []
        for orow, values, oid in self.occupant_changes:
            room_id = orow.room.id if isinstance(orow.room, RoomRow) else orow.room
            assert room_id is not None  # rooms are written first
            if values.get("agency_id") is None and orow.agency_code:
                values["agency_id"] = self._agency_id(orow.agency_code)
            if oid is None:
                new_occ.append((orow, room_id, values))
            else:
                self._update_row(LedgerOccupant, oid, values)
        if new_occ:
            regions_ = self._regions_of(LedgerRoom, {i for _, i, _ in new_occ})
            self._copy_rows(
                "ledger_occupants",
                (
                    "ledger_room_id",
                    "agency_id",
                    "person_id",
                    "person_name",
                    "post_title",
                    "rank_code",
                    "is_concurrent_post",
                    "start_date",
                    "region_adcode",
                ),
                [
                    (
                        i,
                        v["agency_id"],
                        r.person_id,
                        v.get("person_name"),
                        v.get("post_title"),
                        v["rank_code"],
                        bool(v.get("is_concurrent_post")),
                        v.get("start_date"),
                        regions_[i],
                    )
                    for r, i, v in new_occ
                ],
                returning=False,
            )

    def _apply_buildings(self) -> None:
        """New buildings in batches (one statement per column set), updates one by one."""
        s = self.session
        new: dict[tuple[str, ...], list[tuple[BuildingRow, dict[str, Any]]]] = defaultdict(list)
        for br, values, _, created in self.building_changes:
            vals = dict(values)
            if vals.get("agency_id") is None and br.agency_code:
                vals["agency_id"] = self._agency_id(br.agency_code)
            if created:
                vals.setdefault("ownership", "owned")
                vals["source"] = "ledger"
                new[tuple(sorted(vals))].append((br, vals))
            elif vals:
                s.execute(
                    update(Building)
                    .where(Building.id == br.id)
                    .values(**vals, version=Building.version + 1, updated_at=func.now())
                    .execution_options(synchronize_session=False)
                )
                if "region_adcode" in vals:
                    s.execute(
                        update(LedgerRoom)
                        .where(LedgerRoom.building_id == br.id)
                        .values(region_adcode=vals["region_adcode"])
                    )
        for batch in new.values():
            ids = s.execute(
                insert(Building).returning(Building.id, sort_by_parameter_order=True),
                [vals for _, vals in batch],
            ).scalars()
            for (br, _), i in zip(batch, ids, strict=True):
                br.id = int(i)
        fact_rows: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        users_clear: list[int] = []
        users_rows: list[dict[str, int]] = []
        for br, _, facts, created in self.building_changes:
            assert br.id is not None
            self.touched_buildings.add(br.id)
            values = dict(facts)
            if "location" in values:
                loc = values["location"]
                values["location"] = (
                    None if loc is None else f"SRID=4490;POINT({loc[0]!r} {loc[1]!r})"
                )
            if created:
                fact_rows[tuple(sorted(values))].append({"building_id": br.id, **values})
            elif values:
                self._update_facts(br.id, values)
            if id(br) in self._users_of or (created and br.user_codes):
                if not created:
                    users_clear.append(br.id)
                using = {self._agency_id(c) for c in (br.user_codes or [])}
                users_rows += [
                    {"building_id": br.id, "agency_id": int(a)}
                    for a in sorted(x for x in using if x is not None)
                ]
        for rows in fact_rows.values():
            s.execute(insert(BuildingLedger), rows)
        if users_clear:
            visible = select(Agency.id).where(visibility.agencies(self.scope))
            s.execute(
                delete(BuildingAgency).where(
                    _any(BuildingAgency.building_id, users_clear),
                    BuildingAgency.agency_id.in_(visible),
                )
            )
        if users_rows:
            s.execute(insert(BuildingAgency), users_rows)

    def _update_row(self, model: Any, key: int, values: dict[str, Any]) -> None:
        """One stored ledger row changed by the file: a new version (a later edit's If-Match
        then names a stale one)."""
        self.session.execute(
            update(model).where(model.id == key).values(**values, version=model.version + 1)
        )

    def _regions_of(self, model: Any, ids: set[int]) -> dict[int, int]:
        """id → region of the parent rows new rows hang on (a row's region is its parent's)."""
        rows = self.session.execute(
            select(model.id, model.region_adcode).where(_any(model.id, sorted(ids)))
        )
        return {int(i): int(r) for i, r in rows}

    def _update_facts(self, building_id: int, values: dict[str, Any]) -> None:
        s = self.session
        exists = s.execute(
            select(BuildingLedger.building_id).where(BuildingLedger.building_id == building_id)
        ).first()
        if exists is None:
            s.execute(insert(BuildingLedger).values(building_id=building_id, **values))
        else:
            s.execute(
                update(BuildingLedger)
                .where(BuildingLedger.building_id == building_id)
                .values(**values)
            )

    def _copy_rows(
        self,
        table: str,
        columns: tuple[str, ...],
        rows: list[tuple[Any, ...]],
        *,
        returning: bool = True,
    ) -> list[int]:
        """Insert ``rows`` into ``table``; the new ids in row order (a sequence block is reserved)."""
        s = self.session
        ids: list[int] = []
        if returning:
            ids = list(
                s.execute(
                    text(
                        "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
                    ),
                    {"t": table, "n": len(rows)},
                ).scalars()
            )
            rows = [(i, *r) for i, r in zip(ids, rows, strict=True)]
            columns = ("id", *columns)
        # one INSERT … SELECT FROM unnest(arrays) per chunk: COPY is refused under
        # row-level security (the app's role)
        types = [COLUMN_TYPES[c] for c in columns]
        sql = text(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest("  # noqa: S608
            + ", ".join(f"CAST(:c{k} AS {t}[])" for k, t in enumerate(types))
            + ")"
        )
        for start in range(0, len(rows), 50_000):
            chunk = rows[start : start + 50_000]
            s.execute(sql, {f"c{k}": [r[k] for r in chunk] for k in range(len(columns))})
        return [int(i) for i in ids]


# SQL types of the columns written in bulk (constants: never from input)
COLUMN_TYPES = {
    "id": "bigint",
    "building_id": "int",
    "level": "smallint",
    "number": "text",
    "category": "text",
    "subcategory": "text",
    "recorded_area_m2": "numeric",
    "agency_id": "int",
    "region_adcode": "int",
    "ledger_room_id": "bigint",
    "person_id": "text",
    "person_name": "text",
    "post_title": "text",
    "rank_code": "text",
    "is_concurrent_post": "boolean",
    "start_date": "date",
}
AGENCY_COLUMNS = {"name", "level", "region_adcode", "approved_office_area_m2", "parent_id"}


def _any(column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column = ANY(:array)``: one parameter however many values (``IN`` binds one each,
    and a statement may carry at most 65,535)."""
    items = list(values)
    kind = Text if items and isinstance(items[0], str) else BigInteger
    predicate: ColumnElement[bool] = column == any_(bindparam(None, items, type_=ARRAY(kind)))
    return predicate


def _level_ranks(level: str) -> set[str]:
    return {r.rank_code for r in codes.rank_rows() if r.agency_level == level}


def _id_of(x: BuildingRow | RoomRow | int) -> int | None:
    return x if isinstance(x, int) else x.id


def _same_point(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a[0], b[0], abs_tol=1e-9) and math.isclose(a[1], b[1], abs_tol=1e-9)


def _parse_epsg(value: Any) -> int | None:
    s = cells.text(value)
    if s is None:
        return None
    digits = "".join(ch for ch in s if ch.isdigit())
    if not digits:
        return None
    code = int(digits[-4:]) if len(digits) >= 4 else None
    if code is None or not (4491 <= code <= 4554 or code in (4490, 4326)):
        return None
    return code


_TRANSFORMERS: dict[int, Transformer] = {}


def _transformer(epsg: int) -> Transformer:
    if epsg not in _TRANSFORMERS:
        _TRANSFORMERS[epsg] = Transformer.from_crs(epsg, 4490, always_xy=True)
    return _TRANSFORMERS[epsg]


__all__ = ["LedgerOutcome", "LedgerRequest", "SHEET_TITLES", "import_ledger"]
