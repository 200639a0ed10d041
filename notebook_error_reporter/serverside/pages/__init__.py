"""The web dashboard: server-rendered pages on the same FastAPI app as the API.

    /                        notebooks at a glance (programs asking for JSON get the API pointer)
    /signin  /signout        the admin token in, a signed cookie out (see _signing.py)
    /issues                  issues, filtered by notebook and status, sorted, paginated, sparklines
    /issues/{id}             one issue, its chart, frames and first lines; status buttons
    /issues/{id}/reports     its stored reports, newest first, paginated
    /reports/{id}/session    the other reports of that report's session, in order (no session id shown)
    /static/...              the stylesheet (no CDN: the dashboard works offline)
    any other address        a 404 page for browsers, the API's JSON for programs and under /api/

Read-only pages need the admin's sign-in unless the server runs with ``max_transparency``; every
change needs the admin and a CSRF token. ``install(app)`` is all ``app.py`` calls.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ..api.errors import http_exception_handler
from .deps import PageError, SignInRequired, get_viewer
from .headers import SecurityHeadersMiddleware
from .issue import router as issue_router
from .issues import router as issues_router
from .notes import router as notes_router
from .overview import router as overview_router
from .overview import wants_html
from .render import STATIC_DIR, render
from .reports import router as reports_router
from .session import router as session_router
from .signin import router as signin_router

__all__ = ["install"]

NO_SUCH_PAGE = "There is no page at this address."


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return RedirectResponse(exc.location, status_code=303)


async def _page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    viewer = get_viewer(request, request.app.state.server)
    context = {"message": exc.message, "title": "Sorry"}
    return render(request, viewer, "error.html", context, status_code=exc.status_code)


async def _no_such_page(request: Request, exc: Exception) -> Response:
    """A browser at an address that is no page gets a page saying so; programs get the API's JSON."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and wants_html(request) and not request.url.path.startswith("/api/"):
        return await _page_error(request, PageError(404, NO_SUCH_PAGE))
    return await http_exception_handler(request, exc)


def install(app: FastAPI) -> None:
    """Mount the pages, their stylesheet and their error answers; add the security headers."""
    for router in (
        overview_router,
        signin_router,
        issues_router,
        issue_router,
        notes_router,
        reports_router,
        session_router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.add_exception_handler(SignInRequired, _sign_in_first)
    app.add_exception_handler(PageError, _page_error)
    app.add_exception_handler(HTTPException, _no_such_page)
    app.add_middleware(SecurityHeadersMiddleware)
