"""Query helpers shared by the reads (``crud.py``, ``crud_legacy.py``), the write path (``ingest/``) and
the alert outbox: events joined with their names, row ids by key, an insert that may lose a race."""

from __future__ import annotations

import functools
from typing import Any, Dict, Iterable, Optional, Sequence, Union

from sqlalchemy import Connection, Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from .models import Event, EventPublic, Notebook, ReportSession


def events_query() -> Select[Event, str, str]:
    """Events with their session id and notebook name (the two joins every event read needs)."""
    return (
        select(Event, col(ReportSession.session_id), col(Notebook.name))
        .join(ReportSession, col(Event.session_pk) == col(ReportSession.id))
        .join(Notebook, col(Event.notebook_id) == col(Notebook.id))
    )


def event_public(row: Any) -> EventPublic:
    event, session_id, notebook = row
    return EventPublic(
        event_id=event.event_id,
        session_id=session_id,
        notebook=notebook,
        issue_id=event.issue_id,
        error_name=event.error_name,
        error_message=event.error_message,
        traceback=event.traceback,
        first_line=event.first_line,
        execution_count=event.execution_count,
        occurred_at=event.occurred_at,
        received_at=event.received_at,
        client=event.client,
        notebook_version=event.notebook_version,
        older_copy=event.older_copy,
    )


def pk(value: Optional[int]) -> int:
    """The id of a row read from the database (never None there; the models allow None before insert)."""
    if value is None:  # pragma: no cover - rows from a query always have their key
        raise ValueError("a stored row without id")
    return value


def chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    """Slices small enough for an ``IN (...)`` list on every database."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@functools.lru_cache(maxsize=64)
def _ids_by_key_statement(key: Any, pk: Any) -> Any:
    return select(key, pk).where(key.in_(bindparam("keys", expanding=True)))


def ids_by_key(
    executor: Union[Session, Connection], key: Any, pk: Any, keys: Sequence[str]
) -> Dict[str, int]:
    """``{key: row id}`` for the rows whose ``key`` column is among ``keys``."""
    found: Dict[str, int] = {}
    statement = _ids_by_key_statement(key, pk)
    for chunk in chunks(sorted(keys)):
        for value, row_id in executor.execute(statement, {"keys": list(chunk)}):
            found[str(value)] = int(row_id)
    return found


def insert_or_skip(session: Session, statement: Any) -> bool:
    """Run one INSERT in a SAVEPOINT (for rare writes); False if a unique key said someone else was
    first."""
    try:
        with session.begin_nested():
            session.execute(statement)
        return True
    except IntegrityError:
        return False
