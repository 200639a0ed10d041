"""One module per group of routes, each with its own ``router``; ``api/main.py`` assembles them."""
