"""Users: create, grant and revoke roles and scope, sign in, and the demo accounts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from cachetools import LRUCache
from sqlalchemy import bindparam, exists, func, select, text, true
from sqlalchemy.orm import Session

from backend.accounts import auth
from backend.accounts.access import ROLES, Principal
from backend.audit import service as audit
from backend.db.access import User
from backend.db.async_pool import Compiled, Reader, Row, Statement, compile_statement
from backend.db.models import Agency, Region, Room
from backend.services.errors import Conflict, InvalidInput, NotFound
from backend.services.scope import Scope, adcode_ranges
from backend.sessions import service as throttle
from backend.sessions.models import RevokedToken
from backend.settings import auth_settings

DEMO_USERNAMES = {
    "admin": "admin",
    "planner": "planner",
    "leader": "leader",
    "surveyor": "surveyor",
    "agency_officer": "officer",
    "inspector": "inspector",
}


def _check_roles(roles: Iterable[str]) -> list[str]:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise InvalidInput(
            f"unknown roles: {', '.join(unknown)} (known: {', '.join(ROLES)})",
            message_zh="未知角色",
            details={"roles": unknown},
        )
    return sorted(set(roles))


def _check_scope(session: Session, regions: Iterable[int], agencies: Iterable[int]) -> None:
    regions, agencies = set(regions), set(agencies)
    known_regions = set(session.scalars(select(Region.adcode).where(Region.adcode.in_(regions))))
    known_agencies = set(session.scalars(select(Agency.id).where(Agency.id.in_(agencies))))
    if regions - known_regions or agencies - known_agencies:
        raise InvalidInput(
            "unknown regions or agencies in scope",
            message_zh="权限范围中含未知行政区划或单位",
            details={
                "regions": sorted(regions - known_regions),
                "agencies": sorted(agencies - known_agencies),
            },
        )


def _image(user: User) -> dict[str, object]:
    return {
        "username": user.username,
        "roles": sorted(user.roles),
        "regions": sorted(user.regions),
        "agencies": sorted(user.agencies),
        "active": user.active,
    }


def get_user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        raise NotFound(f"user {username} not found", message_zh=f"用户 {username} 不存在")
    return user


def create_user(
    session: Session,
    *,
    actor: str,
    username: str,
    password: str,
    roles: Iterable[str] = (),
    regions: Iterable[int] = (),
    agencies: Iterable[int] = (),
) -> User:
    """A new active user (Argon2id password hash), audited."""
    if len(password) < 8:
        raise InvalidInput("password must have at least 8 characters", message_zh="密码至少 8 位")
    if session.scalars(select(User.id).where(User.username == username)).first() is not None:
        raise Conflict(f"user {username} exists", message_zh=f"用户 {username} 已存在")
    _check_scope(session, regions, agencies)
    user = User(
        username=username,
        password_hash=auth.hash_password(password),
        roles=_check_roles(roles),
        regions=sorted(set(regions)),
        agencies=sorted(set(agencies)),
        active=True,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=username,
        after=_image(user),
    )
    return user


def grant(
    session: Session,
    *,
    actor: str,
    username: str,
    roles: Iterable[str] = (),
    regions: Iterable[int] = (),
    agencies: Iterable[int] = (),
) -> User:
    """Add roles and scope to a user."""
    user = get_user(session, username)
    before = _image(user)
    _check_scope(session, regions, agencies)
    user.roles = _check_roles([*user.roles, *roles])
    user.regions = sorted({*user.regions, *regions})
    user.agencies = sorted({*user.agencies, *agencies})
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.grant",
        object_type="user",
        object_id=username,
        before=before,
        after=_image(user),
    )
    return user


def revoke(
    session: Session,
    *,
    actor: str,
    username: str,
    roles: Iterable[str] = (),
    regions: Iterable[int] = (),
    agencies: Iterable[int] = (),
    deactivate: bool = False,
) -> User:
    """Remove roles and scope from a user (or deactivate the account)."""
    user = get_user(session, username)
    before = _image(user)
    user.roles = sorted(set(user.roles) - set(roles))
    user.regions = sorted(set(user.regions) - set(regions))
    user.agencies = sorted(set(user.agencies) - set(agencies))
    if deactivate:
        user.active = False
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.revoke",
        object_type="user",
        object_id=username,
        before=before,
        after=_image(user),
    )
    return user


def principal_of(user: User) -> Principal:
    """The principal a user acts as: admins unrestricted, others within their scope."""
    return principal_for(user.username, user.roles, user.regions, user.agencies)


def principal_for(
    username: str, roles: Iterable[str], regions: Iterable[int], agencies: Iterable[int]
) -> Principal:
    """The principal of a user row's values: admins unrestricted, others within their scope."""
    role_set = frozenset(roles)
    if "admin" in role_set:
        scope = Scope.everything()
    else:
        scope = Scope(regions=frozenset(regions), agencies=frozenset(agencies))
    return Principal(username=username, roles=role_set, scope=scope)


