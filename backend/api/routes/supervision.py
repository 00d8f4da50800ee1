"""Supervision 监督检查 (feature package ``backend.supervision``)."""

from backend.supervision.routes import router

__all__ = ["router"]
