"""Supervision pages (feature package ``backend.supervision``)."""

from backend.supervision.page_routes import router

__all__ = ["router"]