# the token's user is active and the token neither signed out nor of an older generation
_LIVE_TOKEN_USER = (
    (User.username == bindparam("username", ""))
    & User.active.is_(True)
    & (User.token_generation == bindparam("gen", 0))
    & ~exists().where(RevokedToken.jti == bindparam("jti", ""))
)

# the users row is visible to the role requests run as only for the name the request claims
# (a verified token's subject, or the name being signed in) or under an unrestricted scope
_CLAIM = text("SELECT set_config('officemap.user', :username, true)")
_CLAIM_USER = compile_statement(
    select(func.set_config("officemap.user", bindparam("username", ""), True))
)


def claim_user(session: Session, username: str) -> None:
    """Make ``username``'s own users row visible to this transaction (row-level security)."""
    session.execute(_CLAIM, {"username": username})


_ACTIVE_USER = compile_statement(
    select(User.username, User.roles, User.regions, User.agencies).where(_LIVE_TOKEN_USER)
)


def _token_values(claims: auth.TokenClaims) -> dict[str, object]:
    return {"username": claims.username, "gen": claims.generation, "jti": claims.jti}


async def read_principal(reader: Reader, claims: auth.TokenClaims) -> Principal:
    """``load_principal`` on the lean read path (one prepared statement, no ORM)."""
    username = claims.username
    _, row = await reader.fetch(
        [(_CLAIM_USER, {"username": username}), (_ACTIVE_USER, _token_values(claims))]
    )
    if row is None:
        _principals().pop(username, None)
        raise auth.bad_credentials()
    principal = principal_for(*row)
    _principals()[username] = principal
    return principal


@lru_cache(maxsize=1)
def _principals() -> LRUCache[str, Principal]:
    """The last principal seen per username: only a guess, checked against the users row in
    the same transaction as the read it is used for (so a revoke still takes effect at once).
    Used on the event loop only (the lean async reads), so without a lock."""
    return LRUCache(maxsize=auth_settings().principal_cache_entries)


async def read_as(
    reader: Reader, claims: auth.TokenClaims, statement_for: Callable[[Scope], Statement]
) -> Row | None:
    """``statement_for(scope)``'s first row, read under the user's current scope and RLS settings.

    One statement, one round trip (``_claimed_read``): the claimed user and scope settings,
    the users row and the statement, with the last principal seen for ``username``; if the
    users row no longer gives that principal (a grant or revoke since), the read is repeated
    with the new one. Unauthenticated when the account is gone or inactive, or the token was
    revoked (same statement as the users row).
    """
    username = claims.username
    principal = _principals().get(username) or await read_principal(reader, claims)
    for _ in range(3):
        compiled, values = statement_for(principal.scope)
        settings = {**_scope_settings(principal.scope), "username": username}
        (row,) = await reader.fetch(
            [(_claimed_read(compiled), {**values, **settings, **_token_values(claims)})]
        )
        if row is None or row[0] is None:
            _principals().pop(username, None)
            raise auth.bad_credentials()
        current = principal_for(*row[:4])
        if current == principal:
            return row[4:-1] if row[-1] else None
        _principals()[username] = principal = current
    raise Conflict(
        "the account changed during the request, retry", message_zh="账户权限变更中，请重试"
    )


# the claimed user and scope settings as one value: every part of ``_claimed_read`` that reads
# under row-level security depends on it, so PostgreSQL sets them before it reads a row
_CLAIMED = (
    select(
        func.concat(
            func.set_config("officemap.user", bindparam("username", ""), True),
            func.set_config("officemap.unrestricted", bindparam("u", ""), True),
            func.set_config("officemap.regions", bindparam("r", ""), True),
            func.set_config("officemap.agencies", bindparam("a", ""), True),
        ).label("claimed")
    )
    .offset(0)
    .subquery("claimed")
)
# per target statement object (the callers cache theirs per scope: the scope's values are
# the statement's compiled-in defaults, so equal SQL text is not the same statement)
_claimed_reads: dict[int, tuple[Compiled, Compiled]] = {}


