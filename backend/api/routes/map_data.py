"""Route module: map_data (lives in its feature package)."""

from backend.maps.routes import router

__all__ = ["router"]
