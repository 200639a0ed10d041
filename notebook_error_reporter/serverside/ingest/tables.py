"""Table-level helpers for the write path: Core statements (no ORM bookkeeping on the hot path).

"Insert unless someone else was first" comes in two forms. On the ingest path it is one
``INSERT ... ON CONFLICT DO NOTHING RETURNING`` for many rows (``insert_new``, ``insert_keyed``):
SQLite and PostgreSQL both have it, SQLAlchemy spells it the same for both, and a row a concurrent
transaction inserted first is simply not returned. Elsewhere (rare writes) ``insert_or_skip`` runs
one INSERT in a SAVEPOINT and catches the unique key's ``IntegrityError``.

On SQLite the rows go to the driver as tuples (``_sqlite_rows``): the statement is SQLAlchemy's,
compiled once, and the per-row parameter work is one pass of ours instead of SQLAlchemy's generic one.
On PostgreSQL, many rows travel as one JSON document (``recordset``: ``json_to_recordset``): a
statement with one parameter, prepared once, one round trip, whatever the number of rows, and the
encoding done by the json module's C code. psycopg's executemany costs a message and Python work per
row, its arrays escape every element in Python, and psycopg parses the text of a statement with
more than 50 parameters (a multi-row VALUES list) in Python each time instead of caching it.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Any, Dict, Iterable, List, Sequence, Set, Tuple, Union, cast

from sqlalchemy import JSON, Connection, Table, bindparam, column, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core.types import utc_iso
from ..models import Event, Issue, IssueDay, IssueSession, Notebook, ReportSession
from .sqlite import driver_rows as _sqlite_rows


def table_of(model: Any) -> Table:
    return cast(Table, model.__table__)


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


def recordset(columns: Sequence[Tuple[str, Any]]) -> Any:
    """PostgreSQL: ``json_to_recordset(:rows) AS anon(name type, ...)``, many rows as one JSON
    document (``as_document``) in a single bind parameter named ``rows``."""
    names = [column(name, type_) for name, type_ in columns]
    rows = func.json_to_recordset(bindparam("rows", type_=JSON))
    return rows.table_valued(*names).render_derived(with_types=True)


def as_document(rows: Sequence[Dict[str, Any]]) -> Dict[str, List[Dict[str, Any]]]:
    """The parameters of a ``recordset``: ``rows`` with timestamps as ISO text in UTC (a naive one
    is refused, as ``UTCDateTime`` refuses it) and days as ISO dates; JSON takes the rest as it is."""
    return {"rows": [{name: _json_ready(value) for name, value in row.items()} for row in rows]}


def _json_ready(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@functools.lru_cache(maxsize=64)
def _insert_new_statement(
    dialect_name: str,
    table: Table,
    keys: Tuple[str, ...],
    returning: Tuple[str, ...],
    names: Tuple[str, ...],
) -> Any:
    statement = dialect_insert(dialect_name, table)
    if dialect_name == "postgresql":  # the rows come from a recordset, in its order
        rows = recordset([(name, table.c[name].type) for name in names])
        statement = statement.from_select(list(names), select(*(rows.c[name] for name in names)))
    statement = statement.on_conflict_do_nothing(index_elements=list(keys))
    return statement.returning(*(table.c[name] for name in returning))


def insert_new(
    connection: Connection,
    table: Table,
    rows: List[Dict[str, Any]],
    keys: Tuple[str, ...],
    returning: Tuple[str, ...],
) -> List[Tuple[Any, ...]]:
    """Insert the ``rows`` whose unique ``keys`` are not taken yet; the ``returning`` columns of those.

    One statement: on SQLite a multi-row VALUES list (``_sqlite_rows.insert_returning``), on
    PostgreSQL a ``recordset``. Rows should come sorted by key: on PostgreSQL that is the order
    their keys are locked in.
    """
    if not rows:
        return []
    name = connection.dialect.name
    if name == "sqlite":
        return _sqlite_rows.insert_returning(connection, table, rows, keys, returning)
    statement = _insert_new_statement(name, table, keys, returning, tuple(rows[0]))
    parameters: Any = as_document(rows) if name == "postgresql" else rows
    return [tuple(row) for row in connection.execute(statement, parameters)]


def insert_keyed(session: Session, table: Table, rows: List[Dict[str, Any]], key: str) -> Set[str]:
    """Insert the ``rows`` whose unique ``key`` is not stored yet; the keys of the rows inserted here.

    A concurrent twin that wins is not returned. Rows in key order are inserted, and their keys
    locked, in that order.
    """
    return {str(k) for (k,) in insert_new(session.connection(), table, rows, (key,), (key,))}
