"""Database operations with no HTTP in them: keyword-only functions taking a SQLAlchemy session.

Reports are stored by the write path (``ingest/``), 0.1's usages by ``crud_legacy.py``; this module
holds the reads, the status change, retention and the server's secrets. Reads never select
anything about client addresses: the tables have no such column.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, Tuple

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from . import crud_notes
from ._queries import event_public, events_query
from .core.types import utcnow
from .models import (
    DayCount,
    Event,
    EventPublic,
    EventsPage,
    Issue,
    IssueDay,
    IssueDetail,
    IssuePublic,
    IssuesPage,
    Notebook,
    NotebookPublic,
    ReportSession,
    ServerSecret,
)
from .search import query_terms
from .search_index import issues_matching

ISSUE_SORTS: Dict[str, Tuple[Any, ...]] = {
    "last_seen": (col(Issue.last_seen).desc(), col(Issue.id).desc()),
    "first_seen": (col(Issue.first_seen).desc(), col(Issue.id).desc()),
    "count": (col(Issue.event_count).desc(), col(Issue.id).desc()),
}
PURGE_CHUNK = 5000

__all__ = [
    "find_session",
    "get_issue",
    "issue_events",
    "list_events",
    "list_issues",
    "list_notebooks",
    "purge_events",
    "server_secret",
    "session_events",
    "set_issue_status",
]


# --- events ------------------------------------------------------------------------------------------


def find_session(*, session: Session, session_id: str) -> Optional[ReportSession]:
    return session.scalars(select(ReportSession).where(col(ReportSession.session_id) == session_id)).first()


def session_events(
    *, session: Session, session_id: str, limit: int, offset: int = 0
) -> Optional[List[EventPublic]]:
    """A session's own reports, oldest first; None if the session is unknown."""
    found = find_session(session=session, session_id=session_id)
    if found is None:
        return None
    query = (
        events_query()
        .where(col(Event.session_pk) == found.id)
        .order_by(col(Event.id))
        .limit(limit)
        .offset(offset)
    )
    return [event_public(row) for row in session.execute(query)]


def list_events(*, session: Session, limit: int, offset: int = 0) -> List[EventPublic]:
    query = events_query().order_by(col(Event.id)).limit(limit).offset(offset)
    return [event_public(row) for row in session.execute(query)]


# --- notebooks and issues -------------------------------------------------------------------------------


