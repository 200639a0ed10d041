"""Retention: deleting stored reports older than a cutoff."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlmodel import col

from ..models import Event

PURGE_CHUNK = 5000


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
