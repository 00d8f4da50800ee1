"""Route module: audit (lives in its feature package)."""

from backend.audit.routes import router

__all__ = ["router"]