def list_notebooks(
    *, session: Session, limit: Optional[int] = None, offset: int = 0
) -> List[NotebookPublic]:
    """The notebooks by name (``limit`` of them from ``offset``, or all) with their counters; the
    issue counts come from one grouped query on those notebooks' issues."""
    notebooks = session.scalars(
        select(Notebook).order_by(col(Notebook.name)).offset(offset).limit(limit)
    ).all()
    counted = select(
        col(Issue.notebook_id),
        func.count(),
        func.coalesce(func.sum(case((col(Issue.status) == "open", 1), else_=0)), 0),
    )
    if limit is not None:
        counted = counted.where(col(Issue.notebook_id).in_([n.id for n in notebooks]))
    counts: Dict[int, Tuple[int, int]] = {
        notebook_id: (total, open_)
        for notebook_id, total, open_ in session.execute(counted.group_by(col(Issue.notebook_id)))
    }
    return [
        NotebookPublic(
            name=n.name,
            created_at=n.created_at,
            last_seen=n.last_seen,
            event_count=n.event_count,
            session_count=n.session_count,
            client_dropped=n.client_dropped,
            issue_count=counts.get(n.id, (0, 0))[0],  # type: ignore[arg-type]
            open_issue_count=int(counts.get(n.id, (0, 0))[1]),  # type: ignore[arg-type]
        )
        for n in notebooks
    ]


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
    line, an index of the events: ``crud_notes.py``)."""
    conditions = list(
        crud_notes.issue_filters(
            session=session, notebook=notebook, version=version, first_line=first_line, now=now or utcnow()
        )
    )
    terms = query_terms(search)
    if terms:
        conditions.append(issues_matching(session.get_bind().dialect.name, col(Issue.id), terms))
    if notebook is not None:
        conditions.append(col(Notebook.name) == notebook)
    if status is not None:
        conditions.append(col(Issue.status) == status)
    if seen_after is not None:
        conditions.append(col(Issue.last_seen) >= seen_after)
    if seen_before is not None:
        conditions.append(col(Issue.last_seen) < seen_before)
    base = (
        select(Issue, col(Notebook.name))
        .join(Notebook, col(Issue.notebook_id) == col(Notebook.id))
        .where(*conditions)
    )
    total = session.scalar(
        select(func.count())
        .select_from(Issue)
        .join(Notebook, col(Issue.notebook_id) == col(Notebook.id))
        .where(*conditions)
    )
    rows = session.execute(base.order_by(*ISSUE_SORTS[sort]).limit(limit).offset(offset)).all()
    return IssuesPage(
        total=int(total or 0), limit=limit, offset=offset, items=[_issue_public(i, n) for i, n in rows]
    )


def _issue_with_notebook(session: Session, issue_id: int) -> Optional[Tuple[Issue, str]]:
    row = session.execute(
        select(Issue, col(Notebook.name))
        .join(Notebook, col(Issue.notebook_id) == col(Notebook.id))
        .where(col(Issue.id) == issue_id)
    ).first()
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
    newest = session.scalar(
        select(col(Event.traceback))
        .where(col(Event.issue_id) == issue_id)
        .order_by(col(Event.id).desc())
        .limit(1)
    )
    return IssueDetail(
        **_issue_public(issue, notebook).model_dump(),
        daily=[DayCount(day=day, count=count) for day, count in days],
        traceback=newest or [],
        versions=crud_notes.issue_versions(session=session, issue=issue),
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
    ``changes``: a new note, note link or fixed version (``crud_notes.change_issue``), if any.

    Resolving deletes nothing; a new report on a resolved issue reopens it (see ingest/), unless it
    comes from a copy older than the issue's fixed version.
    """
    found = _issue_with_notebook(session, issue_id)
    if found is None:
        return None
    issue, notebook = found
    now = utcnow()
    if changes:
        crud_notes.change_issue(session=session, issue=issue, changes=changes, now=now)
    if status is not None and issue.status != status:
        issue.status = status
        issue.status_changed_at = now
    if status is not None:
        issue.regression = False
    session.commit()
    return _issue_public(issue, notebook)


# --- retention --------------------------------------------------------------------------------------------


def purge_events(*, session: Session, older_than: datetime) -> int:
    """Delete reports that occurred before ``older_than``, in short transactions; return how many.

    Issues, their counts, daily counts and sessions stay: the history of what broke is kept, only
    the individual reports go.
    """
    deleted = 0
    while True:
        ids = session.scalars(
            select(col(Event.id))
            .where(col(Event.occurred_at) < older_than)
            .order_by(col(Event.id))
            .limit(PURGE_CHUNK)
        ).all()
        if not ids:
            session.commit()
            return deleted
        session.execute(delete(Event).where(col(Event.id).in_(ids)))
        session.commit()
        deleted += len(ids)


# --- the server's secrets --------------------------------------------------------------------------------


def server_secret(*, session: Session, name: str, make: Callable[[], str]) -> str:
    """The secret called ``name``, made with ``make()`` by whichever worker asks first (committed)."""
    found = session.get(ServerSecret, name)
    if found is None:
        try:
            with session.begin_nested():
                session.execute(insert(ServerSecret).values(name=name, value=make()))
        except IntegrityError:
            pass
        session.commit()
        found = session.get(ServerSecret, name)
    else:
        session.commit()
    if found is None:  # pragma: no cover - inserted or found above
        raise RuntimeError(f"server secret {name!r} could not be stored")
    return found.value
