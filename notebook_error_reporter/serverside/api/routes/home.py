"""The JSON pointer to the API that ``GET /`` answers to programs (browsers get the dashboard).

``pages/overview.py`` owns the route and chooses by the ``Accept`` header: a browser asks for
``text/html``; ``curl``, scripts and version 0.1's tools ask for anything, and get this.
"""

from __future__ import annotations

from typing import Dict

from ...._version import __version__


def pointer() -> Dict[str, str]:
    return {
        "service": "notebook-error-reporter",
        "version": __version__,
        "api": "/api/v1",
        "docs": "/docs",
        "health": "/healthz",
        "dashboard": "/",
    }
