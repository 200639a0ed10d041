"""Issues: list (filtered, sorted, paginated), one with its daily counts, its reports, change status.

Reads need the admin token unless the server runs with ``max_transparency``; changing a status
always needs it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal, Optional

from fastapi import APIRouter, HTTPException, Query

from ...crud import issues as crud_issues
from ...models import EventsPage, IssueDetail, IssuePublic, IssuesPage, IssueStatus, IssueUpdate
from ...scrub import storable
from ...search import MAX_QUERY
from ..deps import AdminDep, ReaderDep, SessionDep, WriteSessionDep
from ..docs import answers
from ..params import IssueId, Offset

router = APIRouter(prefix="/issues", tags=["issues"])
UNKNOWN_ISSUE = "Unknown issue."
NOTHING_TO_CHANGE = {
    "loc": ["body"],
    "msg": "name at least one of status, note, note_url, fixed_in_version",
    "type": "value_error",
}


def _aware(value: Optional[datetime], name: str) -> Optional[datetime]:
    """A time filter the database can compare: with an offset, and still a time once in UTC."""
    if value is None:
        return None
    problem = None
    if value.tzinfo is None or value.utcoffset() is None:
        problem = "must carry a time zone offset"
    else:
        try:  # 9999-12-31T23:59-01:00 is past the end of datetime in UTC
            value.astimezone(timezone.utc)
        except OverflowError:
            problem = "is out of range once in UTC"
    if problem is not None:
        raise HTTPException(
            status_code=422, detail=[{"loc": ["query", name], "msg": problem, "type": "value_error"}]
        )
    return value


@router.get(
    "",
    response_model=IssuesPage,
    summary="Issues, filtered and sorted, a page at a time",
    responses=answers(401, 403, 422, 503),
)
def get_issues(
    session: SessionDep,
    _reader: ReaderDep,
    notebook: Annotated[
        Optional[str], Query(max_length=200, description="Only this notebook's issues.")
    ] = None,
    status: Annotated[Optional[IssueStatus], Query()] = None,
    q: Annotated[
        str,
        Query(
            max_length=MAX_QUERY,
            description="Words that each occur in the issue's error name, message, first line or a "
            "frame's file or function (any case, anywhere: 'KeyErr frame.py').",
        ),
    ] = "",
    seen_after: Annotated[
        Optional[datetime], Query(description="Last seen at or after (with offset).")
    ] = None,
    seen_before: Annotated[Optional[datetime], Query(description="Last seen before (with offset).")] = None,
    sort: Annotated[
        Literal["last_seen", "first_seen", "count"], Query(description="Newest or most frequent first.")
    ] = "last_seen",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
    version: Annotated[
        Optional[str], Query(max_length=64, description="Only issues reported from this notebook version.")
    ] = None,
    first_line: Annotated[
        Optional[str],
        Query(
            max_length=1000, description="Only issues raised by a cell with this first line (last 30 days)."
        ),
    ] = None,
) -> IssuesPage:
    return crud_issues.list_issues(
        session=session,
        notebook=storable(notebook) if notebook is not None else None,
        status=status,
        search=storable(q),
        seen_after=_aware(seen_after, "seen_after"),
        seen_before=_aware(seen_before, "seen_before"),
        sort=sort,
        limit=limit,
        offset=offset,
        version=storable(version) if version is not None else None,
        first_line=storable(first_line) if first_line is not None else None,
    )


@router.get(
    "/{issue_id}",
    response_model=IssueDetail,
    summary="One issue with its reports per day",
    responses=answers(401, 403, 404, 422, 503),
)
def get_issue(issue_id: IssueId, session: SessionDep, _reader: ReaderDep) -> IssueDetail:
    issue = crud_issues.get_issue(session=session, issue_id=issue_id)
    if issue is None:
        raise HTTPException(status_code=404, detail=UNKNOWN_ISSUE)
    return issue


@router.get(
    "/{issue_id}/events",
    response_model=EventsPage,
    summary="An issue's stored reports, newest first",
    responses=answers(401, 403, 404, 422, 503),
)
def get_issue_events(
    issue_id: IssueId,
    session: SessionDep,
    reader: ReaderDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> EventsPage:
    """Session ids in full for the admin; for anybody else (``max_transparency``) their labels."""
    page = crud_issues.issue_events(session=session, issue_id=issue_id, limit=limit, offset=offset)
    if page is None:
        raise HTTPException(status_code=404, detail=UNKNOWN_ISSUE)
    return reader.events(page)


@router.patch(
    "/{issue_id}",
    response_model=IssuePublic,
    summary="Open, resolve or ignore an issue; its note and fixed version (admin only)",
    responses=answers(400, 401, 403, 404, 413, 422, 503),
)
def patch_issue(
    issue_id: IssueId, update: IssueUpdate, session: WriteSessionDep, _admin: AdminDep
) -> IssuePublic:
    """Resolving deletes nothing; a later report reopens the issue and flags a regression, unless
    the issue names a ``fixed_in_version`` and the report comes from an older version. Only the
    fields named change; ``{"note": null}`` removes the note."""
    if not update.model_fields_set:
        raise HTTPException(status_code=422, detail=[NOTHING_TO_CHANGE])
    issue = crud_issues.set_issue_status(
        session=session, issue_id=issue_id, status=update.status, changes=update.changes()
    )
    if issue is None:
        raise HTTPException(status_code=404, detail=UNKNOWN_ISSUE)
    return issue
