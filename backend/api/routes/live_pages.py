from backend.live.pages import router

__all__ = ["router"]
