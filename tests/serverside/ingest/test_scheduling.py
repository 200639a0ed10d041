"""Group commit: concurrent single reports share transactions, and each still gets its own answer.

Real threads on the suite's real database (SQLite, or PostgreSQL in CI's second run).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Awaitable, Callable, List, Tuple

import pytest

from notebook_error_reporter.serverside.core.db import Database
from notebook_error_reporter.serverside.ingest import writer_thread
from notebook_error_reporter.serverside.ingest.known_ids import KnownIds
from notebook_error_reporter.serverside.ingest.planning import IngestResult
from notebook_error_reporter.serverside.ingest.scheduling import Ingestion
from notebook_error_reporter.serverside.ingest.waiting import (
    BATCHES_TRANSACTION,
    HANDED_TO_WRITER,
    REPORTS_TRANSACTION,
    STORED_BATCHES,
    WaitingReport,
    store_reports,
)
from notebook_error_reporter.serverside.ingest.writer_thread import IDLE_EXIT_S
from notebook_error_reporter.serverside.models import EVENT, ISSUE
from notebook_error_reporter.serverside.scrub import CleanEvent

from ..helpers import T, WriteLog, clean, count, sqlite_file, store_batch, while_held


def ingest_at_once(group: Ingestion, events: List[CleanEvent]) -> List[object]:
    """Every event from a thread of its own, all released together; results or errors, in order."""
    start = threading.Barrier(len(events))

    def one(event: CleanEvent) -> object:
        start.wait()
        try:
            return group.store_report_waiting(event)
        except Exception as error:
            return error

    with ThreadPoolExecutor(len(events)) as pool:
        return list(pool.map(one, events))


def test_concurrent_reports_are_all_stored_in_fewer_transactions(
    database: Database, write_log: WriteLog
) -> None:
    group = Ingestion(database)
    events = [clean(error_name=f"Error{i % 4}") for i in range(24)]
    results = ingest_at_once(group, events)
    assert all(isinstance(r, IngestResult) and r.created for r in results), results
    assert [r.event_id for r in results] == [e.event_id for e in events]  # type: ignore[attr-defined]
    assert count(database, EVENT) == 24
    assert count(database, ISSUE) == 4
    assert write_log.count(REPORTS_TRANSACTION) < 24  # they shared transactions


def test_the_same_report_sent_twice_at_once_is_stored_once(database: Database) -> None:
    group = Ingestion(database)
    event = clean()
    results = ingest_at_once(group, [event] * 8)
    created = [r for r in results if isinstance(r, IngestResult) and r.created]
    duplicates = [r for r in results if isinstance(r, IngestResult) and not r.created]
    assert len(created) == 1 and len(duplicates) == 7
    assert {r.issue_id for r in created + duplicates} == {created[0].issue_id}
    assert count(database, EVENT) == 1


def test_a_report_the_database_refuses_fails_alone(database: Database) -> None:
    group = Ingestion(database)
    good = [clean() for _ in range(9)]
    bad = clean(error_name=None)  # NOT NULL: the database refuses this row
    results = ingest_at_once(group, good[:5] + [bad] + good[5:])
    assert isinstance(results[5], Exception)
    stored = [r for i, r in enumerate(results) if i != 5]
    assert all(isinstance(r, IngestResult) and r.created for r in stored), stored
    assert count(database, EVENT) == 9


def test_one_report_alone_is_one_transaction(database: Database, write_log: WriteLog) -> None:
    group = Ingestion(database)
    result = group.store_report_waiting(clean())
    again = group.store_report_waiting(clean(event_id=result.event_id))
    assert result.created and not again.created and again.issue_id == result.issue_id
    assert write_log.count(REPORTS_TRANSACTION) == 2


def test_a_shared_transaction_that_fails_is_redone_report_by_report(database: Database) -> None:
    """Deterministic: one group holding a report the database refuses (no thread timing involved)."""
    waiting = [WaitingReport(clean()), WaitingReport(clean(error_name=None)), WaitingReport(clean())]
    with database.write_session() as session:
        store_reports(session, waiting, KnownIds())
    assert waiting[0].result is not None and waiting[0].result.created
    assert waiting[1].result is None and waiting[1].error is not None
    assert waiting[2].result is not None and waiting[2].result.created
    assert all(w.woken.is_set() for w in waiting)
    assert count(database, EVENT) == 2


def test_reports_awaited_in_an_event_loop_share_transactions(database: Database, write_log: WriteLog) -> None:
    """The v1 route's way: many coroutines await ``ingest_async``; the loop is never blocked."""
    group = Ingestion(database)
    events = [clean(error_name=f"Error{i % 3}") for i in range(30)]

    async def everyone() -> List[IngestResult]:
        return list(await asyncio.gather(*(group.store_report(event) for event in events)))

    results = asyncio.run(everyone())
    assert [r.event_id for r in results] == [e.event_id for e in events]
    assert all(r.created for r in results)
    assert count(database, EVENT) == 30 and count(database, ISSUE) == 3
    assert write_log.count(REPORTS_TRANSACTION) < 30


