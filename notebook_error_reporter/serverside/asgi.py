"""The app factory uvicorn calls in each worker process: settings come from the environment.

``notebook-error-server`` puts its settings there (``Settings.to_env``) before starting uvicorn, so
every worker builds the same app. Also usable directly:
``uvicorn --factory notebook_error_reporter.serverside.asgi:app_from_env``.
"""

from __future__ import annotations

from fastapi import FastAPI

from .app import build_app
from .core.config import Settings


def app_from_env() -> FastAPI:
    return build_app(Settings.from_env())
