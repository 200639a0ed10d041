"""PostgreSQL: the event loop stores groups of reports whose ids are known itself (one statement on an
asynchronous connection); everything else still goes to the writer thread.

Real event loops, the writer thread and the suite's real PostgreSQL (skipped on SQLite, where the
loop stores its groups with SQLite itself: test_scheduling.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import uuid
from typing import List, Sequence

import pytest
from sqlalchemy import select, text

from notebook_error_reporter.serverside.core.db import Database
from notebook_error_reporter.serverside.ingest.planning import IngestResult
from notebook_error_reporter.serverside.ingest.postgres import in_loop
from notebook_error_reporter.serverside.ingest.postgres.in_loop import APPLICATION_NAME, STORED_IN_LOOP
from notebook_error_reporter.serverside.ingest.scheduling import Ingestion
from notebook_error_reporter.serverside.ingest.waiting import HANDED_TO_WRITER, REPORTS_TRANSACTION
from notebook_error_reporter.serverside.models import EVENT, ISSUE, SESSION
from notebook_error_reporter.serverside.scrub import CleanEvent

from ...databases import is_postgres
from ...helpers import WriteLog, clean, count, counters_off

pytestmark = pytest.mark.skipif(not is_postgres(), reason="the loop's own connection is PostgreSQL's")

SESSIONS = [uuid.uuid4().hex for _ in range(2)]


def wave(size: int, **fields: object) -> List[CleanEvent]:
    """New reports of three issues from two sessions (the same issues and sessions every wave)."""
    return [
        clean(error_name=f"Error{i % 3}", session_id=SESSIONS[i % 2], **fields)  # type: ignore[arg-type]
        for i in range(size)
    ]


def ingest_all(group: Ingestion, events: Sequence[CleanEvent]) -> List[object]:
    """Every report awaited at once in a fresh event loop (as concurrent requests are); results or errors."""

    async def everyone() -> List[object]:
        return list(
            await asyncio.gather(*(group.store_report(event) for event in events), return_exceptions=True)
        )

    return asyncio.run(everyone())


def loop_connections(database: Database) -> int:
    with database.engine.connect() as connection:
        query = text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name")
        return int(connection.execute(query, {"name": APPLICATION_NAME}).scalar_one())


def test_known_reports_are_stored_by_the_loop_and_new_ids_by_the_writer(
    database: Database, write_log: WriteLog
) -> None:
    group = Ingestion(database)
    first = ingest_all(group, wave(6))
    assert all(isinstance(r, IngestResult) and r.created for r in first), first
    assert write_log.count(STORED_IN_LOOP) == 0 and write_log.count(HANDED_TO_WRITER) >= 1, (
        "new ids: the writer made them"
    )
    writer_groups = write_log.count(REPORTS_TRANSACTION)

    second_wave = wave(12)
    second = ingest_all(group, second_wave)
    assert all(isinstance(r, IngestResult) and r.created for r in second), second
    assert [r.event_id for r in second] == [e.event_id for e in second_wave]  # type: ignore[union-attr]
    assert write_log.count(STORED_IN_LOOP) >= 1 and write_log.count(REPORTS_TRANSACTION) == writer_groups, (
        "the loop stored them all"
    )
    issue_of = {f"Error{i % 3}": first[i].issue_id for i in range(3)}  # type: ignore[union-attr]
    assert [r.issue_id for r in second] == [issue_of[e.error_name] for e in second_wave]  # type: ignore[union-attr]
    with database.session() as session:
        issues = session.execute(
            select(ISSUE.c.event_count, ISSUE.c.session_count).order_by(ISSUE.c.id)
        ).all()
        sessions = session.execute(select(SESSION.c.event_count).order_by(SESSION.c.id)).scalars().all()
    assert [tuple(row) for row in issues] == [(6, 2), (6, 2), (6, 2)]
    assert sessions == [9, 9]
    assert count(database, EVENT) == 18
    assert loop_connections(database) == 0, "the loop's connection closed with its loop"


def test_a_report_stored_before_gets_its_issue_from_the_writer(
    database: Database, write_log: WriteLog
) -> None:
    group = Ingestion(database)
    ingest_all(group, wave(3))
    (stored,) = ingest_all(group, wave(1))
    assert isinstance(stored, IngestResult) and stored.created and write_log.count(STORED_IN_LOOP) == 1
    handed = write_log.count(HANDED_TO_WRITER)
    again = clean(event_id=stored.event_id, error_name="Error0", session_id=SESSIONS[0])
    fresh = wave(1)[0]
    results = ingest_all(group, [again, fresh, again])
    assert [(r.created, r.issue_id) for r in results] == [  # type: ignore[union-attr]
        (False, stored.issue_id),
        (True, stored.issue_id),
        (False, stored.issue_id),
    ]
    assert write_log.count(HANDED_TO_WRITER) > handed, "the retry went to the writer thread"
    assert count(database, EVENT) == 5


def test_a_group_the_database_refuses_is_redone_by_the_writer_report_by_report(
    database: Database, write_log: WriteLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The loop's pause after an error lasts long enough here that a loaded machine's slow redo of
    # the group cannot outlast it before the next wave is sent.
    monkeypatch.setattr(in_loop, "PAUSE_AFTER_ERROR_S", 60.0)
    group = Ingestion(database)
    ingest_all(group, wave(3))
    good = wave(4)
    # PostgreSQL refuses NUL; the message is not part of the fingerprint here, so every id of the
    # group is known and the loop itself meets the refusal.
    bad = dataclasses.replace(good[1], event_id=uuid.uuid4().hex, error_message="a\x00b")
    results = ingest_all(group, good[:2] + [bad] + good[2:])
    assert isinstance(results[2], Exception)
    assert all(isinstance(r, IngestResult) and r.created for i, r in enumerate(results) if i != 2), results
    assert count(database, EVENT) == 3 + 4
    # Right after the failure the loop leaves PostgreSQL to the writer for a moment.
    handed = write_log.count(HANDED_TO_WRITER)
    later = ingest_all(group, wave(2))
    assert all(isinstance(r, IngestResult) and r.created for r in later)
    assert write_log.count(HANDED_TO_WRITER) > handed and write_log.count(STORED_IN_LOOP) == 0


def test_a_group_whose_only_new_ids_are_sessions_is_stored_by_the_loop(
    database: Database, write_log: WriteLog
) -> None:
    # A crowd: each stranger's session is new, their notebook and their errors are known.
    group = Ingestion(database)
    ingest_all(group, wave(3))
    writer_groups = write_log.count(REPORTS_TRANSACTION)
    strangers = [uuid.uuid4().hex for _ in range(5)]
    crowd = [clean(error_name=f"Error{i % 3}", session_id=strangers[i % 5]) for i in range(15)]
    results = ingest_all(group, crowd)
    assert all(isinstance(r, IngestResult) and r.created for r in results), results
    assert write_log.count(REPORTS_TRANSACTION) == writer_groups, "the writer thread stored none of them"
    assert write_log.count(STORED_IN_LOOP) >= 1
    with database.session() as session:
        made = session.execute(
            select(SESSION.c.session_id, SESSION.c.event_count).where(SESSION.c.session_id.in_(strangers))
        ).all()
        notebook_sessions = session.execute(text("SELECT session_count FROM notebook")).scalar_one()
    assert sorted(made) == sorted((stranger, 3) for stranger in strangers)
    assert notebook_sessions == 2 + 5
    with database.engine.connect() as connection:
        assert counters_off(connection) == []


def test_two_loops_making_the_same_new_sessions_at_once_make_each_once(database: Database) -> None:
    # Two worker processes' loops (here two threads' loops) get the same strangers' first reports.
    group = Ingestion(database)
    ingest_all(group, wave(3))
    strangers = [uuid.uuid4().hex for _ in range(8)]
    halves = [
        [clean(error_name=f"Error{i % 3}", session_id=strangers[i % 8]) for i in range(16)] for _ in range(2)
    ]
    outcomes: List[List[object]] = [[], []]
    start = threading.Barrier(2)

    def loop(number: int) -> None:
        start.wait()
        outcomes[number] = ingest_all(group, halves[number])

    threads = [threading.Thread(target=loop, args=(number,)) for number in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(isinstance(r, IngestResult) and r.created for half in outcomes for r in half), outcomes
    assert count(database, EVENT) == 3 + 32
    with database.session() as session:
        made = session.execute(
            select(SESSION.c.session_id, SESSION.c.event_count).where(SESSION.c.session_id.in_(strangers))
        ).all()
    assert sorted(made) == sorted((stranger, 4) for stranger in strangers)
    with database.engine.connect() as connection:
        assert counters_off(connection) == []
