"""``GET /reports/{event_id}/session``: a report's session as a story, the notebook's breadcrumbs:
the other reports of the same run of the notebook, in the order they happened.

The page is reached from a report, by the report's own id: the session id, the key to the session
(it reads and writes its reports through the API), is never shown or put in a link. At most
``STORY_AROUND`` reports before and after the chosen one are read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request
from starlette.responses import Response

from ..api.deps import SessionDep
from ..crud import dashboard as crud_dashboard
from .deps import PageError, ReaderPageDep
from .render import render
from .routing import page_router

router = page_router()
UNKNOWN_REPORT = "There is no such report (it may have been purged, or the link is wrong)."
EventId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The report's id, 32 hex digits.")]


@router.get("/reports/{event_id}/session")
def session_page(event_id: EventId, request: Request, viewer: ReaderPageDep, session: SessionDep) -> Response:
    story = crud_dashboard.session_story(session=session, event_id=event_id)
    if story is None:
        raise PageError(404, UNKNOWN_REPORT)
    context = {
        "story": story,
        "title": f"The session of a report in {story.report.notebook}",
    }
    return render(request, viewer, "session.html", context)
