"""Route module: inventory (lives in its feature package)."""

from backend.inventory.routes import router

__all__ = ["router"]
