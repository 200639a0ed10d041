"""PostgreSQL's one-statement ingest (``ingest/postgres/statement.py``): what it locks and in which
order, the alert rows it writes, and concurrent writers with overlapping reports (retries) that
never deadlock and count every report once. The suite's real PostgreSQL; skipped on SQLite, which
never runs this statement.
"""

from __future__ import annotations

import random
import re
import uuid
from datetime import datetime, timezone
from typing import Any, Dict, List

import pytest
from sqlalchemy import func, select, text, update

from notebook_error_reporter.serverside.alerts import outbox
from notebook_error_reporter.serverside.core.db import Database
from notebook_error_reporter.serverside.grouping import fingerprints
from notebook_error_reporter.serverside.ingest.known_ids import KnownIds
from notebook_error_reporter.serverside.ingest.planning import known_rows, unique
from notebook_error_reporter.serverside.ingest.postgres import statement
from notebook_error_reporter.serverside.ingest.transaction import ingest_events
from notebook_error_reporter.serverside.models import EVENT, ISSUE, ISSUE_DAY, NOTEBOOK, SESSION
from notebook_error_reporter.serverside.scrub import CleanEvent

from ...databases import is_postgres
from ...helpers import clean, errors_of_threads_at_once

pytestmark = pytest.mark.skipif(not is_postgres(), reason="the statement is PostgreSQL's")
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
SESSIONS = [uuid.uuid4().hex for _ in range(4)]


def report(n: int, **fields: Any) -> CleanEvent:
    """Report ``n``: one of 5 issues, from one of 4 sessions; its event id fixed by ``n``."""
    base = dict(event_id=f"{n:032x}", error_name=f"Error{n % 5}", session_id=SESSIONS[n % 4], occurred_at=NOW)
    return clean(**{**base, **fields})


def known_ids(database: Database) -> KnownIds:
    """Notebook, sessions and issues made by a real ingest of reports 0-19 (ids remembered)."""
    known = KnownIds()
    with database.write_session() as session:
        ingest_events(session=session, events=[report(n) for n in range(20)], known=known, received_at=NOW)
    return known


def rows_of(known: KnownIds, events: List[CleanEvent]) -> List[Dict[str, Any]]:
    new = unique(events)
    found = known_rows(new, fingerprints(new), known, NOW)
    assert found is not None, "every id is known"
    return found


def test_the_counter_rows_are_locked_in_id_order_and_the_tables_written_in_the_global_order(
    database: Database,
) -> None:
    known = known_ids(database)
    rows = rows_of(known, [report(n) for n in range(100, 110)])
    with database.engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cursor:
            cursor.execute(
                "EXPLAIN (VERBOSE, COSTS OFF) " + statement.statement(), statement._parameters(rows, NOW)
            )
            shown = "\n".join(str(row[0]) for row in cursor.fetchall())
        raw.rollback()
    for cte, table in (
        ("locked", "issue"),
        ("sessions_locked", "report_session"),
        ("notebooks_locked", "notebook"),
    ):
        body = shown.partition(f"  CTE {cte}\n")[2].partition("\n  CTE ")[0]
        assert "LockRows" in body and re.search(rf"Sort Key: {table}(_\d+)?\.id\b", body), body
        assert body.index("LockRows") < body.index("Sort"), "the sorted rows are what is locked"
    # The result reads the writing CTEs in the lock order of ingest/lock_order.py (one after another).
    main = shown[shown.index("\n  ->  ") :]  # the Append's own parts, after every CTE
    scans = re.findall(r"CTE Scan on (\w+)", main)
    order = [
        "inserted",
        "versions_seen",
        "issue_versions",
        "new_pairs",
        "issues_bumped",
        "regression_alerts",
        "days",
        "sessions_bumped",
        "notebooks_bumped",
    ]
    assert [scan for scan in scans if scan in order] == order, main


def test_a_regression_reopens_the_issue_and_writes_the_alert_rows_the_outbox_would(
    database: Database,
) -> None:
    known = known_ids(database)
    with database.write_session() as session:
        issue_ids = sorted(session.execute(select(ISSUE.c.id)).scalars())
        session.execute(update(ISSUE).where(ISSUE.c.id == issue_ids[1]).values(status="resolved"))
        session.commit()
    with database.engine.connect() as connection:
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        done = statement.store_and_count(
            autocommit, rows_of(known, [report(n) for n in range(200, 210)]), NOW
        )
    assert done.regressed == {issue_ids[1]} and len(done.created) == 10
    with database.write_session() as session:  # what the outbox writes for the same regression
        outbox.enqueue(session=session, new=(), regressed=[issue_ids[2]], now=NOW)
        session.commit()
    with database.session() as session:
        issue = session.execute(select(ISSUE).where(ISSUE.c.id == issue_ids[1])).one()
        alerts = (
            session.execute(text("SELECT * FROM alert WHERE kind = 'regression' ORDER BY issue_id, target"))
            .mappings()
            .all()
        )
    assert (
        issue.status == "open" and issue.regression and issue.regressed_at == NOW == issue.status_changed_at
    )
    by_issue: Dict[int, List[Dict[str, Any]]] = {}
    for alert in alerts:
        by_issue.setdefault(alert["issue_id"], []).append(
            {k: v for k, v in alert.items() if k not in ("id", "issue_id")}
        )
    assert set(by_issue) == {issue_ids[1], issue_ids[2]}
    assert by_issue[issue_ids[1]] == by_issue[issue_ids[2]], "the same rows, written by SQL or by the outbox"


def test_concurrent_writers_with_overlapping_reports_never_deadlock_and_count_each_once(
    database: Database,
) -> None:
    """Writers on connections of their own (as the event loops of several worker processes are), each
    storing random overlapping sets of 300 reports (retries of one another) at the same time."""
    known = known_ids(database)
    pool = [report(n, occurred_at=NOW.replace(day=1 + n % 3)) for n in range(1000, 1300)]
    created: List[int] = []
    writers, rounds = 4, 20

    def writer(seed: int) -> None:
        pick = random.Random(seed)
        with database.engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            autocommit.execute(text("SET lock_timeout = '20s'"))
            for _ in range(rounds):
                events = pick.sample(pool, 30)
                done = statement.store_and_count(autocommit, rows_of(known, events), NOW)
                created.append(len(done.created))

    errors = errors_of_threads_at_once(writers, writer)  # a deadlock (40P01) would land here
    assert not errors, errors[:1]
    with database.session() as session:
        stored = session.execute(select(func.count()).select_from(EVENT)).scalar_one() - 20
        issue_total = session.execute(select(func.sum(ISSUE.c.event_count))).scalar_one()
        session_total = session.execute(select(func.sum(SESSION.c.event_count))).scalar_one()
        notebook_total = session.execute(select(func.sum(NOTEBOOK.c.event_count))).scalar_one()
        day_total = session.execute(select(func.sum(ISSUE_DAY.c.count))).scalar_one()
        issue_sessions = session.execute(select(ISSUE.c.session_count)).scalars().all()
    assert sum(created) == stored, "what the statements said they created is what is stored"
    assert 0 < stored <= len(pool)
    assert issue_total == session_total == notebook_total == day_total == 20 + stored, (
        "each report counted once"
    )
    assert sorted(issue_sessions) == [4] * 5, "report n of issue n % 5 comes from every one of the 4 sessions"