def test_an_error_reaches_the_awaiting_coroutine(database: Database) -> None:
    group = Ingestion(database)

    async def one() -> IngestResult:
        return await group.store_report(clean(error_name=None))  # NOT NULL: refused

    with pytest.raises(Exception) as raised:
        asyncio.run(one())
    assert "error_name" in str(raised.value).lower() or "null" in str(raised.value).lower()
    assert count(database, EVENT) == 0


def test_the_writer_thread_ends_when_idle_and_a_new_report_starts_another(database: Database) -> None:
    group = Ingestion(database)
    group.store_report_waiting(clean())
    writer = group.writer._thread
    assert writer is not None
    writer.join(timeout=IDLE_EXIT_S + 5)
    assert not writer.is_alive() and not group.writer.running
    assert group.store_report_waiting(clean()).created
    assert count(database, EVENT) == 2


def test_close_refuses_new_reports_after_storing_the_waiting_ones(database: Database) -> None:
    group = Ingestion(database)
    assert group.store_report_waiting(clean()).created
    group.close()
    with pytest.raises(RuntimeError, match="shutting down"):
        group.store_report_waiting(clean())
    assert count(database, EVENT) == 1


def test_reports_arriving_while_the_writer_gathers_join_its_group(
    database: Database, monkeypatch: pytest.MonkeyPatch, write_log: WriteLog
) -> None:
    """Reports that come one by one, each within a pause of the last, are stored in one transaction."""
    monkeypatch.setattr(writer_thread, "GATHER_PAUSE_S", 0.1)
    monkeypatch.setattr(writer_thread, "GATHER_MAX_S", 5.0)
    group = Ingestion(database)
    events = [clean() for _ in range(4)]
    with ThreadPoolExecutor(len(events)) as pool:
        futures = []
        for event in events:
            futures.append(pool.submit(group.store_report_waiting, event))
            time.sleep(0.02)
        results = [future.result(timeout=30) for future in futures]
    assert all(result.created for result in results)
    assert write_log.count(REPORTS_TRANSACTION) == 1, "the writer waited for the reports still coming"
    assert count(database, EVENT) == 4


