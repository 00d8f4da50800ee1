"""Sessions: who the client is, cross-site refusal, login throttling, sign-out, revocation.

- **Client address**: the peer address, or — only when the peer is a configured trusted
  proxy (``OFFICEMAP_SESSION_TRUSTED_PROXIES``, default none) — the right-most address of
  ``X-Forwarded-For`` that is not itself a trusted proxy. IPv6 clients count per /64.
- **Cross-site writes**: a cookie-signed request with an unsafe method must come from the
  server's own origin (``Origin`` matching ``Host``, or one of
  ``OFFICEMAP_SESSION_ALLOWED_ORIGINS``) or say ``Sec-Fetch-Site: same-origin``.
- **Login throttling** (table ``login_throttle``, shared by workers, kept across restarts):
  failures are counted per client and per (user name, client); past a free allowance each
  further failure doubles the key's delay. No key is per user name alone, so failures from
  one client never refuse the real user signing in from another.
- **Revocation**: a token is refused when its ``jti`` is in ``revoked_tokens`` (sign-out)
  or its generation is older than the user's ``token_generation`` (password change).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import (
    ColumnElement,
    Float,
    case,
    delete,
    exists,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from backend.accounts import auth
from backend.audit import service as audit
from backend.db.access import User
from backend.services.errors import InvalidInput, NotFound, RateLimited, Unauthenticated
from backend.sessions.models import LoginThrottle, RevokedToken
from backend.settings import SessionSettings, session_settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


# ---------------------------------------------------------------- client address
@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def client_address(
    peer: str | None, forwarded_for: Iterable[str] = (), settings: SessionSettings | None = None
) -> str:
    """The address a sign-in is counted against (see the module docstring).

    >>> client_address("203.0.113.9", ["198.51.100.1"], SessionSettings())
    '203.0.113.9'
    >>> client_address("10.0.0.2", ["198.51.100.1, 203.0.113.7"],
    ...                SessionSettings(trusted_proxies=["10.0.0.0/8"]))
    '203.0.113.7'
    >>> client_address("2001:db8:1:2:3:4:5:6", [], SessionSettings())
    '2001:db8:1:2::/64'
    """
    s = settings or session_settings()
    trusted = _networks(tuple(s.trusted_proxies))
    addr = _parse_ip(peer or "")
    if addr is None:
        return "unknown" if not peer else peer[:64]

    def is_trusted(a: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(a in net for net in trusted)

    if trusted and is_trusted(addr):
        hops = [h for line in forwarded_for for h in line.split(",") if h.strip()]
        for hop in reversed(hops):
            candidate = _parse_ip(hop)
            if candidate is None:
                break  # not written by our proxy: stop at the last address it vouches for
            addr = candidate
            if not is_trusted(candidate):
                break
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((addr, 64), strict=False))
    return str(addr)


def server_proxy_options(settings: SessionSettings | None = None) -> dict[str, Any]:
    """uvicorn's proxy options: its X-Forwarded-* handling only for the configured proxies.

    uvicorn trusts X-Forwarded-For from 127.0.0.1 by default, which would let any local
    client rotate its address; with no trusted proxy configured it is off.
    """
    proxies = list((settings or session_settings()).trusted_proxies)
    return {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies or None}


# ---------------------------------------------------------------- cross-site writes
def _default_port(scheme: str) -> int | None:
    return {"http": 80, "https": 443}.get(scheme)


def _origin_key(origin: str) -> tuple[str, int | None] | None:
    """(host, port) of ``scheme://host[:port]``; the scheme's default port counts as none."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if port == _default_port(parts.scheme):
        port = None
    return parts.hostname.lower(), port


def _host_key(host: str) -> tuple[str, int | None] | None:
    return _origin_key(f"http://{host}") or _origin_key(f"https://{host}")


def cross_site_refusal(
    method: str,
    headers: Mapping[str, str],
    *,
    ambient_credentials: bool,
    settings: SessionSettings | None = None,
) -> str | None:
    """Why this request must be refused as a possible cross-site request forgery, or None.

    Only requests carrying credentials the browser adds by itself (the session cookie) and
    using an unsafe method are checked; bearer-token requests never are.
    """
    if method.upper() in SAFE_METHODS or not ambient_credentials:
        return None
    if headers.get("sec-fetch-site", "").strip().lower() == "same-origin":
        return None
    origin = headers.get("origin")
    if origin is None:
        return "the request has neither an Origin header nor Sec-Fetch-Site: same-origin"
    key = _origin_key(origin)
    if key is None:
        return f"Origin {origin[:100]!r} is not an allowed origin"
    host = headers.get("host")
    if host is not None and key == _host_key(host):
        return None
    s = settings or session_settings()
    if key in {_origin_key(o) for o in s.allowed_origins}:
        return None
    return f"Origin {origin[:100]!r} is not this server's origin"


# ---------------------------------------------------------------- login throttling
def throttle_keys(username: str, client: str) -> tuple[str, str]:
    """The keys one sign-in attempt is counted against: its client, and (user, client)."""
    return f"client:{client}", f"user:{client}:{username[:120]}"


def _retry_after(until: dt.datetime, now: dt.datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


def check_throttle(session: Session, username: str, client: str) -> None:
    """RateLimited (429, with the seconds to wait) while any key of the attempt is delayed.

    Attempts of the same (user, client) are serialised for the transaction, so a burst of
    parallel guesses counts one by one.
    """
    keys = throttle_keys(username, client)
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 20261201))"), {"k": keys[1]}
    )
    now, until = session.execute(
        select(
            func.now(),
            select(func.max(LoginThrottle.blocked_until))
            .where(LoginThrottle.key.in_(keys), LoginThrottle.blocked_until > func.now())
            .scalar_subquery(),
        )
    ).one()
    if until is not None:
        wait = _retry_after(until, now)
        raise RateLimited(
            f"too many failed sign-ins from this client, try again in {wait} s",
            message_zh=f"登录失败次数过多，请 {wait} 秒后再试",
            details={"retry_after_seconds": wait},
        )


