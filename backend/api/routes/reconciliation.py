"""Reconciliation routes (backend.reconciliation)."""

from backend.reconciliation.routes import router

__all__ = ["router"]
