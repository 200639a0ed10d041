"""Notes, versions and cells: the reads and changes of an issue's note and fixed version, the
notebook's public notes, the versions an issue was reported from, and where a notebook breaks.

No HTTP here. Every read is bounded whatever the number of stored reports: versions come from an
issue's newest ``VERSIONS_SAMPLE`` reports (``ix_event_issue_id_id``), cells from a notebook's
newest ``CELLS_SAMPLE`` reports of the last 30 days (``ix_event_notebook_id_occurred_at``), the
version filter looks up ``ix_event_issue_id_notebook_version`` once per issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, List, Mapping, Optional

from sqlalchemy import case, distinct, exists, false, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlmodel import col

from ..versions import is_older
from .models import (
    NOTEBOOK_VERSION,
    Event,
    Issue,
    Notebook,
    NotebookVersion,
    VersionCount,
)

VERSIONS_SAMPLE = 10_000
CELLS_SAMPLE = 20_000
CELLS_SHOWN = 50
CELLS_DAYS = 30
NOTE_FIELDS = ("note", "note_url", "fixed_in_version")


@dataclass(frozen=True)
class PublicNote:
    fingerprint: str
    note: Optional[str]
    note_url: Optional[str]
    fixed_in_version: Optional[str]


@dataclass(frozen=True)
class CellStats:
    """A cell as the reports know it (by its first line) over the last 30 days."""

    first_line: str
    reports: int
    sessions: int
    open_issues: int


def change_issue(*, session: Session, issue: Issue, changes: Mapping[str, Any], now: datetime) -> None:
    """Set the issue's ``note``, ``note_url`` and ``fixed_in_version`` named in ``changes`` (not
    committed); a fixed version is recorded as seen now if the server has not seen it before."""
    for name in NOTE_FIELDS:
        if name in changes:
            setattr(issue, name, changes[name])
    fixed = changes.get("fixed_in_version")
    if fixed is not None:
        row = {"notebook_id": issue.notebook_id, "version": fixed, "first_seen": now}
        dialect = session.get_bind().dialect.name
        insert = (postgresql if dialect == "postgresql" else sqlite).insert(NOTEBOOK_VERSION)
        session.execute(insert.values(**row).on_conflict_do_nothing())


def notebook_notes(*, session: Session, notebook: str) -> List[PublicNote]:
    """The notes and fixed versions of a notebook's issues, by fingerprint (public: nothing else)."""
    rows = session.execute(
        select(col(Issue.fingerprint), col(Issue.note), col(Issue.note_url), col(Issue.fixed_in_version))
        .join(Notebook, col(Issue.notebook_id) == col(Notebook.id))
        .where(
            col(Notebook.name) == notebook,
            col(Issue.note).is_not(None) | col(Issue.fixed_in_version).is_not(None),
        )
        .order_by(col(Issue.fingerprint))
    )
    return [PublicNote(*row) for row in rows]


def first_seen(*, session: Session, notebook_id: int) -> Dict[str, datetime]:
    """When the server first saw each version of a notebook."""
    rows = session.execute(
        select(col(NotebookVersion.version), col(NotebookVersion.first_seen)).where(
            col(NotebookVersion.notebook_id) == notebook_id
        )
    )
    return {str(version): when for version, when in rows}


def issue_versions(*, session: Session, issue: Issue, sample: int = VERSIONS_SAMPLE) -> List[VersionCount]:
    """Reports per notebook version among the issue's newest ``sample``, most first; each marked
    ``older_copy`` if older than the issue's fixed version."""
    newest = (
        select(col(Event.notebook_version), col(Event.occurred_at))
        .where(col(Event.issue_id) == issue.id)
        .order_by(col(Event.id).desc())
        .limit(sample)
        .subquery()
    )
    rows = session.execute(
        select(
            newest.c.notebook_version,
            func.count(),
            func.min(newest.c.occurred_at),
            func.max(newest.c.occurred_at),
        ).group_by(newest.c.notebook_version)
    ).all()
    fixed = issue.fixed_in_version
    seen = first_seen(session=session, notebook_id=issue.notebook_id) if fixed and rows else {}
    counts = [
        VersionCount(
            version=version,
            count=int(count),
            first_seen=first,
            last_seen=last,
            older_copy=bool(version and fixed and is_older(version, fixed, seen)),
        )
        for version, count, first, last in rows
    ]
    return sorted(counts, key=lambda v: (-v.count, v.version or ""))


def issue_filters(
    *,
    session: Session,
    notebook: Optional[str],
    version: Optional[str],
    first_line: Optional[str],
    now: datetime,
) -> List[Any]:
    """Conditions on ``Issue`` for the issues list: reported from ``version``; or raised by a cell
    with ``first_line`` among the newest reports of the last 30 days (within ``notebook``, if
    named), the sample ``notebook_cells`` counts."""
    conditions: List[Any] = []
    if version is not None:
        conditions.append(
            exists().where(col(Event.issue_id) == col(Issue.id), col(Event.notebook_version) == version)
        )
    if first_line is not None:
        window = _recent(session, notebook, now, CELLS_SAMPLE)
        if window is None:
            conditions.append(false())
        else:
            ids = session.scalars(
                select(window.c.issue_id).where(window.c.first_line == first_line).distinct()
            )
            conditions.append(col(Issue.id).in_(sorted(int(i) for i in ids)))
    return conditions


def _recent(session: Session, notebook: Optional[str], now: datetime, sample: int) -> Optional[Any]:
    """The newest ``sample`` reports of the last 30 days (of ``notebook``, if named) as a subquery
    of ``first_line``, ``session_pk``, ``issue_id``; None for an unknown notebook."""
    conditions = [col(Event.occurred_at) >= now - timedelta(days=CELLS_DAYS)]
    if notebook is not None:
        notebook_id = session.scalar(select(col(Notebook.id)).where(col(Notebook.name) == notebook))
        if notebook_id is None:
            return None
        conditions.append(col(Event.notebook_id) == notebook_id)
    return (
        select(col(Event.first_line), col(Event.session_pk), col(Event.issue_id))
        .where(*conditions)
        .order_by(col(Event.occurred_at).desc())
        .limit(sample)
        .subquery()
    )


def notebook_cells(
    *, session: Session, notebook: str, now: datetime, sample: int = CELLS_SAMPLE, shown: int = CELLS_SHOWN
) -> List[CellStats]:
    """A notebook's cells over the last 30 days, by first line, the most sessions broken first (then
    the most reports), from its newest ``sample`` reports in that window."""
    window = _recent(session, notebook, now, sample)
    if window is None:
        return []
    reports, sessions = func.count(), func.count(distinct(window.c.session_pk))
    open_issues = func.count(distinct(case((col(Issue.status) == "open", window.c.issue_id))))
    rows = session.execute(
        select(window.c.first_line, reports, sessions, open_issues)
        .join(Issue, col(Issue.id) == window.c.issue_id)
        .group_by(window.c.first_line)
        .order_by(sessions.desc(), reports.desc(), window.c.first_line)
        .limit(shown)
    )
    return [CellStats(str(line), int(r), int(s), int(o)) for line, r, s, o in rows]
