"""Configuration, database engines, schema migrations and small shared types of the server."""
