"""Route module: writes (lives in its feature package)."""

from backend.inventory.write_routes import router

__all__ = ["router"]
