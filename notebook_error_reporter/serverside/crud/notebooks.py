"""The notebooks with their counters and issue counts."""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from ..models import Issue, Notebook, NotebookPublic


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
