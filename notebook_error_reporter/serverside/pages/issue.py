"""One issue: ``GET /issues/{id}`` shows it, ``POST /issues/{id}/status`` resolves, ignores or reopens it.

The page reads the issue row, its daily counts, the frames of its newest report, the first lines
of its newest 200 reports and the versions of its newest 1,000 (``breakdown``): a bounded amount
whatever the issue's size. Changing the status always
needs the signed-in admin and a valid CSRF token, ``max_transparency`` or not; resolving deletes
nothing, and a later report reopens the issue as a regression (``ingest/``).
"""

from __future__ import annotations

from typing import Annotated, Dict, Literal

from fastapi import Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from ..api.deps import SessionDep, WriteSessionDep
from ..api.params import IssueId
from ..breakdown import breakdown
from ..core.types import utcnow
from ..crud import dashboard as crud_dashboard
from ..crud import issues as crud_issues
from ..crud import notes as crud_notes
from . import charts
from .deps import AdminFormDep, PageError, ReaderPageDep
from .render import render
from .routing import page_router

router = page_router()
UNKNOWN_ISSUE = "There is no such issue (it may have been purged, or the link is wrong)."
# What each button does, in the words of its label.
ACTIONS: Dict[str, str] = {"resolved": "Resolve", "ignored": "Ignore", "open": "Reopen"}


@router.get("/issues/{issue_id}")
def issue_page(issue_id: IssueId, request: Request, viewer: ReaderPageDep, session: SessionDep) -> Response:
    issue = crud_issues.get_issue(session=session, issue_id=issue_id)
    if issue is None:
        raise PageError(404, UNKNOWN_ISSUE)
    days = charts.window(utcnow().date(), charts.CHART_DAYS)
    counts = {entry.day: entry.count for entry in issue.daily}
    context = {
        "issue": issue,
        "chart": charts.bar_chart(counts, days),
        "first_lines": crud_dashboard.first_lines(session=session, issue_id=issue_id),
        "facets": breakdown(crud_dashboard.recent_clients(session=session, issue_id=issue_id)),
        "clients_sample": crud_dashboard.CLIENTS_SAMPLE,
        "sample": crud_dashboard.FIRST_LINES_SAMPLE,
        "versions_sample": crud_notes.VERSIONS_SAMPLE,
        "actions": {status: label for status, label in ACTIONS.items() if status != issue.status},
        "title": f"{issue.error_name} in {issue.notebook}",
    }
    return render(request, viewer, "issue.html", context)


@router.post("/issues/{issue_id}/status")
def change_status(
    issue_id: IssueId,
    _admin: AdminFormDep,
    session: WriteSessionDep,
    status: Annotated[Literal["open", "resolved", "ignored"], Form()],
) -> Response:
    """Post/redirect/get: the browser lands on the issue again, and a reload does not post twice."""
    if crud_issues.set_issue_status(session=session, issue_id=issue_id, status=status) is None:
        raise PageError(404, UNKNOWN_ISSUE)
    return RedirectResponse(f"/issues/{issue_id}", status_code=303)
