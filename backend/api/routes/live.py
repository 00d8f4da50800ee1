from backend.live.routes import router

__all__ = ["router"]
