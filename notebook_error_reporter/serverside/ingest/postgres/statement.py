"""PostgreSQL: a group's reports stored and counted in one statement, once their rows' ids are known.

The statement's data-modifying CTEs insert the events not stored yet (``ON CONFLICT (event_id) DO
NOTHING``) and, for those inserted only, record the notebook versions first seen, add the
issue-session pairs, bump the issues (reopening a resolved one unless it names a fixed version and
every report is from an older copy, ``old_copies.py``; with its regression alerts from
``alerts/outbox.enqueue_sql``), days, sessions and
notebooks, in the order of ``lock_order.py``: a ``UNION ALL`` reads the CTEs in that order, and each
counter table's rows are locked in id order by a ``MATERIALIZED`` CTE before its ``UPDATE``. Every
table is written by one CTE, so no row changes twice; notebooks' new sessions and a client's dropped
reports are left to ``counters.bump_rows``. See docs/design.md; docs/performance.md says why.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING, Any, Dict, Iterable, Mapping, Sequence, Set

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql.base import PGDialect

from ...alerts.outbox import enqueue_sql
from ...models import EVENT
from ..planning import EventsWritten
from .documents import document

if TYPE_CHECKING:  # psycopg comes with the [postgres] extra; a SQLite server runs without it
    import psycopg

# The columns of an event row as they travel in the JSON document, with their PostgreSQL types, as
# the model declares them (the row id is made by the database; ``received_at`` is one parameter).
_EVENT_COLUMNS = tuple(
    (column.name, column.type.compile(dialect=PGDialect()))
    for column in EVENT.columns
    if column.name not in ("id", "received_at")
)
EVENT_FIELDS = tuple(name for name, _ in _EVENT_COLUMNS)


def _bumped(name: str, table: str, key: str) -> str:
    """The CTEs that bump the ``table`` rows named by the inserted events' ``key`` (sessions,
    notebooks): ``event_count`` and ``last_seen``, the rows locked in id order first."""
    return f"""per_{name} AS (
    SELECT {key} AS id, count(*) AS n, max(occurred_at) AS last FROM inserted GROUP BY {key}
),
{name}s_locked AS MATERIALIZED (
    SELECT id FROM {table} WHERE id = ANY(ARRAY(SELECT id FROM per_{name}))
    ORDER BY id FOR NO KEY UPDATE
),
{name}s_bumped AS (
    UPDATE {table} SET
        event_count = {table}.event_count + per_{name}.n,
        last_seen = greatest({table}.last_seen, per_{name}.last)
    FROM {name}s_locked JOIN per_{name} ON per_{name}.id = {name}s_locked.id
    WHERE {table}.id = {name}s_locked.id AND {table}.id = ANY(ARRAY(SELECT id FROM {name}s_locked))
    RETURNING {table}.id
)"""


@functools.lru_cache(maxsize=1)
def statement() -> str:
    """The SQL, in psycopg's ``%(name)s`` style: ``rows`` (a JSON array of event rows with
    ``EVENT_FIELDS``, sorted by event id) and ``received`` (the arrival time)."""
    columns = ", ".join(name for name, _ in _EVENT_COLUMNS)
    typed = ", ".join(f"{name} {type_}" for name, type_ in _EVENT_COLUMNS)
    # A resolved issue reopens, unless it names a fixed version and every report is from an older copy.
    resolved = "(locked.status = 'resolved' AND (locked.fixed_in_version IS NULL OR NOT per_issue.all_older))"
    received = "%(received)s::timestamptz"
    return f"""
