"""Table-level helpers for the write path: Core statements (no ORM bookkeeping on the hot path).

"Insert unless someone else was first" comes in two forms. On the ingest path it is one
``INSERT ... ON CONFLICT DO NOTHING RETURNING`` for many rows (``insert_new``): SQLite and
PostgreSQL both have it, SQLAlchemy spells it the same for both, and a row a concurrent transaction
inserted first is simply not returned. Elsewhere (rare writes) ``insert_or_skip`` runs one INSERT
in a SAVEPOINT and catches the unique key's ``IntegrityError``.
"""

from __future__ import annotations

import functools
from typing import Any, Dict, Iterable, List, Sequence, Set, Tuple, Union, cast

from sqlalchemy import Connection, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import Event, Issue, IssueDay, IssueSession, Notebook, ReportSession


def table_of(model: Any) -> Table:
    return cast(Table, model.__table__)


PSYCOPG_CACHED_PARAMETERS = 50  # psycopg._queries.MAX_CACHED_STATEMENT_PARAMS

NOTEBOOK = table_of(Notebook)
SESSION = table_of(ReportSession)
ISSUE = table_of(Issue)
ISSUE_DAY = table_of(IssueDay)
ISSUE_SESSION = table_of(IssueSession)
EVENT = table_of(Event)


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
    """Run one INSERT in a SAVEPOINT; False if a unique key said someone else was first."""
    try:
        with session.begin_nested():
            session.execute(statement)
        return True
    except IntegrityError:
        return False


def dialect_insert(dialect_name: str, table: Table) -> Any:
    """The dialect's INSERT construct, which knows ``ON CONFLICT`` (SQLite and PostgreSQL alike)."""
    module = postgresql if dialect_name == "postgresql" else sqlite
    return module.insert(table)


@functools.lru_cache(maxsize=64)
def _insert_new_statement(
    dialect_name: str, table: Table, keys: Tuple[str, ...], returning: Tuple[str, ...]
) -> Any:
    statement = dialect_insert(dialect_name, table).on_conflict_do_nothing(index_elements=list(keys))
    return statement.returning(*(table.c[name] for name in returning))


def insert_new(
    connection: Connection,
    table: Table,
    rows: List[Dict[str, Any]],
    keys: Tuple[str, ...],
    returning: Tuple[str, ...],
) -> List[Tuple[Any, ...]]:
    """Insert the ``rows`` whose unique ``keys`` are not taken yet; the ``returning`` columns of those.

    Rows should come sorted by key: on PostgreSQL that is the order their locks are taken in.
    """
    if not rows:
        return []
    statement = _insert_new_statement(connection.dialect.name, table, keys, returning)
    options = {}
    if connection.dialect.name == "postgresql":
        # psycopg parses a statement's text in Python unless it has at most 50 parameters (then
        # it is cached): pages of that size cost a few round trips instead of a slow parse each.
        options["insertmanyvalues_page_size"] = max(1, PSYCOPG_CACHED_PARAMETERS // len(rows[0]))
    return [tuple(row) for row in connection.execute(statement, rows, execution_options=options)]


def insert_keyed(session: Session, table: Table, rows: List[Dict[str, Any]], key: str) -> Set[str]:
    """Insert the ``rows`` whose unique ``key`` is not stored yet; the keys of the rows inserted here.

    For wide rows (reports): on SQLite one ``insert_new``; on PostgreSQL the stored keys are read
    first and the rest sent as one executemany (psycopg's pipeline of one prepared statement), as
    ``insert_new`` would cost a page per three reports there. A concurrent twin that wins in between
    makes ``insert_all`` go row by row.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return {str(k) for (k,) in insert_new(connection, table, rows, (key,), (key,))}
    taken = ids_by_key(connection, table.c[key], table.c.id, [row[key] for row in rows])
    fresh = [row for row in rows if row[key] not in taken]
    return {str(row[key]) for row in insert_all(session, table, fresh)}


def insert_all(session: Session, table: Table, rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Insert ``rows`` at once; if a unique key clashes (a concurrent twin), row by row. The inserted rows."""
    if not rows:
        return []
    try:
        with session.begin_nested():
            session.execute(table.insert(), rows)
        return rows
    except IntegrityError:
        return [row for row in rows if insert_or_skip(session, table.insert().values(**row))]
