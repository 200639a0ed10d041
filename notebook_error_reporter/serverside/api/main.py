"""The routers: version 1 under ``/api/v1``; health and 0.1's routes at the root (the dashboard's
pages, ``GET /`` included, are mounted by ``pages.install``).

The ingest routes are a router of their own, included first and straight into the app: every
request is matched against the app's routes in order, and each level of included routers is
matched twice (to choose it, then inside it), so the busiest routes are the nearest.
"""

from __future__ import annotations

from fastapi import APIRouter

from .routes import admin, events, health, issues, legacy, notebooks, notes, sessions

API_PREFIX = "/api/v1"

ingest_router = events.router  # included under API_PREFIX by app.py
ingest_body_models = events.BODY_MODELS  # documented by app.py
api_router = APIRouter(prefix=API_PREFIX)
for module in (sessions, notebooks, notes, issues, admin):
    api_router.include_router(module.router)

root_router = APIRouter()
for module in (health, legacy):
    root_router.include_router(module.router)
