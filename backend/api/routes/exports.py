"""Route module: exports (lives in its feature package)."""

from backend.exports.routes import router

__all__ = ["router"]
