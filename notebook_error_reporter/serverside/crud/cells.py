"""Where a notebook breaks: its cells by first line over the last 30 days, from a bounded sample of
its newest reports there (``ix_event_notebook_id_occurred_at``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, List, Optional

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from ..models import Event, Issue, Notebook

CELLS_SAMPLE = 20_000
CELLS_SHOWN = 50
CELLS_DAYS = 30


@dataclass(frozen=True)
class CellStats:
    """A cell as the reports know it (by its first line) over the last 30 days."""

    first_line: str
    reports: int
    sessions: int
    open_issues: int


def recent_reports(session: Session, notebook: Optional[str], now: datetime, sample: int) -> Optional[Any]:
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
    window = recent_reports(session, notebook, now, sample)
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
