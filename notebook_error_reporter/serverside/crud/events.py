"""Reads of a session: the session by its id, and its own stored reports, oldest first."""

from __future__ import annotations

from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from ..models import Event, EventPublic, ReportSession
from .event_rows import event_public, events_query


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