WITH given AS MATERIALIZED (
    SELECT * FROM json_to_recordset(%(rows)s::json) AS given({typed})
),
inserted AS (
    INSERT INTO event ({columns}, received_at)
    SELECT {columns}, %(received)s::timestamptz FROM given ORDER BY event_id
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id, issue_id, session_pk, notebook_id, occurred_at, notebook_version, older_copy
),
versions_seen AS (
    INSERT INTO notebook_version (notebook_id, version, first_seen)
    SELECT DISTINCT notebook_id, notebook_version, %(received)s::timestamptz FROM inserted
    WHERE notebook_version IS NOT NULL ORDER BY notebook_id, notebook_version
    ON CONFLICT DO NOTHING
    RETURNING notebook_id
),
issue_versions AS (
    INSERT INTO issue_version (issue_id, version)
    SELECT DISTINCT issue_id, notebook_version FROM inserted
    WHERE notebook_version IS NOT NULL ORDER BY issue_id, notebook_version
    ON CONFLICT DO NOTHING
    RETURNING issue_id
),
new_pairs AS (
    INSERT INTO issue_session (issue_id, session_pk)
    SELECT DISTINCT issue_id, session_pk FROM inserted ORDER BY issue_id, session_pk
    ON CONFLICT DO NOTHING
    RETURNING issue_id
),
per_issue AS (
    SELECT issue_id, count(*) AS n, min(occurred_at) AS first, max(occurred_at) AS last,
        bool_and(older_copy) AS all_older
    FROM inserted GROUP BY issue_id
),
sessions_per_issue AS (
    SELECT issue_id, count(*) AS n FROM new_pairs GROUP BY issue_id
),
locked AS MATERIALIZED (
    SELECT id, status, fixed_in_version FROM issue WHERE id = ANY(ARRAY(SELECT issue_id FROM per_issue))
    ORDER BY id FOR NO KEY UPDATE
),
issues_bumped AS (
    UPDATE issue SET
        event_count = issue.event_count + per_issue.n,
        session_count = issue.session_count + coalesce(sessions_per_issue.n, 0),
        first_seen = least(issue.first_seen, per_issue.first),
        last_seen = greatest(issue.last_seen, per_issue.last),
        status = CASE WHEN {resolved} THEN 'open' ELSE issue.status END,
        regression = issue.regression OR {resolved},
        regressed_at = CASE WHEN {resolved} THEN %(received)s::timestamptz ELSE issue.regressed_at END,
        status_changed_at =
            CASE WHEN {resolved} THEN %(received)s::timestamptz ELSE issue.status_changed_at END
    FROM locked
    JOIN per_issue ON per_issue.issue_id = locked.id
    LEFT JOIN sessions_per_issue ON sessions_per_issue.issue_id = locked.id
    WHERE issue.id = locked.id AND issue.id = ANY(ARRAY(SELECT id FROM locked))
    RETURNING issue.id, {resolved} AS reopened
),
regression_alerts AS (
    {enqueue_sql(kind="regression", issue_ids="SELECT id FROM issues_bumped WHERE reopened", now=received)}
),
days AS (
    INSERT INTO issue_day (issue_id, day, count)
    SELECT issue_id, (occurred_at AT TIME ZONE 'UTC')::date AS day, count(*)
    FROM inserted GROUP BY issue_id, day ORDER BY issue_id, day
    ON CONFLICT (issue_id, day) DO UPDATE SET count = issue_day.count + excluded.count
    RETURNING issue_id
),
{_bumped("session", "report_session", "session_pk")},
{_bumped("notebook", "notebook", "notebook_id")}
SELECT 'event' AS kind, event_id AS key, issue_id AS value FROM inserted
UNION ALL SELECT 'versions', NULL, count(*) FROM versions_seen
UNION ALL SELECT 'issue versions', NULL, count(*) FROM issue_versions
UNION ALL SELECT 'pairs', NULL, count(*) FROM new_pairs
UNION ALL SELECT 'regressed', NULL, id FROM issues_bumped WHERE reopened
UNION ALL SELECT 'alerts', NULL, count(*) FROM regression_alerts
UNION ALL SELECT 'days', NULL, count(*) FROM days
UNION ALL SELECT 'sessions', NULL, count(*) FROM sessions_bumped
UNION ALL SELECT 'notebooks', NULL, count(*) FROM notebooks_bumped
"""


def store_and_count(
    connection: Connection, rows: Sequence[Mapping[str, Any]], received: datetime
) -> EventsWritten:
    """Insert the event ``rows`` (sorted by event id) that are not stored yet and bump every counter
    but notebooks' session and dropped counts for them, in the caller's transaction (or alone, in
    autocommit: the statement is a transaction by itself)."""
    result = connection.exec_driver_sql(statement(), _parameters(rows, received))
    return _stored(result)


async def store_and_count_async(
    connection: psycopg.AsyncConnection[Any], rows: Sequence[Mapping[str, Any]], received: datetime
) -> EventsWritten:
    """``store_and_count`` on psycopg's asynchronous connection (``in_loop.py``)."""
    cursor = await connection.execute(statement(), _parameters(rows, received))
    return _stored(await cursor.fetchall())


def _parameters(rows: Sequence[Mapping[str, Any]], received: datetime) -> Dict[str, Any]:
    return {"rows": document(rows, EVENT_FIELDS), "received": received}


def _stored(result: Iterable[Sequence[Any]]) -> EventsWritten:
    created: Dict[str, int] = {}
    regressed: Set[int] = set()
    for kind, key, value in result:
        if kind == "event":
            created[str(key)] = int(value)
        elif kind == "regressed":
            regressed.add(int(value))
    return EventsWritten(created, regressed, {})
