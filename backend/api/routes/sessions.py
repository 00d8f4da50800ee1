"""Sign-out and password change (backend.sessions)."""

from backend.sessions.routes import router

__all__ = ["router"]
