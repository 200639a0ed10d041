"""PostgreSQL's half of the write path (see ``ingest/databases.py``): rows as one JSON document per
statement, events and their counters in one statement (``statement.py``), in autocommit when that
statement is the whole ingest."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.orm import Session

from ...alerts import outbox
from .. import old_copies
from ..known_ids import KnownIds
from ..planning import EventsWritten
from . import counters
from .documents import document, recordset
from .statement import store_and_count


@functools.lru_cache(maxsize=64)
def _insert_new_statement(
    table: Table, keys: Tuple[str, ...], returning: Tuple[str, ...], names: Tuple[str, ...]
) -> Any:
    rows = recordset([(name, table.c[name].type) for name in names])  # inserted in the document's order
    statement = postgres_insert(table).from_select(list(names), select(*(rows.c[name] for name in names)))
    statement = statement.on_conflict_do_nothing(index_elements=list(keys))
    return statement.returning(*(table.c[name] for name in returning))


class PostgresWrites:
    def connection(self, session: Session, one_statement: Callable[[], bool]) -> Connection:
        """In autocommit when the whole ingest is ``statement.py``'s one statement, a transaction by
        itself: no BEGIN and COMMIT round trips, for which a group's callers all wait."""
        if not one_statement():
            return session.connection()
        return session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})

    def insert_new(
        self,
        connection: Connection,
        table: Table,
        rows: Sequence[Mapping[str, Any]],
        keys: Tuple[str, ...],
        returning: Tuple[str, ...],
    ) -> List[Tuple[Any, ...]]:
        if not rows:
            return []
        statement = _insert_new_statement(table, keys, returning, tuple(rows[0]))
        return [tuple(row) for row in connection.execute(statement, {"rows": document(rows)})]

    def write_events(
        self,
        connection: Connection,
        rows: Sequence[Mapping[str, Any]],
        received: datetime,
        known: KnownIds,
        learned: Dict[str, Dict[str, int]],
    ) -> EventsWritten:
        # The statement reopens issues by the rows' older_copy.
        return store_and_count(connection, old_copies.mark(connection, rows), received)

    def bump_rows(
        self,
        connection: Connection,
        table: Table,
        per_row: Dict[int, Tuple[int, Optional[datetime]]],
        extra: Dict[str, Dict[int, int]],
    ) -> None:
        counters.bump_rows(connection, table, per_row, extra)

    def enqueue_alerts(
        self, session: Session, new: Iterable[int], regressed: Iterable[int], now: datetime
    ) -> None:
        # The ingest statement added the regressions' alerts itself.
        outbox.enqueue(session=session, new=new, regressed=(), now=now)
