"""Worker processes of one SQLite file take turns to write (``core/process_lock.py``).

Real processes: a writer in a child process (``HOLDER``, controlled over its stdin) and, at the
end, a real server with two uvicorn workers. SQLite files only (skipped on PostgreSQL, whose
processes meet at row locks).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, List

import httpx
import pytest
from sqlalchemy import text

from notebook_error_reporter.serverside.core.db import Database
from notebook_error_reporter.serverside.core.process_lock import ProcessLock
from notebook_error_reporter.serverside.ingest.scheduling import Ingestion
from notebook_error_reporter.serverside.ingest.waiting import STORED_BATCHES
from notebook_error_reporter.serverside.models import EVENT

from ..databases import is_postgres
from ..helpers import ADMIN, WriteLog, clean, count, make_event, sqlite_file, store_batch, while_held
from ..live_server import start_server

pytestmark = pytest.mark.skipif(is_postgres(), reason="turns across processes are for SQLite files")

# A child process that opens a write session, says "held", waits for a line, commits, says "done".
HOLDER = """
import sys
from sqlalchemy import text
from notebook_error_reporter.serverside.models import EVENT
from notebook_error_reporter.serverside.core.db import Database
database = Database(sys.argv[1])
with database.write_session() as session:
    session.execute(text("SELECT count(*) FROM notebook"))
    print("held", flush=True)
    sys.stdin.readline()
    session.commit()
print("done", flush=True)
"""


@pytest.fixture
def holder(database: Database) -> Iterator[subprocess.Popen[str]]:
    """Another process holding a write session (the turn) on this test's SQLite file."""
    sqlite_file(database)
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, database.url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "held"
            yield child
        finally:
            if child.poll() is None:
                child.kill()


def let_go(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write("\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == "done"
    child.wait(10)


def test_the_turn_held_by_another_process_is_seen_and_waited_for(
    database: Database, holder: subprocess.Popen[str]
) -> None:
    turns = database.writer_turns
    assert turns.across is not None and Path(turns.across.path).exists()
    assert turns.held_by_another_process() and not turns.looks_free()
    assert not turns.try_take(), "the event loop does not wait: it is refused"
    got: List[float] = []

    def write() -> None:  # a thread's write session waits for the turn
        with database.write_session() as session:
            session.execute(text("SELECT 1"))  # the transaction, and its turn, begin here
            got.append(time.monotonic())
            session.commit()

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(0.3)
    assert writer.is_alive() and not got, "still waiting while the other process writes"
    released = time.monotonic()
    let_go(holder)
    writer.join(10)
    assert got and got[0] >= released
    assert turns.looks_free() and not turns.held_by_another_process()


def test_a_batch_waits_in_the_event_loop_for_another_processes_turn(
    database: Database, holder: subprocess.Popen[str], write_log: WriteLog
) -> None:
    group = Ingestion(database)
    ticks, waited, stored = while_held(
        lambda: store_batch(group, [clean(), clean()]), lambda: let_go(holder), seconds=0.4
    )
    assert ticks >= 20, f"the event loop was blocked ({ticks} ticks in 0.4 s)"
    assert waited and len(stored) == 2
    assert write_log.total(STORED_BATCHES) == 1, (
        "stored by the loop itself once the turn was free, not by a thread"
    )
    assert count(database, EVENT) == 2


def test_without_a_lock_file_only_sqlites_own_lock_is_left(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lock = ProcessLock(str(tmp_path / "no such directory" / "errors.db-turn"))
    with caplog.at_level(logging.WARNING, logger="notebook_error_reporter"):
        assert lock.try_acquire() and lock.try_acquire() and lock.acquire(0.1)
        lock.release()
    assert caplog.text.count("no writer turns across processes") == 1


def test_two_workers_store_every_report_once(tmp_path: Path) -> None:
    """A real server with two worker processes on one SQLite file, sent batches and single reports
    from 12 threads at once: every report answered 2xx and stored once."""
    server = start_server(tmp_path, workers=2, rate_limit_address="1000000/minute")
    answers: List[int] = []
    sent: List[str] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            for round_ in range(8):
                events = [make_event(error_name=f"Error{round_ % 3}") for _ in range(20 if number % 2 else 1)]
                if len(events) == 1:
                    response = http.post("/api/v1/events", json=events[0])
                else:
                    response = http.post("/api/v1/events/batch", json={"events": events})
                with lock:
                    answers.append(response.status_code)
                    sent.extend(event["event_id"] for event in events)

    try:
        threads = [threading.Thread(target=client, args=(n,)) for n in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        listed = httpx.get(server.base_url + "/api/v1/notebooks", headers=ADMIN, timeout=30).json()
    finally:
        server.stop()
    assert sorted(set(answers)) == [200, 201], "batches answer 200, single reports 201"
    assert len(answers) == 12 * 8 and len(set(sent)) == len(sent) == 6 * 8 * 20 + 6 * 8
    assert [notebook["event_count"] for notebook in listed] == [len(sent)], "every report stored once"
