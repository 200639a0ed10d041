"""The counter bumps of ``ingest/sqlite/counters.py`` and ``ingest/postgres/counters.py``.

PostgreSQL: the session and notebook rows ``bump_rows`` bumps are locked in id order by the bumping
statement itself (a MATERIALIZED CTE with FOR NO KEY UPDATE, ``locked_first``), so concurrent
writers in other processes never deadlock on them. SQLite (one writer, no row locks): issue bumps
count, and reopen resolved issues. The statement PostgreSQL stores reports with is tested in
postgres/test_statement.py.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timezone
from typing import Dict, List

import pytest
from sqlalchemy import select, text, update

from notebook_error_reporter.serverside.core.db import Database
from notebook_error_reporter.serverside.ingest.postgres import counters as postgres_counters
from notebook_error_reporter.serverside.ingest.postgres.documents import document
from notebook_error_reporter.serverside.ingest.sqlite import counters as sqlite_counters
from notebook_error_reporter.serverside.ingest.transaction import ingest_events
from notebook_error_reporter.serverside.models import ISSUE, NOTEBOOK, SESSION

from ..databases import is_postgres
from ..helpers import clean, errors_of_threads_at_once

postgres_only = pytest.mark.skipif(not is_postgres(), reason="row locks are PostgreSQL's")
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)


def issues_and_sessions(database: Database, count: int) -> Dict[str, List[int]]:
    """``count`` issues (one per error name) and sessions, stored by a real ingest."""
    events = [clean(error_name=f"Error{n}", session_id=f"{n:032x}") for n in range(count)]
    with database.write_session() as session:
        ingest_events(session=session, events=events)
    with database.session() as session:
        issues = [int(i) for i in session.execute(select(ISSUE.c.id).order_by(ISSUE.c.id)).scalars()]
        sessions = [int(i) for i in session.execute(select(SESSION.c.id).order_by(SESSION.c.id)).scalars()]
    return {"issues": issues, "sessions": sessions}


def plan(database: Database, statement: object, rows: List[Dict[str, object]]) -> str:
    """PostgreSQL's plan of ``statement`` run over ``rows`` (one recordset document)."""
    with database.engine.connect() as connection:
        compiled = statement.compile(dialect=connection.dialect)  # type: ignore[attr-defined]
        raw = connection.connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cursor:
            cursor.execute("EXPLAIN (VERBOSE, COSTS OFF) " + compiled.string, {"rows": document(rows)})
            lines = [str(row[0]) for row in cursor.fetchall()]
        raw.rollback()
    return "\n".join(lines)


@postgres_only
def test_the_bumps_lock_their_rows_in_id_order_before_updating(database: Database) -> None:
    ids = issues_and_sessions(database, 4)
    session_rows = [{"b_pk": pk, "b_n": 1, "b_when": NOW} for pk in reversed(ids["sessions"])]
    notebook_rows = [{"b_pk": 1, "b_n": 0, "b_when": None, "b_session_count": 2}]
    for statement, rows, table in (
        (postgres_counters.bump_rows_at_once(SESSION, ()), session_rows, "report_session"),
        (postgres_counters.bump_rows_at_once(NOTEBOOK, ("session_count",)), notebook_rows, "notebook"),
    ):
        shown = plan(database, statement, rows)
        assert f"CTE locked_{table}" in shown, shown
        cte, _, _ = shown.partition(f"CTE locked_{table}")[2].partition("CTE Scan")
        assert "LockRows" in cte and re.search(rf"Sort Key: {table}(_\d+)?\.id\b", cte), cte
        assert cte.index("LockRows") < cte.index("Sort"), "the sorted rows are what is locked"
        assert "Update on" in shown.partition(f"CTE locked_{table}")[0], shown


@pytest.mark.skipif(is_postgres(), reason="SQLite's issue bumps (PostgreSQL's: postgres/test_statement.py)")
def test_bumped_counts_and_the_status_before_come_back(database: Database) -> None:
    """Counts add up, and a resolved issue is reported (and reopened) as regressed."""
    ids = issues_and_sessions(database, 3)["issues"]
    with database.write_session() as session:
        session.execute(update(ISSUE).where(ISSUE.c.id == ids[1]).values(status="resolved"))
        session.commit()
    with database.write_session() as session:
        connection = session.connection()
        statuses = sqlite_counters.issue_statuses(connection, ids)
        per_issue = {ids[2]: [NOW, NOW], ids[1]: [NOW], ids[0]: [NOW]}
        regressed = sqlite_counters.bump_issues(connection, per_issue, {ids[0]: 2}, NOW, statuses, set(ids))
        session.commit()
    assert regressed == {ids[1]}
    with database.session() as session:
        rows = {
            int(r.id): r
            for r in session.execute(
                select(ISSUE.c.id, ISSUE.c.event_count, ISSUE.c.session_count, ISSUE.c.status)
            )
        }
    assert [rows[i].event_count for i in ids] == [2, 2, 3], "one each from the ingest, then the bumps"
    assert rows[ids[0]].session_count == 3 and rows[ids[1]].status == "open"


@postgres_only
def test_concurrent_bumps_in_any_order_never_deadlock(database: Database) -> None:
    """Writers on connections of their own (as other worker processes are), each bumping the same
    sessions listed in a random order, inside transactions that overlap."""
    ids = issues_and_sessions(database, 6)
    writers, rounds = 4, 25

    def writer(seed: int) -> None:
        shuffle = random.Random(seed).shuffle
        for _ in range(rounds):
            sessions = list(ids["sessions"])
            shuffle(sessions)
            with database.engine.begin() as connection:
                connection.execute(text("SET LOCAL lock_timeout = '20s'"))
                postgres_counters.bump_rows(connection, SESSION, {pk: (1, NOW) for pk in sessions}, {})

    errors = errors_of_threads_at_once(writers, writer)  # a deadlock (40P01) would land here
    assert not errors, errors[:1]
    with database.session() as session:
        session_counts = session.execute(select(SESSION.c.event_count)).scalars().all()
    assert session_counts == [1 + writers * rounds] * 6, "every bump counted once"