def record_failure(session: Session, username: str, client: str) -> None:
    """Count a failed sign-in against both keys; past the free allowance, delay them."""
    s = session_settings()
    window = dt.timedelta(seconds=s.login_window_seconds)
    client_key, user_key = throttle_keys(username, client)
    for key, free in (
        (client_key, s.login_free_failures_per_client),
        (user_key, s.login_free_failures),
    ):
        failures = case(
            (LoginThrottle.last_failure_at < func.now() - window, 1),
            else_=LoginThrottle.failures + 1,
        )
        stmt = insert(LoginThrottle).values(
            key=key,
            failures=1,
            last_failure_at=func.now(),
            blocked_until=_blocked_until(literal(1), free, s),
        )
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=[LoginThrottle.key],
                set_={
                    "failures": failures,
                    "last_failure_at": func.now(),
                    "blocked_until": _blocked_until(failures, free, s),
                },
            )
        )
    _purge_throttle(session, s)


def _blocked_until(failures: ColumnElement[int], free: int, s: SessionSettings) -> Any:
    """SQL: now() + min(base × 2^(failures − free), max) once ``free`` failures are used up."""
    seconds = func.least(
        literal(s.login_base_delay_seconds)
        * func.power(2, func.least(failures - free, 30).cast(Float)),
        literal(s.login_max_delay_seconds),
    )
    return case(
        (failures >= free, func.now() + func.make_interval(0, 0, 0, 0, 0, 0, seconds)),
        else_=None,
    )


def record_success(session: Session, username: str, client: str) -> None:
    """The user's own (user, client) key starts afresh; the client's key keeps decaying."""
    _, user_key = throttle_keys(username, client)
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == user_key))


def _purge_throttle(session: Session, s: SessionSettings) -> None:
    """Forget keys whose window passed and whose delay ended (a few per call)."""
    old = (
        select(LoginThrottle.key)
        .where(
            LoginThrottle.last_failure_at
            < func.now() - dt.timedelta(seconds=s.login_window_seconds),
            (LoginThrottle.blocked_until.is_(None)) | (LoginThrottle.blocked_until < func.now()),
        )
        .limit(100)
        .scalar_subquery()
    )
    session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(old)))


# ---------------------------------------------------------------- revocation
def live_token_filter(claims: auth.TokenClaims) -> ColumnElement[bool]:
    """The users-row condition that ``claims`` were not revoked (values bound)."""
    return (User.token_generation == claims.generation) & ~exists().where(
        RevokedToken.jti == claims.jti
    )


def revoke_token(session: Session, claims: auth.TokenClaims) -> None:
    """Sign out one token: its ``jti`` is refused until it would have expired anyway."""
    session.execute(
        insert(RevokedToken)
        .values(jti=claims.jti, username=claims.username[:80], expires_at=claims.expires_at)
        .on_conflict_do_nothing(index_elements=[RevokedToken.jti])
    )
    session.execute(
        delete(RevokedToken).where(
            RevokedToken.jti.in_(
                select(RevokedToken.jti)
                .where(RevokedToken.expires_at < func.now())
                .limit(100)
                .scalar_subquery()
            )
        )
    )


def change_password(
    session: Session, *, username: str, new_password: str, actor: str | None = None
) -> int:
    """Set a new password and revoke every token issued before; the new generation."""
    if len(new_password) < 8:
        raise InvalidInput("password must have at least 8 characters", message_zh="密码至少 8 位")
    generation = session.execute(
        update(User)
        .where(User.username == username)
        .values(
            password_hash=auth.hash_password(new_password),
            token_generation=User.token_generation + 1,
        )
        .returning(User.token_generation)
    ).scalar_one()
    audit.record(
        session,
        actor=actor or username,
        action="user.password",
        object_type="user",
        object_id=username,
        after={"token_generation": generation},
    )
    return int(generation)


def revoke_all_sessions(session: Session, *, username: str, actor: str) -> int:
    """Sign a user out everywhere (a lost laptop, a leaked token): every token issued so far
    is refused; the new generation."""
    generation = session.execute(
        update(User)
        .where(User.username == username)
        .values(token_generation=User.token_generation + 1)
        .returning(User.token_generation)
    ).scalar_one_or_none()
    if generation is None:
        raise NotFound(f"user {username} not found", message_zh=f"用户 {username} 不存在")
    audit.record(
        session,
        actor=actor,
        action="user.sessions_revoked",
        object_type="user",
        object_id=username,
        after={"token_generation": generation},
    )
    return int(generation)


def generation_of(session: Session, username: str) -> int:
    """The user's current token generation (for issuing a token after sign-in)."""
    return int(
        session.execute(select(User.token_generation).where(User.username == username)).scalar_one()
    )


def issue_for(session: Session, username: str) -> str:
    """A new token for a user who just proved who they are, under their current generation."""
    return auth.issue_token(username, generation=generation_of(session, username))


def sign_out(session: Session, token: str | None) -> bool:
    """Revoke ``token`` if it is a valid one; False when there was nothing to revoke."""
    if not token:
        return False
    try:
        claims = auth.token_claims(token)
    except Unauthenticated:
        return False
    revoke_token(session, claims)
    return True
