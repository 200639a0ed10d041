"""Stored reports as the reads find and show them: each event joined with its session id and notebook
name, and an issue's newest reports (through ``ix_event_issue_id_occurred_at_id``, whatever their
number)."""

from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import Select, select
from sqlmodel import col

from ..models import Event, EventPublic, Notebook, ReportSession


def events_query() -> Select[Event, str, str]:
    """Events with their session id and notebook name (the two joins every event read needs)."""
    return (
        select(Event, col(ReportSession.session_id), col(Notebook.name))
        .join(ReportSession, col(Event.session_pk) == col(ReportSession.id))
        .join(Notebook, col(Event.notebook_id) == col(Notebook.id))
    )


def issue_newest(issue_id: Optional[int], limit: int, *columns: Any) -> Select[Any]:
    """``columns`` of the issue's ``limit`` newest stored reports, newest first (by when they
    happened, then by when they were stored)."""
    return (
        select(*columns)
        .where(col(Event.issue_id) == issue_id)
        .order_by(col(Event.occurred_at).desc(), col(Event.id).desc())
        .limit(limit)
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
