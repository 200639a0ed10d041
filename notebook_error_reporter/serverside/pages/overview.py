"""``GET /``: the notebooks at a glance (sessions, reports, open issues, last seen) for browsers,
by name, a page of 50 at a time.

Programs that do not ask for HTML get the JSON pointer to the API instead (``api/routes/home.py``),
as before the dashboard existed, so scripts and monitoring that read ``/`` keep working. A failing
alert webhook shows as a banner here, read from the database so every worker shows the same.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from ..alerts.health import webhook_failures
from ..api.deps import SessionDep
from ..api.routes.home import pointer
from ..crud import dashboard as crud_dashboard
from ..crud.notebooks import list_notebooks
from .deps import SignInRequired, ViewerDep
from .render import render
from .routing import page_router

router = page_router()
PAGE_SIZE = 50
MAX_PAGE = 100_000


def wants_html(request: Request) -> bool:
    """Browsers list ``text/html`` in ``Accept``; ``*/*`` alone (curl, requests, httpx) is a program."""
    return "text/html" in request.headers.get("accept", "").lower()


@router.get("/")
def overview(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    if not wants_html(request):
        return JSONResponse(pointer())
    if not viewer.can_read:
        raise SignInRequired("/")
    total = crud_dashboard.notebook_count(session=session)
    notebooks = list_notebooks(session=session, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    # alerts.health takes SQLModel's Session, a subclass adding nothing that it uses.
    failures = webhook_failures(session=cast(Any, session))
    context = {
        "notebooks": notebooks,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "failures": failures,
        "title": "Notebooks",
    }
    return render(request, viewer, "overview.html", context)
