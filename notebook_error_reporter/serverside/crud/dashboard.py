"""The reads only the dashboard needs, with no HTTP in them (the rest are the API's reads).

Each reads a bounded number of rows whatever the number of stored reports, through an index:
daily counts by the ``issue_day`` primary key (issue, day), the newest reports of an issue (their
first lines and clients) by ``ix_event_issue_id_occurred_at_id``, a report by its unique
``event_id`` and its session's reports by ``ix_event_session_pk_id``. That is what keeps the pages
of a notebook with a million reports fast.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import Text, cast, func, literal, select, tuple_
from sqlalchemy.orm import Session
from sqlmodel import col

from ..core.types import UTCDateTime
from ..models import Event, EventPublic, IssueDay, Notebook, ReportSession
from .event_rows import event_public, events_query, issue_newest

FIRST_LINES_SAMPLE = 200
CLIENTS_SAMPLE = 1000
STORY_AROUND = 100


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
    lines = session.scalars(issue_newest(issue_id, sample, col(Event.first_line))).all()
    return Counter(lines).most_common()


def recent_clients(
    *, session: Session, issue_id: int, sample: int = CLIENTS_SAMPLE
) -> List[Tuple[Optional[Dict[str, str]], int]]:
    """The ``client`` objects (versions, platform, Colab) of an issue's newest ``sample`` stored
    reports, each distinct one with how many of them carry it. Read as text and decoded once per
    distinct text: most reports of an issue share a handful."""
    texts = session.scalars(issue_newest(issue_id, sample, cast(col(Event.client), Text))).all()
    return [(json.loads(text) if text else None, count) for text, count in Counter(texts).items()]


@dataclass(frozen=True)
class SessionStory:
    """A report and the reports of its session around it, in the order they happened."""

    report: EventPublic
    reports: List[EventPublic]
    session_total: int  # the session's reports ever received (purged ones included)


def session_story(*, session: Session, event_id: str, around: int = STORY_AROUND) -> Optional[SessionStory]:
    """The reports of ``event_id``'s session by when they happened (then as stored): up to ``around``
    before it and after it; None if no such report is stored."""
    row = session.execute(events_query().where(col(Event.event_id) == event_id)).first()
    if row is None:
        return None
    event: Event = row[0]
    place = tuple_(col(Event.occurred_at), col(Event.id))
    here = tuple_(literal(event.occurred_at, type_=UTCDateTime), literal(event.id))
    in_session = events_query().where(col(Event.session_pk) == event.session_pk)
    earlier = in_session.where(place < here).order_by(col(Event.occurred_at).desc(), col(Event.id).desc())
    later = in_session.where(place >= here).order_by(col(Event.occurred_at), col(Event.id))
    before = [event_public(r) for r in session.execute(earlier.limit(around))][::-1]
    after = [event_public(r) for r in session.execute(later.limit(around + 1))]
    total = session.scalar(
        select(col(ReportSession.event_count)).where(col(ReportSession.id) == event.session_pk)
    )
    return SessionStory(event_public(row), before + after, int(total or 0))


def notebook_count(*, session: Session) -> int:
    """How many notebooks there are (the overview's pages)."""
    return int(session.scalar(select(func.count()).select_from(Notebook)) or 0)


def notebook_names(*, session: Session, most: int, chosen: Optional[str] = None) -> List[str]:
    """The ``most`` notebooks seen last, and ``chosen`` among them, sorted by name (the issues
    page's filter: a server with thousands of notebooks must not list them all)."""
    recent = select(col(Notebook.name)).order_by(col(Notebook.last_seen).desc()).limit(most)
    names = set(session.scalars(recent).all())
    if chosen is not None:
        names.add(chosen)
    return sorted(names)
