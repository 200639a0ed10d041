"""``GET /``: a small JSON pointer to the API; the dashboard (a later module) will take this place."""

from __future__ import annotations

from typing import Dict

from fastapi import APIRouter

from ...._version import __version__

router = APIRouter(tags=["health"])


@router.get("/", summary="Where things are")
def home() -> Dict[str, str]:
    return {
        "service": "notebook-error-reporter",
        "version": __version__,
        "api": "/api/v1",
        "docs": "/docs",
        "health": "/healthz",
    }
