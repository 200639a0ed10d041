"""The reads only the dashboard needs, with no HTTP in them (the rest comes from ``crud.py``).

Each reads a bounded number of rows whatever the number of stored reports, through an index that
exists since migration 0001: daily counts by the ``issue_day`` primary key (issue, day), the
newest reports of an issue by ``ix_event_issue_id_id``. That is what keeps the pages of a notebook
with a million reports fast.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Dict, List, Sequence, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from .models import Event, IssueDay, Notebook

FIRST_LINES_SAMPLE = 200


def daily_counts(*, session: Session, issue_ids: Sequence[int], since: date) -> Dict[int, Dict[date, int]]:
    """``{issue id: {day: reports}}`` from ``since`` on (days without reports are absent)."""
    found: Dict[int, Dict[date, int]] = defaultdict(dict)
    if not issue_ids:
        return found
    rows = session.execute(
        select(col(IssueDay.issue_id), col(IssueDay.day), col(IssueDay.count)).where(
            col(IssueDay.issue_id).in_(sorted(set(issue_ids))), col(IssueDay.day) >= since
        )
    )
    for issue_id, day, count in rows:
        found[int(issue_id)][day] = int(count)
    return found


def first_lines(
    *, session: Session, issue_id: int, sample: int = FIRST_LINES_SAMPLE
) -> List[Tuple[str, int]]:
    """The first lines of the cells that raised this issue, most frequent first, among its newest
    ``sample`` stored reports (a sample, so an issue with a million reports reads a few hundred)."""
    lines = session.scalars(
        select(col(Event.first_line))
        .where(col(Event.issue_id) == issue_id)
        .order_by(col(Event.id).desc())
        .limit(sample)
    ).all()
    return Counter(lines).most_common()


def notebook_names(*, session: Session) -> List[str]:
    """Every notebook's name, sorted (the issues page's filter)."""
    return list(session.scalars(select(col(Notebook.name)).order_by(col(Notebook.name))).all())
