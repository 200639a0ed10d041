"""Assemble the FastAPI application: settings, state, middleware, error answers, routers, lifespan.

At start-up (the lifespan) the schema is brought to the newest migration, the retention purge runs
if configured, the alert deliverer starts (alerts/deliverer.py), and at shutdown it stops, the
group commit's writer stores what is waiting, and the connection pools close. Nothing here touches
the network beyond the configured database, the rate-limit storage and the alert webhooks.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import AsyncIterator

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from .._version import __version__
from . import pages
from .alerts.deliverer import AlertConfig, Deliverer
from .api import docs_pages, errors
from .api.docs import with_schemas
from .api.main import API_PREFIX, api_router, ingest_body_models, ingest_router, root_router
from .api.request_limits import RequestLimitsMiddleware
from .core import schema
from .core.config import Settings
from .core.types import utcnow
from .crud.retention import purge_events
from .state import ServerState
from .summary import log_summaries

logger = logging.getLogger("notebook_error_reporter.server")

DESCRIPTION = """
Collects the error reports of shared Jupyter and Colab notebooks (see docs/design.md in the
project's repository).

* **Ingest**: `POST /api/v1/events` and `POST /api/v1/events/batch`, idempotent on `event_id`.
* **Reads**: a session's own reports with its session id; everything else with the admin token
  (`Authorization: Bearer ...`) unless the server runs with `max_transparency`.
* **Version 0.1**: `POST /usages/`, `POST /errors/{uuid}/`, `GET /usages/{uuid}`, `GET /usages/`,
  `GET /errors/`.
"""


def _start(state: ServerState) -> None:
    settings = state.settings
    if settings.migrate:
        schema.upgrade(state.database)
    if settings.retention_days is not None:
        cutoff = utcnow() - timedelta(days=settings.retention_days)
        with state.database.write_session() as session:
            deleted = purge_events(session=session, older_than=cutoff)
        if deleted:
            logger.info("retention: purged %d reports older than %d days", deleted, settings.retention_days)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ServerState = app.state.server
    await run_in_threadpool(_start, state)
    deliverer = Deliverer(state.database, AlertConfig.from_settings(state.settings))
    deliverer.start()
    app.state.alerts = deliverer
    summaries = asyncio.create_task(log_summaries(state.settings.log_summary_seconds))
    try:
        yield
    finally:
        summaries.cancel()
        await asyncio.gather(summaries, return_exceptions=True)
        await run_in_threadpool(deliverer.stop)
        await run_in_threadpool(state.ingestion.close)
        state.database.dispose()


def build_app(settings: Settings) -> FastAPI:
    """The application for ``settings`` (``create_app`` in ``__init__`` is the public door)."""
    app = FastAPI(
        title="notebook-error-reporter server",
        version=__version__,
        description=DESCRIPTION,
        debug=settings.debug,
        lifespan=_lifespan,
        docs_url=None,  # served from the package instead of a CDN: api/docs_pages.py
        redoc_url=None,
    )
    app.state.server = ServerState.create(settings)
    errors.install(app)
    app.add_middleware(
        RequestLimitsMiddleware,  # a spent address's body is never read; the body's size and deadline
        max_body_bytes=settings.max_body_bytes,
        body_seconds=settings.body_timeout_seconds,
    )
    app.include_router(ingest_router, prefix=API_PREFIX)  # first: the busiest routes
    app.include_router(api_router)
    app.include_router(root_router)
    with_schemas(app, *ingest_body_models)
    docs_pages.install(app)
    pages.install(app)  # the dashboard, and the security headers on every answer
    return app
