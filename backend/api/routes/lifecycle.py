"""Asset lifecycle routes (backend.lifecycle)."""

from backend.lifecycle.routes import router

__all__ = ["router"]
