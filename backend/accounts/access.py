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
