from backend.ogc.routes import router  # noqa: F401