def _claimed_read(target: Compiled) -> Compiled:
    """``target`` and the token's users row read in ONE statement, after the claimed user and
    scope settings are written (transaction-local: in the pool's single-statement transaction
    they end with the statement).

    ``SELECT users row…, target…, found FROM (SELECT set_config…) claimed LEFT JOIN LATERAL
    (users row) LEFT JOIN LATERAL (target)``: both lateral subqueries depend on the
    ``claimed`` row and are fenced with ``OFFSET 0`` (not merged into the outer query), so
    they run after the settings are written, as the inner side of a nested loop whose outer
    side is that one row. Were the order ever different, row-level security would see no
    scope and the read would find nothing (a 404 or 401, never another scope's rows).
    """
    hit = _claimed_reads.get(id(target))
    if hit is not None and hit[0] is target:
        return hit[1]
    gate = _CLAIMED.c.claimed.is_not(None)
    user = (
        select(User.username, User.roles, User.regions, User.agencies)
        .where(_LIVE_TOKEN_USER, gate)
        .offset(0)
        .lateral("claimed_user")
    )
    found = target.clause.add_columns(true().label("found")).where(gate).offset(0)
    read = found.lateral("claimed_target")
    stmt = (
        select(user.c.username, user.c.roles, user.c.regions, user.c.agencies, *read.c)
        .select_from(_CLAIMED)
        .outerjoin(user, true())
        .outerjoin(read, true())
    )
    compiled = compile_statement(stmt)
    if len(_claimed_reads) >= 1_000:
        _claimed_reads.clear()
    _claimed_reads[id(target)] = (target, compiled)
    return compiled


def load_principal(session: Session, claims: auth.TokenClaims) -> Principal:
    """The principal of a token's active user; Unauthenticated when the account is gone or
    inactive, or the token was signed out or issued before a password change."""
    claim_user(session, claims.username)
    user = session.scalars(
        select(User).where(
            User.username == claims.username,
            User.active.is_(True),
            throttle.live_token_filter(claims),
        )
    ).one_or_none()
    if user is None:
        raise auth.bad_credentials()
    return principal_of(user)


def authenticate(session: Session, username: str, password: str, *, client: str) -> Principal:
    """Check credentials (throttled per client and per user and client, in PostgreSQL); the
    same error for an unknown user and a wrong password.

    A failure is recorded in ``session``: callers answer the refusal without raising through
    the transaction, so that it commits.
    """
    throttle.check_throttle(session, username, client)
    claim_user(session, username)
    user = session.scalars(
        select(User).where(User.username == username, User.active.is_(True))
    ).one_or_none()
    if not auth.verify_password(user.password_hash if user else None, password) or user is None:
        throttle.record_failure(session, username, client)
        raise auth.bad_credentials()
    throttle.record_success(session, username, client)
    return principal_of(user)


_SET_SCOPE = text(
    "SELECT set_config('officemap.unrestricted', :u, true),"
    " set_config('officemap.regions', :r, true),"
    " set_config('officemap.agencies', :a, true)"
)


def _scope_settings(scope: Scope) -> dict[str, str]:
    ranges = sorted(r for a in scope.regions for r in adcode_ranges(a))  # townships too
    regions = ",".join(f"[{lo},{hi}]" for lo, hi in ranges)
    return {
        "u": "on" if scope.unrestricted else "",
        "r": "{" + regions + "}",
        "a": "{" + ",".join(str(a) for a in sorted(scope.agencies)) + "}",
    }


def apply_database_scope(session: Session, scope: Scope) -> None:
    """Write the scope into transaction-local settings read by the row-level security policies."""
    session.execute(_SET_SCOPE, _scope_settings(scope))


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    scope: str


def ensure_demo_users(session: Session) -> list[DemoAccount]:
    """One user per role (password ``demo-<username>``); the officer sees one agency."""
    province = session.scalars(
        select(Region.adcode).where(Region.level == "province").order_by(Region.adcode).limit(1)
    ).first()
    # the officer's agency: the one with the most rooms (ties: lowest id)
    agency_id = session.scalars(
        select(Room.agency_id)
        .where(Room.agency_id.is_not(None))
        .group_by(Room.agency_id)
        .order_by(func.count().desc(), Room.agency_id)
        .limit(1)
    ).first()
    agency = session.get(Agency, agency_id) if agency_id is not None else None
    accounts: list[DemoAccount] = []
    for role, username in DEMO_USERNAMES.items():
        regions: list[int] = []
        agencies: list[int] = []
        if role == "agency_officer" and agency is not None:
            agencies = [agency.id]
            scope = f"agency {agency.id} {agency.name}"
        elif role == "admin":
            scope = "everything"
        else:
            regions = [province] if province is not None else []
            scope = f"region {province}"
        password = f"demo-{username}"
        known = session.scalars(select(User.id).where(User.username == username)).first()
        if known is None:
            create_user(
                session,
                actor="demo",
                username=username,
                password=password,
                roles=[role],
                regions=regions,
                agencies=agencies,
            )
        accounts.append(DemoAccount(username, password, role, scope))
    return accounts
