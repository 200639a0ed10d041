"""The HTTP layer: routers, dependencies, error answers and the request-size guard."""
