"""Database operations of the version 0.1 routes: usages (sessions) and errors (events) in 0.1's shapes."""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from ..core.queries import ids_by_key, insert_or_skip, pk
from ..core.types import utcnow
from ..models import NOTEBOOK, SESSION, Event, EventPublic, LegacyError, LegacyUsage, Notebook, ReportSession
from .event_rows import event_public, events_query

LEGACY_ERRORS_PER_USAGE = 1000


def create_usage(*, session: Session, notebook: str, session_id: str) -> LegacyUsage:
    """0.1's ``POST /usages/``: a session registered before any report (committed).

    The notebook's session count is incremented in SQL (``+ 1``), never read-modified-written,
    so concurrent registrations cannot lose one.
    """
    now = utcnow()
    if not ids_by_key(session, NOTEBOOK.c.name, NOTEBOOK.c.id, [notebook]):
        insert_or_skip(session, NOTEBOOK.insert().values(name=notebook, created_at=now))
    notebook_id = ids_by_key(session, NOTEBOOK.c.name, NOTEBOOK.c.id, [notebook])[notebook]
    session.execute(
        SESSION.insert().values(session_id=session_id, notebook_id=notebook_id, created_at=now, event_count=0)
    )
    session.execute(
        NOTEBOOK.update()
        .where(NOTEBOOK.c.id == notebook_id)
        .values(session_count=NOTEBOOK.c.session_count + 1)
    )
    session.commit()
    usage_id = ids_by_key(session, SESSION.c.session_id, SESSION.c.id, [session_id])[session_id]
    return LegacyUsage(id=usage_id, uuid=session_id, notebook=notebook, timestamp=now, errors=[])


def _legacy_error(event: EventPublic, event_pk: int) -> LegacyError:
    return LegacyError(
        id=event_pk,
        usage_uuid=event.session_id,
        timestamp=event.occurred_at,
        error_name=event.error_name,
        error_message=event.error_message,
        traceback=event.traceback,
        execution_count=event.execution_count,
        first_line=event.first_line,
    )


def _legacy_errors(session: Session, session_pks: Sequence[int]) -> Dict[int, List[LegacyError]]:
    errors: Dict[int, List[LegacyError]] = {pk: [] for pk in session_pks}
    if not session_pks:
        return errors
    ranked = (
        select(col(Event.id))
        .where(col(Event.session_pk).in_(session_pks))
        .add_columns(
            func.row_number().over(partition_by=col(Event.session_pk), order_by=col(Event.id)).label("n")
        )
        .subquery()
    )
    query = (
        events_query()
        .join(ranked, ranked.c.id == col(Event.id))
        .where(ranked.c.n <= LEGACY_ERRORS_PER_USAGE)
        .order_by(col(Event.id))
    )
    for row in session.execute(query):
        errors[row[0].session_pk].append(_legacy_error(event_public(row), pk(row[0].id)))
    return errors


def _sessions() -> Select[ReportSession, str]:
    """Sessions (0.1's usages) with their notebook's name."""
    return select(ReportSession, col(Notebook.name)).join(
        Notebook, col(ReportSession.notebook_id) == col(Notebook.id)
    )


def _legacy_usage(row: ReportSession, notebook: str, errors: List[LegacyError]) -> LegacyUsage:
    return LegacyUsage(
        id=row.id,  # type: ignore[arg-type]
        uuid=row.session_id,
        notebook=notebook,
        timestamp=row.created_at,
        errors=errors,
    )


def usage(*, session: Session, session_id: str, with_errors: bool = True) -> Optional[LegacyUsage]:
    """0.1's ``GET /usages/{uuid}``: the session with its first 1,000 reports."""
    row = session.execute(_sessions().where(col(ReportSession.session_id) == session_id)).first()
    if row is None:
        return None
    found, notebook = row
    key = pk(found.id)
    errors = _legacy_errors(session, [key])[key] if with_errors else []
    return _legacy_usage(found, notebook, errors)


def list_usages(*, session: Session, skip: int, limit: int) -> List[LegacyUsage]:
    rows = session.execute(_sessions().order_by(col(ReportSession.id)).offset(skip).limit(limit)).all()
    errors = _legacy_errors(session, [pk(r.id) for r, _ in rows])
    return [_legacy_usage(r, name, errors[pk(r.id)]) for r, name in rows]


def list_legacy_errors(*, session: Session, skip: int, limit: int) -> List[LegacyError]:
    query = events_query().order_by(col(Event.id)).offset(skip).limit(limit)
    return [_legacy_error(event_public(row), pk(row[0].id)) for row in session.execute(query)]


def legacy_error(*, session: Session, event_id: str) -> Optional[LegacyError]:
    """One stored report in 0.1's ``Error`` shape (the answer to 0.1's ``POST /errors/{uuid}/``)."""
    row = session.execute(events_query().where(col(Event.event_id) == event_id)).first()
    return None if row is None else _legacy_error(event_public(row), pk(row[0].id))
