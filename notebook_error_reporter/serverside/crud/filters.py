"""The issues list's filters that look at reports: the notebook version they came from (one
``issue_version`` row per issue and version) and the cell that raised them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, List, Optional

from sqlalchemy import exists, false, select
from sqlalchemy.orm import Session
from sqlmodel import col

from ..models import Issue, IssueVersion
from .cells import CELLS_SAMPLE, recent_reports


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
            exists().where(col(IssueVersion.issue_id) == col(Issue.id), col(IssueVersion.version) == version)
        )
    if first_line is not None:
        window = recent_reports(session, notebook, now, CELLS_SAMPLE)
        if window is None:
            conditions.append(false())
        else:
            ids = session.scalars(
                select(window.c.issue_id).where(window.c.first_line == first_line).distinct()
            )
            conditions.append(col(Issue.id).in_(sorted(int(i) for i in ids)))
    return conditions
