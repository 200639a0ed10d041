"""The routers: version 1 under ``/api/v1``; health and 0.1's routes at the root (the dashboard's
pages, ``GET /`` included, are mounted by ``pages.install``)."""

from __future__ import annotations

from fastapi import APIRouter

from .routes import admin, events, health, issues, legacy, notebooks, notes, sessions

API_PREFIX = "/api/v1"

api_router = APIRouter(prefix=API_PREFIX)
for module in (events, sessions, notebooks, notes, issues, admin):
    api_router.include_router(module.router)

root_router = APIRouter()
for module in (health, legacy):
    root_router.include_router(module.router)
