"""Stock-take routes (backend.stocktake)."""

from backend.stocktake.routes import router

__all__ = ["router"]
