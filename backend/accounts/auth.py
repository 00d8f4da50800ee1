"""Authentication: Argon2id password hashes, signed JWTs (HS256 pinned).

Tokens carry the username (``sub``), their id (``jti``) and the user's token generation
(``gen``); roles and scope are read from the users table on every request, together with
the check that the token was not revoked (``backend.sessions.service``), so a revoke, a
sign-out or a password change takes effect at once.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.services.errors import Unauthenticated
from backend.settings import auth_settings, state_settings
from backend.state_secrets import state_secret

ALGORITHM = "HS256"
_hasher = PasswordHasher()  # Argon2id, RFC 9106 low-memory profile
_DUMMY_HASH = _hasher.hash("officemap-dummy-password")
_secret_lock = threading.Lock()
_secret: str | None = None


def bad_credentials() -> Unauthenticated:
    """The one answer for an unknown user, a wrong password and a disabled account."""
    return Unauthenticated("unknown user or wrong password", message_zh="用户名或密码错误")


def hash_password(password: str) -> str:
    """Argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; unknown users are checked against a dummy hash."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def signing_secret() -> str:
    """OFFICEMAP_AUTH_SECRET, or a random key generated once and kept in the state dir."""
    global _secret
    configured = auth_settings().secret
    if configured:
        return configured
    with _secret_lock:
        if _secret is None:
            _secret = state_secret(state_settings().dir / "auth-secret")
        return _secret


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says: who, which token, under which generation, until when."""

    username: str
    jti: str
    generation: int
    expires_at: dt.datetime


def issue_token(username: str, *, generation: int = 0, minutes: int | None = None) -> str:
    """A signed access token for ``username`` under the user's token ``generation``."""
    s = auth_settings()
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": username,
        "iss": s.issuer,
        "aud": s.audience,
        "iat": now,
        "nbf": now,
        "exp": now + dt.timedelta(minutes=minutes if minutes is not None else s.token_minutes),
        "jti": secrets.token_hex(16),
        "gen": generation,
    }
    return jwt.encode(claims, signing_secret(), algorithm=ALGORITHM)


def token_claims(token: str) -> TokenClaims:
    """The claims of a validly signed, unexpired token; Unauthenticated for anything else.

    Whether the token was revoked is checked against the database where the users row is
    read (``users.load_principal``, ``users.read_as``). A token verified before is not
    verified again while it is unexpired and the signing secret, issuer and audience are
    those it was verified with (the gates, the access log and the routes each ask for the
    same request's token).
    """
    s = auth_settings()
    secret = signing_secret()
    hit = _verified.get(token)
    if (
        hit is not None
        and time.time() < hit[1]
        and hit[2] == secret
        and hit[3] == s.issuer
        and hit[4] == s.audience
    ):
        return hit[0]
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=s.audience,
            issuer=s.issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("token expired", message_zh="登录已过期，请重新登录") from None
    except jwt.PyJWTError:
        raise Unauthenticated("invalid token", message_zh="登录凭证无效") from None
    generation = claims.get("gen", 0)
    if not isinstance(generation, int) or not isinstance(claims["jti"], str):
        raise Unauthenticated("invalid token", message_zh="登录凭证无效")
    verified = TokenClaims(
        username=str(claims["sub"]),
        jti=claims["jti"][:64],
        generation=generation,
        expires_at=dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC),
    )
    if len(_verified) >= VERIFIED_MAX:
        _verified.clear()
    _verified[token] = (verified, float(claims["exp"]), secret, s.issuer, s.audience)
    return verified


# verified tokens: token → (claims, expiry as epoch seconds, and the secret, issuer and
# audience they were verified with); never whether a token was revoked
_verified: dict[str, tuple[TokenClaims, float, str, str, str]] = {}
VERIFIED_MAX = 10_000


def token_subject(token: str) -> str:
    """The username of a validly signed, unexpired token (revocation is not checked here)."""
    return token_claims(token).username


def not_signed_in() -> Unauthenticated:
    return Unauthenticated("sign in first", message_zh="请先登录")


def cookie_name() -> str:
    return auth_settings().cookie_name
