"""Secrets generated once into the state directory (0600) when not configured.

The token signing key (``backend.accounts.auth``) and the audit chain's HMAC key
(``backend.audit.service``) both live here, so neither module imports the other.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path


def state_secret(path: Path) -> str:
    """The secret kept in ``path``, created with a random value by the first process."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be writing it right now
            value = path.read_text().strip()
            if value:
                return value
            time.sleep(0.02)
        raise RuntimeError(f"empty secret file {path}") from None
    value = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value
