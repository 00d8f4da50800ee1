"""Authentication: Argon2id password hashes, signed JWTs (HS256 pinned), login rate limit.

Tokens carry only the username (``sub``); roles and scope are read from the users table on
every request, so a revoke takes effect at once.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.services.errors import RateLimited, Unauthenticated
from backend.settings import auth_settings, state_settings

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
            _secret = _state_secret(state_settings().dir / "auth-secret")
        return _secret


def _state_secret(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be writing it right now
            value = path.read_text().strip()
            if value:
                return value
            time.sleep(0.02)
        raise RuntimeError(f"empty auth secret file {path}") from None
    value = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value


def issue_token(username: str, *, minutes: int | None = None) -> str:
    """A signed access token for ``username``."""
    s = auth_settings()
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": username,
        "iss": s.issuer,
        "aud": s.audience,
        "iat": now,
        "nbf": now,
        "exp": now + dt.timedelta(minutes=minutes if minutes is not None else s.token_minutes),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, signing_secret(), algorithm=ALGORITHM)


def token_subject(token: str) -> str:
    """The username of a valid token; Unauthenticated for anything else."""
    s = auth_settings()
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            signing_secret(),
            algorithms=[ALGORITHM],
            audience=s.audience,
            issuer=s.issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("token expired", message_zh="登录已过期，请重新登录") from None
    except jwt.PyJWTError:
        raise Unauthenticated("invalid token", message_zh="登录凭证无效") from None
    return str(claims["sub"])


class LoginLimiter:
    """Failed logins per key (username and client address) in a sliding window."""

    def __init__(self, attempts: int, window_seconds: float) -> None:
        self.attempts = attempts
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, *keys: str) -> None:
        """Raise RateLimited when any key has used up its attempts."""
        now = time.monotonic()
        with self._lock:
            for key in keys:
                q = self._failures.get(key)
                while q and q[0] < now - self.window:
                    q.popleft()
                if q is not None and len(q) >= self.attempts:
                    raise RateLimited(
                        "too many failed logins, try again later",
                        message_zh="登录失败次数过多，请稍后再试",
                        details={"retry_after_seconds": int(self.window)},
                    )

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)

    def reset(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


LIMITER = LoginLimiter(auth_settings().login_attempts, auth_settings().login_window_seconds)


def not_signed_in() -> Unauthenticated:
    return Unauthenticated("sign in first", message_zh="请先登录")


def cookie_name() -> str:
    return auth_settings().cookie_name
