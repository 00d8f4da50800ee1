"""Reallocation routes (backend.allocation)."""

from backend.allocation.routes import router

__all__ = ["router"]
