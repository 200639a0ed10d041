"""SQL helpers shared by the reads (``crud/``), the write path (``ingest/``) and the alert outbox:
row ids by key, ``IN`` lists in slices, an insert that may lose a race."""

from __future__ import annotations

import functools
from typing import Any, Dict, Iterable, Optional, Sequence, Union

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


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
