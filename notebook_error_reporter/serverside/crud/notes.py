"""An issue's note and fixed version (read and changed), a notebook's public notes, and the versions
an issue was reported from (from its newest ``VERSIONS_SAMPLE`` reports,
``ix_event_issue_id_occurred_at_id``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlmodel import col

from ...versions import is_older
from ..models import (
    NOTEBOOK_VERSION,
    Event,
    Issue,
    Notebook,
    NotebookVersion,
    VersionCount,
)
from ..note_rules import NOTE_FIELDS
from .event_rows import issue_newest

VERSIONS_SAMPLE = 10_000


@dataclass(frozen=True)
class PublicNote:
    fingerprint: str
    note: Optional[str]
    note_url: Optional[str]
    fixed_in_version: Optional[str]


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
    newest = issue_newest(issue.id, sample, col(Event.notebook_version), col(Event.occurred_at)).subquery()
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
