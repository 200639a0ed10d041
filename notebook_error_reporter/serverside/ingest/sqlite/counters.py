"""The counters that make reads cheap, bumped in the ingest transaction for the events it inserted.

On SQLite, in order: issue-session pairs, issues, days, sessions and notebooks last, each in sorted
order; each table costs one statement whatever the number of rows, an executemany of a
parameterised UPDATE or ``INSERT ... ON CONFLICT`` whose rows go to the driver as tuples
(``_sqlite_rows.executemany``). On PostgreSQL the reports' own counters are bumped by the statement
that stores them (``_pg_ingest``); what is left here for it is ``bump_rows`` of notebooks (new
sessions, a client's dropped reports): one set-based statement over the rows as one JSON document
(``_store.recordset``), whose rows are locked in id order first by a ``FOR NO KEY UPDATE`` in a CTE
of the same statement (``_locked_first``: an ``UPDATE ... FROM`` alone locks rows in whatever order
its join runs). The statements are built once (``functools.lru_cache``): building SQLAlchemy
constructs costs more than running them on this path.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import date, datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from sqlalchemy import BigInteger, Connection, Integer, Table, bindparam, case, or_, select, true
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.expression import ColumnElement

from ...core.types import BigId, UTCDateTime
from ..tables import ISSUE, ISSUE_DAY, ISSUE_SESSION, as_document, insert_new, recordset
from . import driver_rows as _sqlite_rows


def add_issue_sessions(connection: Connection, pairs: Set[Tuple[int, int]]) -> Dict[int, int]:
    """Record which sessions met which issues; how many sessions are new, per issue."""
    rows = [{"issue_id": i, "session_pk": s} for i, s in sorted(pairs)]
    added: Dict[int, int] = defaultdict(int)
    for (issue_id,) in insert_new(connection, ISSUE_SESSION, rows, ("issue_id", "session_pk"), ("issue_id",)):
        added[int(issue_id)] += 1
    return added


def _earlier(column: Any, value: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((column > value, value), else_=column)


def _later(column: Any, value: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((or_(column.is_(None), column < value), value), else_=column)


# The parameters of an issue's bump, by name and type (bind parameters of an executemany).
_ISSUE_BUMP = (
    ("b_id", Integer()),
    ("b_n", Integer()),
    ("b_sessions", Integer()),
    ("b_first", UTCDateTime()),
    ("b_last", UTCDateTime()),
)


def _bound(columns: Sequence[Tuple[str, Any]]) -> Dict[str, Any]:
    return {name: bindparam(name, type_=type_) for name, type_ in columns}


@functools.lru_cache(maxsize=1)
def _bump_issue() -> Any:
    source = _bound(_ISSUE_BUMP)
    c = ISSUE.c
    return (
        ISSUE.update()
        .where(c.id == source["b_id"])
        .values(
            event_count=c.event_count + source["b_n"],
            session_count=c.session_count + source["b_sessions"],
            first_seen=_earlier(c.first_seen, source["b_first"]),
            last_seen=_later(c.last_seen, source["b_last"]),
        )
    )


def _locked_first(table: Table, rows: Any, key: str) -> Any:
    """PostgreSQL: a CTE that locks ``table``'s rows named by ``rows.c[key]`` in id order, giving
    their id.

    MATERIALIZED and sorted under its FOR NO KEY UPDATE: every row is locked by the CTE, in id order,
    before the UPDATE joined to it can touch it, as an ordered locking query before the UPDATE did.
    NO KEY UPDATE: our own event inserts hold FOR KEY SHARE on these rows (the foreign key check) and
    so do concurrent ones; plain FOR UPDATE would conflict and deadlock.
    """
    c = table.c
    return (
        select(c.id)
        .where(c.id.in_(select(rows.c[key])))
        .order_by(c.id)
        .with_for_update(key_share=True)
        .cte(f"locked_{table.name}")
        .prefix_with("MATERIALIZED")
    )


@functools.lru_cache(maxsize=1)
def _reopen_issues() -> Any:
    when = bindparam("b_when", type_=UTCDateTime())
    return (
        ISSUE.update()
        .where(ISSUE.c.id.in_(bindparam("ids", expanding=True)))
        .values(status="open", regression=true(), regressed_at=when, status_changed_at=when)
    )


def bump_issues(
    connection: Connection,
    per_issue: Dict[int, List[datetime]],
    new_sessions: Dict[int, int],
    received: datetime,
) -> Set[int]:
    """SQLite: counts, first/last seen, and reopening; returns the resolved issues that now regressed."""
    ids = sorted(per_issue)
    params = [
        {
            "b_id": issue_id,
            "b_n": len(per_issue[issue_id]),
            "b_sessions": new_sessions.get(issue_id, 0),
            "b_first": min(per_issue[issue_id]),
            "b_last": max(per_issue[issue_id]),
        }
        for issue_id in ids
    ]
    statuses = connection.execute(_issue_statuses(), {"ids": ids}).all()  # one writer: nothing to lock
    _sqlite_rows.executemany(connection, _bump_issue(), params)
    regressed = {int(issue_id) for issue_id, status in statuses if status == "resolved"}
    if regressed:
        connection.execute(_reopen_issues(), {"ids": sorted(regressed), "b_when": received})
    return regressed


@functools.lru_cache(maxsize=1)
def _add_to_day() -> Any:
    statement = sqlite_insert(ISSUE_DAY)
    return statement.on_conflict_do_update(
        index_elements=[ISSUE_DAY.c.issue_id, ISSUE_DAY.c.day],
        set_={"count": ISSUE_DAY.c.count + statement.excluded.count},
    )


def add_to_days(connection: Connection, per_day: Dict[Tuple[int, date], int]) -> None:
    """SQLite: ``issue_day.count += n``; a day met for the first time gets its row (one upsert for all)."""
    if per_day:
        rows = [{"issue_id": i, "day": d, "count": per_day[(i, d)]} for i, d in sorted(per_day)]
        _sqlite_rows.executemany(connection, _add_to_day(), rows)


def _row_bump(extra: Tuple[str, ...]) -> List[Tuple[str, Any]]:
    """The parameters of a session's or notebook's bump (as ``_ISSUE_BUMP`` is an issue's)."""
    return [("b_pk", BigId), ("b_n", Integer()), ("b_when", UTCDateTime())] + [
        (f"b_{column}", BigInteger()) for column in extra
    ]


def _bump_row_statement(table: Table, extra: Tuple[str, ...], source: Mapping[str, Any]) -> Any:
    c = table.c
    values: Dict[str, Any] = {
        "event_count": c.event_count + source["b_n"],
        "last_seen": _later(c.last_seen, source["b_when"]),
    }
    for column in extra:
        values[column] = c[column] + source[f"b_{column}"]
    return table.update().where(c.id == source["b_pk"]).values(**values)


@functools.lru_cache(maxsize=16)
def _bump_row(table: Table, extra: Tuple[str, ...]) -> Any:
    return _bump_row_statement(table, extra, _bound(_row_bump(extra)))


@functools.lru_cache(maxsize=16)
def _bump_rows_at_once(table: Table, extra: Tuple[str, ...]) -> Any:
    """PostgreSQL: ``_bump_row`` for all rows at once, locked in id order first."""
    rows = recordset(_row_bump(extra))
    locked = _locked_first(table, rows, "b_pk")
    return _bump_row_statement(table, extra, rows.c).where(table.c.id == locked.c.id)


@functools.lru_cache(maxsize=1)
def _issue_statuses() -> Any:
    """SQLite: the id and status of the issues with ``ids`` (its one writer needs no row locks)."""
    ids = bindparam("ids", expanding=True)
    return select(ISSUE.c.id, ISSUE.c.status).where(ISSUE.c.id.in_(ids))


def bump_rows(
    connection: Connection,
    table: Table,
    per_row: Dict[int, Tuple[int, Optional[datetime]]],
    extra: Optional[Dict[str, Dict[int, int]]] = None,
) -> None:
    """On session or notebook rows: ``event_count += n``, ``last_seen = max(last_seen, when)``, and
    ``column += k`` for each ``extra[column][row id]``; one statement, rows in id order (on
    PostgreSQL, for more than one row, locked in that order by the same statement)."""
    extra = extra or {}
    if not per_row:
        return
    params = [
        {
            "b_pk": pk,
            "b_n": count,
            "b_when": last,
            **{f"b_{column}": increments.get(pk, 0) for column, increments in extra.items()},
        }
        for pk, (count, last) in sorted(per_row.items())
    ]
    columns = tuple(sorted(extra))
    if connection.dialect.name != "postgresql":
        _sqlite_rows.executemany(connection, _bump_row(table, columns), params)
    elif len(params) > 1:
        connection.execute(_bump_rows_at_once(table, columns), as_document(params))
    else:  # one row (a notebook's) needs no lock of its own first: one UPDATE locks it
        connection.execute(_bump_row(table, columns), params)
