"""HTTP layer: FastAPI app, dependencies, error table, routes. Calls services only."""
