"""``GET /issues/{id}/reports``: an issue's stored reports, newest first, a page at a time.

Through ``crud.issues.issue_events`` (the API's read): the page and the number stored, both by the
``(issue_id, id)`` index. Stored, not received: a retention purge removes reports, while the
issue's own count keeps every report it ever had.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from starlette.responses import Response

from ..api.deps import SessionDep, StateDep
from ..api.params import IssueId
from ..crud import issues as crud_issues
from ..session_labels import IN_FULL, SessionIds
from .deps import PageError, ReaderPageDep
from .issue import UNKNOWN_ISSUE
from .render import render
from .routing import page_router

router = page_router()
PAGE_SIZE = 20
MAX_PAGE = 100_000


@router.get("/issues/{issue_id}/reports")
def reports_page(
    issue_id: IssueId,
    request: Request,
    viewer: ReaderPageDep,
    session: SessionDep,
    state: StateDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    """Each report's session: the start of its id for the admin, its label for anybody else."""
    issue = crud_issues.get_issue(session=session, issue_id=issue_id)
    offset = (page - 1) * PAGE_SIZE
    found = crud_issues.issue_events(session=session, issue_id=issue_id, limit=PAGE_SIZE, offset=offset)
    if issue is None or found is None:
        raise PageError(404, UNKNOWN_ISSUE)
    sessions = IN_FULL if viewer.admin else SessionIds(label_key=state.session_label_secret())
    found = sessions.events(found)
    context = {
        "issue": issue,
        "reports": found.items,
        "total": found.total,
        "page": page,
        "pages": max(1, -(-found.total // PAGE_SIZE)),
        "first_number": offset + 1,
        "title": f"Reports of {issue.error_name} in {issue.notebook}",
    }
    return render(request, viewer, "reports.html", context)
