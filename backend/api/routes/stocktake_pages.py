"""The stock-take campaign page (backend.stocktake)."""

from backend.stocktake.routes import pages_router as router

__all__ = ["router"]