def while_another_connection_writes(path: str, store: Callable[[], Awaitable[T]]) -> Tuple[int, bool, T]:
    """``while_held`` with another connection holding SQLite's write lock for 0.5 s."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    try:
        return while_held(store, lambda: holder.execute("ROLLBACK"))  # the lock is free again
    finally:
        holder.close()


def test_the_loop_stores_groups_with_sqlite_or_on_its_own_postgresql_connection(database: Database) -> None:
    group = Ingestion(database)
    assert group.in_loop == database.is_sqlite, "SQLite: the loop stores with SQLite itself"
    assert (group.postgres is not None) == (not database.is_sqlite), "PostgreSQL: postgres/test_in_loop.py"
    alone = Ingestion(database, in_loop=False)
    assert not alone.in_loop and alone.postgres is None


def test_on_a_sqlite_file_the_event_loop_stores_its_groups_itself(
    database: Database, write_log: WriteLog
) -> None:
    sqlite_file(database)
    group = Ingestion(database)
    events = [clean(error_name=f"Error{i % 3}") for i in range(30)]

    async def everyone() -> List[IngestResult]:
        return list(await asyncio.gather(*(group.store_report(event) for event in events)))

    results = asyncio.run(everyone())
    assert all(r.created for r in results) and [r.event_id for r in results] == [e.event_id for e in events]
    assert not group.writer.running and write_log.count(HANDED_TO_WRITER) == 0, "no writer thread was needed"
    assert write_log.count(REPORTS_TRANSACTION) < 30
    assert count(database, EVENT) == 30


def test_the_loop_hands_its_group_over_rather_than_wait_for_another_connections_lock(
    database: Database, write_log: WriteLog
) -> None:
    """Another process (here: another connection) holds SQLite's write lock: the loop goes on serving,
    the writer thread waits for the lock and stores the report once it is free."""
    group = Ingestion(database)
    ticks, waited, result = while_another_connection_writes(
        sqlite_file(database), lambda: group.store_report(clean())
    )
    assert ticks >= 20, f"the event loop was blocked ({ticks} ticks in 0.5 s)"
    assert waited and result.created
    assert write_log.count(HANDED_TO_WRITER) >= 1
    assert count(database, EVENT) == 1


def test_the_loop_hands_its_group_over_while_another_thread_has_the_writer_turn(
    database: Database, write_log: WriteLog
) -> None:
    sqlite_file(database)
    group = Ingestion(database)
    turn = database.writer_turns.lock
    taken, release = threading.Event(), threading.Event()

    def hold_the_turn() -> None:
        with turn:
            taken.set()
            release.wait(30)

    holder = threading.Thread(target=hold_the_turn)
    holder.start()
    taken.wait(10)

    async def report() -> Tuple[bool, IngestResult]:
        stored = asyncio.ensure_future(group.store_report(clean()))
        await asyncio.sleep(0.3)
        waited = not stored.done()
        release.set()
        return waited, await asyncio.wait_for(stored, 30)

    try:
        waited, result = asyncio.run(report())
    finally:
        release.set()
        holder.join(10)
    assert waited and result.created and write_log.count(HANDED_TO_WRITER) >= 1
    assert count(database, EVENT) == 1


def test_a_batch_is_stored_in_the_loop_or_in_a_thread_that_waits_for_the_lock(
    database: Database, write_log: WriteLog
) -> None:
    """A free SQLite file: the loop stores the batch itself. Another connection holding the write
    lock: the batch waits in a thread while the loop goes on, and is stored once the lock is free."""
    path = sqlite_file(database)
    group = Ingestion(database)
    first = [clean(error_name=f"Error{i % 2}") for i in range(5)]
    results = asyncio.run(store_batch(group, first))
    assert all(r.created for r in results) and write_log.total(STORED_BATCHES) == 1
    ticks, waited, second = while_another_connection_writes(
        path, lambda: store_batch(group, [clean(), first[0]])
    )
    assert ticks >= 20, f"the event loop was blocked ({ticks} ticks in 0.5 s)"
    assert waited and write_log.total(STORED_BATCHES) == 1, "the second batch was stored by a thread"
    assert [r.created for r in second] == [True, False], "new, then a report stored before"
    assert count(database, EVENT) == 6


def batches_at_once(group: Ingestion, batches: List[List[CleanEvent]]) -> List[object]:
    """Every batch from a coroutine of its own, all started together: results or errors, in order."""

    async def everyone() -> List[object]:
        return list(await asyncio.gather(*(store_batch(group, b) for b in batches), return_exceptions=True))

    return asyncio.run(everyone())


def test_batches_waiting_together_share_a_transaction_and_each_gets_its_own_answer(
    database: Database, write_log: WriteLog
) -> None:
    """On a SQLite file the loop stores the batches waiting in one transaction; elsewhere each goes
    to a thread. Either way each batch gets its own results, in order, and a report in two batches
    at once is stored once."""
    group = Ingestion(database)
    batches = [[clean(error_name=f"Error{i % 3}") for i in range(7)] for _ in range(4)]
    batches[3].append(batches[0][2])  # the same report sent again meanwhile (a retry)
    answers = batches_at_once(group, batches)
    for batch, answer in zip(batches, answers):
        assert isinstance(answer, list), answer
        assert [r.event_id for r in answer] == [e.event_id for e in batch]
    twice = (answers[0][2], answers[3][-1])  # type: ignore[index]
    others = [r for answer in answers for r in answer if r not in twice]  # type: ignore[union-attr]
    assert all(r.created for r in others)
    # Which of the two stores it first is the threads' race (on PostgreSQL); stored once either way.
    assert sorted(r.created for r in twice) == [False, True] and twice[0].issue_id == twice[1].issue_id
    assert count(database, EVENT) == 28 and count(database, ISSUE) == 3
    if database.writes_without_waiting:
        assert write_log.total(STORED_BATCHES) == 4 and write_log.count(BATCHES_TRANSACTION) == 1, (
            "one transaction for all four"
        )


def test_a_batch_the_database_refuses_fails_alone_and_stores_none_of_its_reports(
    database: Database, write_log: WriteLog
) -> None:
    group = Ingestion(database)
    before, after = [clean() for _ in range(3)], [clean() for _ in range(3)]
    refused = [clean(), clean(error_name=None), clean()]  # NOT NULL: the database refuses the middle one
    answers = batches_at_once(group, [before, refused, after])
    assert isinstance(answers[1], Exception)
    assert all(r.created for r in answers[0]) and all(r.created for r in answers[2])  # type: ignore[union-attr]
    assert count(database, EVENT) == 6, "all of the other batches' reports, none of the refused one's"
    if database.writes_without_waiting:
        assert write_log.total(STORED_BATCHES) == 2, (
            "the shared transaction failed; the good batches were redone alone"
        )


def test_a_batch_whose_caller_went_away_is_stored_and_the_loop_goes_on(database: Database) -> None:
    """A cancelled request (its client hung up) leaves its batch queued: stored all the same (a
    retry will be a duplicate), and the batches after it get their answers."""
    sqlite_file(database)
    group = Ingestion(database)
    gone, kept = [clean()], [clean()]

    async def scenario() -> List[IngestResult]:
        left = asyncio.ensure_future(store_batch(group, gone))
        await asyncio.sleep(0)  # queued, its caller awaiting
        left.cancel()
        return await asyncio.wait_for(store_batch(group, kept), 30)

    answer = asyncio.run(scenario())
    assert answer[0].created and answer[0].event_id == kept[0].event_id
    assert count(database, EVENT) == 2
