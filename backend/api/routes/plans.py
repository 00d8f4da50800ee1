from backend.plans.routes import router

__all__ = ["router"]
