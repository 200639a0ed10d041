"""The one place that picks the database-specific half of the write path, by the session's dialect.

``transaction.py`` stores reports in the same steps on every database and leaves to a
``DatabaseWrites`` what differs: how rows are inserted, how events and their counters are written,
how counter rows are locked, and which alerts are still to add. ``sqlite/`` and ``postgres/`` are
the only places that know which database it is.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Protocol, Sequence, Tuple

from sqlalchemy import Connection, Table
from sqlalchemy.orm import Session

from .known_ids import KnownIds
from .planning import EventsWritten
from .sqlite.writes import SqliteWrites


class DatabaseWrites(Protocol):
    def connection(self, session: Session, one_statement: Callable[[], bool]) -> Connection:
        """The session's connection for this ingest; ``one_statement()`` says whether the whole
        ingest is the one event write (every id known, nothing else to change)."""

    def insert_new(
        self,
        connection: Connection,
        table: Table,
        rows: Sequence[Mapping[str, Any]],
        keys: Tuple[str, ...],
        returning: Tuple[str, ...],
    ) -> List[Tuple[Any, ...]]:
        """Insert the ``rows`` (sorted by key: the order their keys are locked in) whose unique
        ``keys`` are not taken yet, in one statement; the ``returning`` columns of those inserted
        (a row a concurrent transaction inserted first is simply not returned)."""

    def write_events(
        self,
        connection: Connection,
        rows: Sequence[Mapping[str, Any]],
        received: datetime,
        known: KnownIds,
        learned: Dict[str, Dict[str, int]],
    ) -> EventsWritten:
        """Insert the event ``rows`` (sorted by event id) not stored yet and bump the counters of
        those inserted, but for what ``EventsWritten.notebook_times`` leaves to ``bump_rows``."""

    def bump_rows(
        self,
        connection: Connection,
        table: Table,
        per_row: Dict[int, Tuple[int, Optional[datetime]]],
        extra: Dict[str, Dict[int, int]],
    ) -> None:
        """On session or notebook rows: ``event_count += n``, ``last_seen = max(last_seen, when)``
        for ``per_row[id] = (n, when)``, and ``column += k`` for each ``extra[column][id]``; one
        statement, rows in id order."""

    def enqueue_alerts(
        self, session: Session, new: Iterable[int], regressed: Iterable[int], now: datetime
    ) -> None:
        """Add the alerts of new and regressed issues that ``write_events`` did not add itself."""


@functools.cache
def writes_of_dialect(dialect: str) -> DatabaseWrites:
    """One ``DatabaseWrites`` per dialect, made when first needed: a server on SQLite never imports
    psycopg (about 10 MB)."""
    if dialect == "postgresql":
        from .postgres.writes import PostgresWrites

        return PostgresWrites()
    if dialect == "sqlite":
        return SqliteWrites()
    raise ValueError(f"no write path for the {dialect!r} database")


def writes_for(session: Session) -> DatabaseWrites:
    """The database-specific half of the write path for ``session``'s database."""
    return writes_of_dialect(session.get_bind().dialect.name)
