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
