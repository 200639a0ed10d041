"""The counter UPDATEs both databases share, as SQLAlchemy constructs built once (``lru_cache``):
building them costs more than running them on this path.

A session's or notebook's bump is ``event_count += n``, ``last_seen = max(last_seen, when)`` and
``column += k`` for some extra counters; its parameters are named ``b_*`` so that they never clash
with a column. ``sqlite/counters.py`` runs it as an executemany, ``postgres/counters.py`` for one row
or over a recordset of many.
"""

from __future__ import annotations

import functools
from typing import Any, Dict, List, Mapping, Sequence, Tuple

from sqlalchemy import BigInteger, Integer, Table, bindparam, case, or_
from sqlalchemy.sql.expression import ColumnElement

from ..core.types import BigId, UTCDateTime


def earlier(column: Any, value: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((column > value, value), else_=column)


def later(column: Any, value: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((or_(column.is_(None), column < value), value), else_=column)


def bound(columns: Sequence[Tuple[str, Any]]) -> Dict[str, Any]:
    """A bind parameter per ``(name, type)``."""
    return {name: bindparam(name, type_=type_) for name, type_ in columns}


def row_bump_parameters(extra: Tuple[str, ...]) -> List[Tuple[str, Any]]:
    """The parameters of a session's or notebook's bump, by name and type."""
    return [("b_pk", BigId), ("b_n", Integer()), ("b_when", UTCDateTime())] + [
        (f"b_{column}", BigInteger()) for column in extra
    ]


def bump_row_statement(table: Table, extra: Tuple[str, ...], source: Mapping[str, Any]) -> Any:
    """The UPDATE of one ``table`` row from ``source`` (bind parameters, or a recordset's columns)."""
    c = table.c
    values: Dict[str, Any] = {
        "event_count": c.event_count + source["b_n"],
        "last_seen": later(c.last_seen, source["b_when"]),
    }
    for column in extra:
        values[column] = c[column] + source[f"b_{column}"]
    return table.update().where(c.id == source["b_pk"]).values(**values)


@functools.lru_cache(maxsize=16)
def bump_row(table: Table, extra: Tuple[str, ...]) -> Any:
    """``bump_row_statement`` with bind parameters: one row per execution."""
    return bump_row_statement(table, extra, bound(row_bump_parameters(extra)))


def row_bumps(
    per_row: Mapping[int, Tuple[int, Any]], extra: Mapping[str, Mapping[int, int]]
) -> List[Dict[str, Any]]:
    """The parameters of ``bump_row`` for each row, in id order: ``per_row[id]`` is (events, last
    seen), ``extra[column][id]`` what to add to ``column``."""
    return [
        {
            "b_pk": pk,
            "b_n": count,
            "b_when": last,
            **{f"b_{column}": increments.get(pk, 0) for column, increments in extra.items()},
        }
        for pk, (count, last) in sorted(per_row.items())
    ]
