"""Table-level helpers for the write path: Core statements (no ORM bookkeeping on the hot path).

Every "insert unless someone else was first" goes through a SAVEPOINT and catches the unique
key's ``IntegrityError``: plain SQLAlchemy, the same on SQLite and PostgreSQL, and correct under
concurrent transactions (the loser's savepoint is rolled back, its transaction goes on).
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Sequence, cast

from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import Event, Issue, IssueDay, IssueSession, Notebook, ReportSession


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


def ids_by_key(session: Session, key: Any, pk: Any, keys: Sequence[str]) -> Dict[str, int]:
    """``{key: row id}`` for the rows whose ``key`` column is among ``keys``."""
    found: Dict[str, int] = {}
    for chunk in chunks(sorted(keys)):
        for value, row_id in session.execute(select(key, pk).where(key.in_(chunk))):
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
