"""Route module: compliance (lives in its feature package)."""

from backend.compliance.routes import router

__all__ = ["router"]
