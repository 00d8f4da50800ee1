"""Reallocation pages (backend.allocation.page_routes)."""

from backend.allocation.page_routes import router

__all__ = ["router"]
