"""Who is calling: the principal (user, roles, scope) that services act for.

Until users exist every request acts as the built-in ``system`` principal with the
``admin`` role and an unrestricted scope; the access-control layer replaces
``backend.api.deps.get_principal`` with token/cookie authentication.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.services.errors import Forbidden
from backend.services.scope import Scope

ROLES = ("admin", "planner", "leader", "surveyor", "agency_officer", "inspector")


@dataclass(frozen=True)
class Permission:
    """Who may do one action (always within their scope; admins see everything)."""

    roles: tuple[str, ...]
    what: str  # the action as the README table names it
    how: str  # the route(s) that perform it


# The role × action table: the README's table is generated from it (``permission_table``)
# and a test drives every row with every role against the app.
MANAGING_OFFICE = ("admin", "planner")  # 机关事务管理部门: sets the figures agencies are judged by
PERMISSIONS: dict[str, Permission] = {
    "register.read": Permission(
        ROLES,
        "read the register, maps, tiles, findings and exports (within scope)",
        "GET /api/v1/…, /tiles/…, /map…",
    ),
    "building.create": Permission(
        ("admin", "planner", "surveyor"), "create a building", "POST /api/v1/buildings"
    ),
    "building.update": Permission(
        ("admin", "planner", "surveyor"),
        "edit a building, floor or room",
        "PATCH /api/v1/buildings/{id}, /floors/{id}, /rooms/{id}",
    ),
    "plan.dry_run": Permission(
        ROLES, "validate a floor plan (dry run)", "POST …/floors/{level}/plan dry_run=true"
    ),
    "plan.import": Permission(
        ("admin", "surveyor"),
        "import a floor plan (new floor version)",
        "POST …/floors/{level}/plan",
    ),
    "occupancy.write": Permission(
        ("admin", "planner", "agency_officer"),
        "record and edit occupancy (who uses a room), move a person",
        "POST /api/v1/occupancies, PATCH /api/v1/occupancies/{id}, POST …/{id}/move",
    ),
    "staffing.headcount": Permission(
        ("admin", "planner", "agency_officer"),
        "report an agency's headcount (quotas unchanged)",
        "PUT /api/v1/agencies/{id}/staffing",
    ),
    "staffing.quota": Permission(
        MANAGING_OFFICE,
        "set an agency's staffing quota (编制)",
        "PUT /api/v1/agencies/{id}/staffing",
    ),
    "agency.approved_area": Permission(
        MANAGING_OFFICE,
        "set an agency's approved office area (核定面积)",
        "PATCH /api/v1/agencies/{id}",
    ),
    "finding.status": Permission(
        ("admin", "inspector"),
        "set a finding's status",
        "PATCH /api/v1/compliance/findings/{id}",
    ),
    "compliance.evaluate": Permission(
        ("admin",), "re-evaluate compliance", "POST /api/v1/compliance/evaluations"
    ),
    "audit.read": Permission(("admin", "inspector"), "read the audit trail", "GET /api/v1/audit"),
    "lease.write": Permission(
        ("admin", "planner", "agency_officer"),
        "record, change or end a lease or loan (出租出借)",
        "POST /api/v1/leases, PATCH /api/v1/leases/{id}",
    ),
    "whatif.run": Permission(
        ("admin", "planner"),
        "run a what-if scenario (live findings untouched)",
        "POST /api/v1/whatif/scenarios",
    ),
    # reallocation (allocation): agencies ask, the managing office decides
    "space_request.create": Permission(
        ("admin", "planner", "agency_officer"),
        "file a space request (用房申请; an officer for its own agency)",
        "POST /api/v1/space-requests",
    ),
    "allocation.candidates": Permission(
        MANAGING_OFFICE,
        "see a request's candidates (other agencies' idle space)",
        "GET /api/v1/space-requests/{id}/candidates",
    ),
    "allocation.approve": Permission(
        MANAGING_OFFICE,
        "approve an allocation plan (调剂/置换/租用/建设)",
        "POST /api/v1/allocation-plans",
    ),
    "allocation.execute": Permission(
        MANAGING_OFFICE,
        "execute an approved allocation plan",
        "POST /api/v1/allocation-plans/{id}/execute",
    ),
    "allocation.match": Permission(
        MANAGING_OFFICE,
        "match all open requests against all idle space",
        "POST /api/v1/allocation-matchings",
    ),
    "asset_pool.release": Permission(
        MANAGING_OFFICE,
        "release an idle room to the public asset pool (公物仓)",
        "POST /api/v1/asset-pool",
    ),
    # the asset lifecycle (lifecycle)
    "lease.approve": Permission(
        MANAGING_OFFICE,
        "approve or end a lease or loan",
        "POST /api/v1/leases/{id}/approve, /end",
    ),
    "maintenance.request": Permission(
        ("admin", "planner", "agency_officer"),
        "request maintenance (维修申请)",
        "POST /api/v1/maintenance",
    ),
    "maintenance.decide": Permission(
        MANAGING_OFFICE,
        "approve, reject or complete maintenance",
        "POST /api/v1/maintenance/{id}/approve, /reject, /complete",
    ),
    "disposal.write": Permission(
        MANAGING_OFFICE,
        "propose, approve or complete a disposal (处置)",
        "POST /api/v1/disposals, /disposals/{id}/approve, /complete",
    ),
    "title.write": Permission(
        MANAGING_OFFICE,
        "register or transfer a title (产权)",
        "POST /api/v1/titles, /titles/{id}/transfer",
    ),
    "reconciliation.read": Permission(
        ROLES,
        "read the reconciliation 账账/账实/账证 (within scope)",
        "GET /api/v1/reconciliation",
    ),
    # supervision
    "inspection.read": Permission(
        ("admin", "inspector", "leader"),
        "read inspections and their checks",
        "GET /api/v1/inspections…",
    ),
    "inspection.write": Permission(
        ("admin", "inspector"),
        "plan or change an inspection, record an on-site check",
        "POST /api/v1/inspections, PATCH …/{id}, POST …/{id}/checks",
    ),
    "evidence.upload": Permission(
        ("admin", "inspector", "agency_officer"),
        "upload evidence (佐证材料)",
        "POST /api/v1/evidence",
    ),
    "rectification.read": Permission(
        ("admin", "inspector", "leader", "agency_officer", "planner"),
        "read the rectification ledger (整改台账)",
        "GET /api/v1/rectifications, …/findings/{id}/rectification",
    ),
    "rectification.create": Permission(
        ("admin", "inspector"),
        "put a finding on the rectification ledger",
        "POST /api/v1/findings/{id}/rectification",
    ),
    "rectification.update": Permission(
        ("admin", "inspector", "agency_officer"),
        "edit a rectification item (measures, progress; verification: inspectors)",
        "PATCH /api/v1/findings/{id}/rectification",
    ),
    "rectification.flag_overdue": Permission(
        ("admin",),
        "flag overdue rectifications (the daily run)",
        "POST /api/v1/rectifications/overdue-flags",
    ),
    "accountability.read": Permission(
        ("admin", "inspector", "leader"),
        "read accountability (问责) records",
        "GET /api/v1/accountability",
    ),
    "accountability.write": Permission(
        ("admin", "inspector"),
        "record an accountability (问责) decision",
        "POST /api/v1/accountability",
    ),
    "assessment.read": Permission(
        ("admin", "inspector", "leader", "planner"),
        "read assessments (考核)",
        "GET /api/v1/assessments…",
    ),
    # stock-take
    "ledger.import": Permission(
        ("admin", "planner", "agency_officer"),
        "import a ledger workbook (清查台账; reference figures: managing office)",
        "POST /api/v1/imports/ledger",
    ),
    "agency.create": Permission(
        MANAGING_OFFICE, "register an agency (单位)", "POST /api/v1/agencies"
    ),
    "campaign.create": Permission(
        MANAGING_OFFICE, "launch a stock-take campaign (清查任务)", "POST /api/v1/campaigns"
    ),
    "campaign.submit": Permission(
        ("admin", "agency_officer"),
        "submit an agency's declaration in a campaign",
        "POST /api/v1/campaigns/{id}/agencies/{agency}/status submitted",
    ),
    "campaign.verify": Permission(
        MANAGING_OFFICE,
        "verify or return a declaration",
        "POST /api/v1/campaigns/{id}/agencies/{agency}/status verified, returned",
    ),
    "password.change": Permission(
        ROLES, "change one's own password, sign out", "POST /api/v1/auth/password, /logout"
    ),
}


def roles_for(action: str) -> tuple[str, ...]:
    """The roles that may perform ``action`` (a key of ``PERMISSIONS``)."""
    return PERMISSIONS[action].roles


def permission_table() -> str:
    """The role × action table as Markdown (the README carries exactly this text)."""
    head = "| action | route | " + " | ".join(ROLES) + " |"
    rule = "|---|---|" + "---|" * len(ROLES)
    rows = [
        f"| {p.what} | `{p.how}` | "
        + " | ".join("✓" if r in p.roles else "—" for r in ROLES)
        + " |"
        for p in PERMISSIONS.values()
    ]
    return "\n".join([head, rule, *rows])


@dataclass(frozen=True)
class Principal:
    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    scope: Scope = field(default_factory=Scope.everything)

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    def require(self, *roles: str) -> None:
        """Raise Forbidden unless the principal holds one of ``roles``."""
        if not self.has_any(*roles):
            raise Forbidden(
                f"requires one of the roles: {', '.join(roles)}",
                message_zh="当前角色无权执行此操作",
            )


SYSTEM = Principal(username="system", roles=frozenset({"admin"}), scope=Scope.everything())
