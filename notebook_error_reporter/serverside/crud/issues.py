"""Reads and changes of issues: a filtered, sorted page of them, one with its days, versions and
newest frames, its stored reports, and its status (with the note and fixed version)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Optional, Tuple, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from ..core.types import utcnow
from ..models import (
    ISSUE,
    DayCount,
    Event,
    EventsPage,
    Issue,
    IssueDay,
    IssueDetail,
    IssuePublic,
    IssuesPage,
    Notebook,
)
from ..search import query_terms
from ..search_index import issues_matching
from . import notes
from .event_rows import event_public, events_query, issue_newest
from .filters import issue_filters

_Query = TypeVar("_Query", bound=Select)

ISSUE_SORTS: Dict[str, Tuple[Any, ...]] = {
    "last_seen": (col(Issue.last_seen).desc(), col(Issue.id).desc()),
    "first_seen": (col(Issue.first_seen).desc(), col(Issue.id).desc()),
    "count": (col(Issue.event_count).desc(), col(Issue.id).desc()),
}


def _in_notebooks(query: _Query) -> _Query:
    """``query`` on issues joined with their notebooks (for the notebook's name or a filter on it)."""
    return query.join(Notebook, col(Issue.notebook_id) == col(Notebook.id))


def _issue_public(issue: Issue, notebook: str) -> IssuePublic:
    return IssuePublic(
        id=issue.id,  # type: ignore[arg-type]
        notebook=notebook,
        error_name=issue.error_name,
        message=issue.message,
        culprit=issue.culprit,
        status=issue.status,  # type: ignore[arg-type]
        regression=issue.regression,
        event_count=issue.event_count,
        session_count=issue.session_count,
        first_seen=issue.first_seen,
        last_seen=issue.last_seen,
        regressed_at=issue.regressed_at,
        status_changed_at=issue.status_changed_at,
        note=issue.note,
        note_url=issue.note_url,
        fixed_in_version=issue.fixed_in_version,
    )


def list_issues(
    *,
    session: Session,
    notebook: Optional[str] = None,
    status: Optional[str] = None,
    seen_after: Optional[datetime] = None,
    seen_before: Optional[datetime] = None,
    search: str = "",
    sort: str = "last_seen",
    limit: int = 50,
    offset: int = 0,
    version: Optional[str] = None,
    first_line: Optional[str] = None,
    now: Optional[datetime] = None,
) -> IssuesPage:
    """A page of issues and the total that matches; reads issue rows (and their search text, when
    ``search`` has words: ``search_index``; and, to filter by a notebook version or a cell's first
    line, an index of the events: ``filters.py``)."""
    conditions = list(
        issue_filters(
            session=session, notebook=notebook, version=version, first_line=first_line, now=now or utcnow()
        )
    )
    terms = query_terms(search)
    if terms:
        conditions.append(issues_matching(session.get_bind().dialect.name, ISSUE.c.id, terms))
    if notebook is not None:
        conditions.append(col(Notebook.name) == notebook)
    if status is not None:
        conditions.append(col(Issue.status) == status)
    if seen_after is not None:
        conditions.append(col(Issue.last_seen) >= seen_after)
    if seen_before is not None:
        conditions.append(col(Issue.last_seen) < seen_before)
    total = session.scalar(_in_notebooks(select(func.count()).select_from(Issue)).where(*conditions))
    base = _in_notebooks(select(Issue, col(Notebook.name))).where(*conditions)
    rows = session.execute(base.order_by(*ISSUE_SORTS[sort]).limit(limit).offset(offset)).all()
    return IssuesPage(
        total=int(total or 0), limit=limit, offset=offset, items=[_issue_public(i, n) for i, n in rows]
    )


def _issue_with_notebook(session: Session, issue_id: int) -> Optional[Tuple[Issue, str]]:
    query = _in_notebooks(select(Issue, col(Notebook.name))).where(col(Issue.id) == issue_id)
    row = session.execute(query).first()
    return None if row is None else (row[0], row[1])


def get_issue(*, session: Session, issue_id: int) -> Optional[IssueDetail]:
    """One issue with its reports per day and the frames of its newest stored report."""
    found = _issue_with_notebook(session, issue_id)
    if found is None:
        return None
    issue, notebook = found
    days = session.execute(
        select(col(IssueDay.day), col(IssueDay.count))
        .where(col(IssueDay.issue_id) == issue_id)
        .order_by(col(IssueDay.day))
    ).all()
    newest = session.scalar(issue_newest(issue_id, 1, col(Event.traceback)))
    return IssueDetail(
        **_issue_public(issue, notebook).model_dump(),
        daily=[DayCount(day=day, count=count) for day, count in days],
        traceback=newest or [],
        versions=notes.issue_versions(session=session, issue=issue),
    )


def issue_events(*, session: Session, issue_id: int, limit: int, offset: int = 0) -> Optional[EventsPage]:
    """A page of an issue's stored reports, newest first by when they happened (the index on
    ``(issue_id, occurred_at, id)``); None if the issue is unknown."""
    if session.get(Issue, issue_id) is None:
        return None
    total = session.scalar(select(func.count()).select_from(Event).where(col(Event.issue_id) == issue_id))
    query = (
        events_query()
        .where(col(Event.issue_id) == issue_id)
        .order_by(col(Event.occurred_at).desc(), col(Event.id).desc())
        .limit(limit)
        .offset(offset)
    )
    items = [event_public(row) for row in session.execute(query)]
    return EventsPage(total=int(total or 0), limit=limit, offset=offset, items=items)


def set_issue_status(
    *,
    session: Session,
    issue_id: int,
    status: Optional[str],
    changes: Optional[Dict[str, Any]] = None,
) -> Optional[IssuePublic]:
    """Open, resolve or ignore an issue (committed). An admin has looked: the regression flag clears.
    ``changes``: a new note, note link or fixed version (``notes.change_issue``), if any.

    Resolving deletes nothing; a new report on a resolved issue reopens it (see ingest/), unless it
    comes from a copy older than the issue's fixed version.
    """
    found = _issue_with_notebook(session, issue_id)
    if found is None:
        return None
    issue, notebook = found
    now = utcnow()
    if changes:
        notes.change_issue(session=session, issue=issue, changes=changes, now=now)
    if status is not None and issue.status != status:
        issue.status = status
        issue.status_changed_at = now
    if status is not None:
        issue.regression = False
    session.commit()
    return _issue_public(issue, notebook)
