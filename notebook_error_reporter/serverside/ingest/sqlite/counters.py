"""SQLite: the counters that make reads cheap, bumped in the ingest transaction for the events it
inserted.

In lock order (``ingest/lock_order.py``): issue-session pairs, issues, days, sessions, notebooks,
each in sorted order. Each table costs one statement whatever the number of rows: an executemany of
a parameterised UPDATE or ``INSERT ... ON CONFLICT`` whose rows go to the driver as tuples
(``driver_rows``). SQLite has one writer at a time, so nothing is locked row by row.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import date, datetime
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from sqlalchemy import Connection, Integer, bindparam, select, true
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ...core.types import UTCDateTime
from ...models import ISSUE, ISSUE_DAY, ISSUE_SESSION
from ..counter_statements import bound, bump_row, earlier, later, row_bumps
from . import driver_rows


def add_issue_sessions(connection: Connection, pairs: Set[Tuple[int, int]]) -> Dict[int, int]:
    """Record which sessions met which issues; how many sessions are new, per issue."""
    rows = [{"issue_id": i, "session_pk": s} for i, s in sorted(pairs)]
    added: Dict[int, int] = defaultdict(int)
    if rows:
        keys = ("issue_id", "session_pk")
        for (issue_id,) in driver_rows.insert_returning(connection, ISSUE_SESSION, rows, keys, ("issue_id",)):
            added[int(issue_id)] += 1
    return added


# The parameters of an issue's bump, by name and type (bind parameters of an executemany).
_ISSUE_BUMP = (
    ("b_id", Integer()),
    ("b_n", Integer()),
    ("b_sessions", Integer()),
    ("b_first", UTCDateTime()),
    ("b_last", UTCDateTime()),
)


@functools.lru_cache(maxsize=1)
def _bump_issue() -> Any:
    source = bound(_ISSUE_BUMP)
    c = ISSUE.c
    return (
        ISSUE.update()
        .where(c.id == source["b_id"])
        .values(
            event_count=c.event_count + source["b_n"],
            session_count=c.session_count + source["b_sessions"],
            first_seen=earlier(c.first_seen, source["b_first"]),
            last_seen=later(c.last_seen, source["b_last"]),
        )
    )


@functools.lru_cache(maxsize=1)
def _reopen_issues() -> Any:
    when = bindparam("b_when", type_=UTCDateTime())
    return (
        ISSUE.update()
        .where(ISSUE.c.id.in_(bindparam("ids", expanding=True)))
        .values(status="open", regression=true(), regressed_at=when, status_changed_at=when)
    )


@functools.lru_cache(maxsize=1)
def _issue_statuses() -> Any:
    """The id, status and fix of the issues with ``ids`` (its one writer needs no row locks)."""
    ids: Any = bindparam("ids", expanding=True)
    return select(ISSUE.c.id, ISSUE.c.status, ISSUE.c.fixed_in_version).where(ISSUE.c.id.in_(ids))


def issue_statuses(connection: Connection, ids: Iterable[int]) -> Dict[int, Tuple[str, Optional[str]]]:
    """``{id: (status, fixed_in_version)}`` of the issues with ``ids`` (one writer: nothing to lock)."""
    rows = connection.execute(_issue_statuses(), {"ids": sorted(set(ids))})
    return {int(issue_id): (str(status), fixed) for issue_id, status, fixed in rows}


def bump_issues(
    connection: Connection,
    per_issue: Dict[int, List[datetime]],
    new_sessions: Dict[int, int],
    received: datetime,
    statuses: Dict[int, Tuple[str, Optional[str]]],
    reopening: Set[int],
) -> Set[int]:
    """Counts, first/last seen, and reopening; returns the resolved issues that now regressed: those
    without a fixed version, and those with one and a report not from an older copy (``reopening``).
    ``statuses``: ``issue_statuses`` of these issues, read before their events were inserted."""
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
    driver_rows.executemany(connection, _bump_issue(), params)
    regressed = {
        int(issue_id)
        for issue_id, (status, fixed) in statuses.items()
        if issue_id in per_issue and status == "resolved" and (fixed is None or issue_id in reopening)
    }
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
    """``issue_day.count += n``; a day met for the first time gets its row (one upsert for all)."""
    if per_day:
        rows = [{"issue_id": i, "day": d, "count": per_day[(i, d)]} for i, d in sorted(per_day)]
        driver_rows.executemany(connection, _add_to_day(), rows)


def bump_rows(
    connection: Connection,
    table: Any,
    per_row: Dict[int, Tuple[int, Optional[datetime]]],
    extra: Dict[str, Dict[int, int]],
) -> None:
    """See ``ingest/databases.py``: one executemany, rows in id order."""
    if per_row:
        driver_rows.executemany(connection, bump_row(table, tuple(sorted(extra))), row_bumps(per_row, extra))
