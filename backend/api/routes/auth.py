"""Route module: auth (lives in its feature package)."""

from backend.accounts.routes import router

__all__ = ["router"]
