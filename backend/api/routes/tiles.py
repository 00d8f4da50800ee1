"""Route module: tiles (lives in its feature package)."""

from backend.maps.tile_routes import router

__all__ = ["router"]
