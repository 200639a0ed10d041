"""SQLite's half of the write path (see ``ingest/databases.py``): rows to the driver as tuples,
events inserted and then counted table by table, in one writer's transaction."""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import date, datetime
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from sqlalchemy import Connection, Table
from sqlalchemy.orm import Session

from ...alerts import outbox
from ...models import EVENT, ISSUE_VERSION, NOTEBOOK_VERSION, SESSION
from .. import old_copies
from ..counter_statements import bound
from ..known_ids import KnownIds, pair_key, version_key
from ..planning import EventsWritten
from . import counters, driver_rows


class SqliteWrites:
    def connection(self, session: Session, one_statement: Callable[[], bool]) -> Connection:
        return session.connection()

    def insert_new(
        self,
        connection: Connection,
        table: Table,
        rows: Sequence[Mapping[str, Any]],
        keys: Tuple[str, ...],
        returning: Tuple[str, ...],
    ) -> List[Tuple[Any, ...]]:
        return driver_rows.insert_returning(connection, table, rows, keys, returning) if rows else []

    def write_events(
        self,
        connection: Connection,
        rows: Sequence[Mapping[str, Any]],
        received: datetime,
        known: KnownIds,
        learned: Dict[str, Dict[str, int]],
    ) -> EventsWritten:
        # The issues' statuses and fixes, read once: which reports come from an older copy, and
        # which resolved issues reopen (the one place SQLite decides a regression: _count).
        statuses = counters.issue_statuses(connection, (row["issue_id"] for row in rows))
        fixes = {i: fixed for i, (status, fixed) in statuses.items() if status == "resolved" and fixed}
        rows = old_copies.judge(connection, rows, fixes)
        created = {str(k) for (k,) in self.insert_new(connection, EVENT, rows, ("event_id",), ("event_id",))}
        inserted = [row for row in rows if row["event_id"] in created]
        versions_seen(connection, inserted, received, known, learned)
        regressed = _count(connection, inserted, received, statuses, known, learned)
        notebook_times: Dict[int, List[datetime]] = defaultdict(list)
        for row in inserted:
            notebook_times[row["notebook_id"]].append(row["occurred_at"])
        return EventsWritten(
            {row["event_id"]: row["issue_id"] for row in inserted}, regressed, notebook_times
        )

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
        # outbox.enqueue's rows, handed to the driver as tuples (SQLAlchemy's executemany cost more).
        rows = outbox.alert_rows(new=new, regressed=regressed, now=now)
        driver_rows.executemany(session.connection(), _insert_alert(), rows)


@functools.lru_cache(maxsize=1)
def _insert_alert() -> Any:
    table = outbox.ALERT
    return table.insert().values(bound([(name, table.c[name].type) for name in outbox.ROW_COLUMNS]))


def versions_seen(
    connection: Connection,
    inserted: List[Mapping[str, Any]],
    received: datetime,
    known: KnownIds,
    learned: Dict[str, Dict[str, int]],
) -> None:
    """Record when the server first saw each notebook version of the ``inserted`` events, and which
    issues were reported from which version (pairs ``known`` to be recorded already are not sent
    again)."""
    versioned = [row for row in inserted if row["notebook_version"]]
    for table, owner, extra in (
        (NOTEBOOK_VERSION, "notebook_id", {"first_seen": received}),
        (ISSUE_VERSION, "issue_id", {}),
    ):
        pairs = {(row[owner], row["notebook_version"]) for row in versioned}
        _add_new_pairs(connection, table, owner, pairs, extra, known, learned)


def _add_new_pairs(
    connection: Connection,
    table: Table,
    owner: str,
    pairs: Set[Tuple[int, str]],
    extra: Mapping[str, Any],
    known: KnownIds,
    learned: Dict[str, Dict[str, int]],
) -> None:
    """Insert the (``owner`` id, version) ``pairs`` of ``table`` not ``known`` to be there, with
    ``extra`` columns."""
    by_key = {version_key(owner_id, version): (owner_id, version) for owner_id, version in pairs}
    _, unknown = known.lookup(table.name, by_key)
    if unknown:
        rows = [{owner: i, "version": v, **extra} for i, v in sorted(by_key[k] for k in unknown)]
        learned[table.name].update(dict.fromkeys(unknown, 1))
        driver_rows.insert_returning(connection, table, rows, (owner, "version"), ("version",))


def _count(
    connection: Connection,
    inserted: List[Mapping[str, Any]],
    received: datetime,
    statuses: Dict[int, Tuple[str, Optional[str]]],
    known: KnownIds,
    learned: Dict[str, Dict[str, int]],
) -> Set[int]:
    """All counters but the notebooks' for the ``inserted`` event rows; the issues that regressed.

    Issue-session pairs already committed (``known``) are not sent again: they are not new.
    """
    if not inserted:
        return set()
    per_issue: Dict[int, List[datetime]] = defaultdict(list)
    reopening: Set[int] = set()  # issues with a report that may reopen them (not from an older copy)
    per_day: Dict[Tuple[int, date], int] = defaultdict(int)
    per_session: Dict[int, List[datetime]] = defaultdict(list)
    pairs: Set[Tuple[int, int]] = set()
    for row in inserted:
        issue_id, pk, when = row["issue_id"], row["session_pk"], row["occurred_at"]
        per_issue[issue_id].append(when)
        if not row["older_copy"]:
            reopening.add(issue_id)
        per_day[(issue_id, when.date())] += 1
        per_session[pk].append(when)
        pairs.add((issue_id, pk))
    by_key = {pair_key(issue_id, pk): (issue_id, pk) for issue_id, pk in pairs}
    _, unknown = known.lookup("issue_session", by_key)
    new_pairs = counters.add_issue_sessions(connection, {by_key[key] for key in unknown})
    learned["issue_session"].update(dict.fromkeys(unknown, 1))  # every one exists once this commits
    regressed = counters.bump_issues(connection, per_issue, new_pairs, received, statuses, reopening)
    counters.add_to_days(connection, per_day)
    counters.bump_rows(connection, SESSION, {pk: (len(w), max(w)) for pk, w in per_session.items()}, {})
    return regressed
