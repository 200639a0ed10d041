"""The interactive API documentation, ``/docs`` (Swagger UI), served by the app itself.

FastAPI's own pages load Swagger UI and ReDoc from a CDN with an inline script, on the dashboard's
origin: blank offline, and a third party's script beside the admin's cookie. Here the files come
from the ``fastapi-offline`` package (its ``static`` folder; Swagger UI is under Apache 2.0, as its
licence says), the start-up script is a file of ours, and the page carries the dashboard's
Content-Security-Policy like every other answer (``pages/headers.py``). ReDoc cannot run under that
policy (it writes inline styles), so ``/redoc`` leads to ``/docs``: one documentation page, no
looser policy.
"""

from __future__ import annotations

import html
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"

_SWAGGER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - Swagger UI</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css"><link rel="icon" href="/static/favicon.svg">
</head><body><div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script><script src="/static/swagger-init.js"></script>
</body></html>"""


def install(app: FastAPI) -> None:
    """Add ``/docs`` and its files, and ``/redoc`` leading there; the app must be made with
    ``docs_url=None`` and ``redoc_url=None``."""
    openapi = html.escape(app.openapi_url or "")
    fill = {"title": html.escape(app.title), "openapi": openapi, "assets": ASSETS_URL}
    swagger = _SWAGGER.format(**fill)
    app.mount(ASSETS_URL, StaticFiles(directory=str(ASSETS_DIR)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger)

    @app.get("/redoc", include_in_schema=False)
    async def redoc_page() -> RedirectResponse:
        return RedirectResponse("/docs", status_code=308)
