"""The writers of one process take turns on a lock before the database's own (see core/db.py).

The suite's real database (SQLite, or PostgreSQL in CI's second run) and real threads. The turn must
come back however a transaction ends, or the next writer would wait out the whole timeout.
"""

from __future__ import annotations

import threading
import time
from typing import Iterator, List

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from notebook_error_reporter.serverside.core.db import Database, WriterTurns


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    with db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY, who TEXT NOT NULL)"))
    yield db
    db.dispose()


def turn_is_free(database: Database) -> bool:
    """True if the next writer gets its turn at once."""
    started = time.monotonic()
    with database.write_session() as session:
        session.execute(text("SELECT 1"))
        session.commit()
    return time.monotonic() - started < 1.0


def holds_turn(session: Session) -> bool:
    return WriterTurns.holds_turn(session)


def test_the_turn_comes_back_after_commit_rollback_and_an_error(database: Database) -> None:
    with database.write_session() as session:
        session.execute(text("INSERT INTO t (n, who) VALUES (1, 'a')"))
        assert holds_turn(session)
        session.commit()
    with database.session() as reader:  # reads never queue
        reader.execute(text("SELECT 1"))
        assert not holds_turn(reader)
    assert turn_is_free(database)
    with database.write_session() as session:
        session.execute(text("INSERT INTO t (n, who) VALUES (2, 'b')"))
        session.rollback()
    assert turn_is_free(database)
    with database.write_session() as session:
        with pytest.raises(IntegrityError):
            session.execute(text("INSERT INTO t (n, who) VALUES (1, NULL)"))
        session.rollback()
    assert turn_is_free(database)
    with database.write_session() as session:  # closed while still in its transaction
        session.execute(text("INSERT INTO t (n, who) VALUES (3, 'c')"))
        with session.begin_nested():  # a SAVEPOINT neither takes nor gives back the turn
            session.execute(text("INSERT INTO t (n, who) VALUES (4, 'd')"))
        assert holds_turn(session)
    assert not holds_turn(session)
    assert turn_is_free(database)
    with database.session() as session:
        assert session.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [1]


def test_concurrent_writers_all_commit_one_at_a_time(database: Database) -> None:
    inside = 0
    most_inside = 0
    guard = threading.Lock()
    errors: List[BaseException] = []

    def write(k: int) -> None:
        nonlocal inside, most_inside
        try:
            for i in range(10):
                with database.write_session() as session:
                    session.execute(text("INSERT INTO t (n, who) VALUES (:n, 'x')"), {"n": 1000 * k + i})
                    with guard:
                        inside += 1
                        most_inside = max(most_inside, inside)
                    time.sleep(0.001)
                    with guard:
                        inside -= 1
                    session.commit()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert most_inside == 1
    with database.session() as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 80
    assert turn_is_free(database)


def test_a_write_session_opened_inside_this_threads_turn_does_not_wait_for_itself(database: Database) -> None:
    started = time.monotonic()
    with database.write_session() as outer:
        outer.begin()  # as a batch request does before its validating (no statement yet)
        assert holds_turn(outer)
        with database.write_session() as inner:  # e.g. a server secret made on first use
            inner.execute(text("INSERT INTO t (n, who) VALUES (7, 'secret')"))
            assert not holds_turn(inner)
            inner.commit()
        assert holds_turn(outer)
        outer.commit()
    assert time.monotonic() - started < 2.0
    assert turn_is_free(database)


def test_try_take_yields_to_a_thread_already_waiting_for_the_turn(database: Database) -> None:
    """The event loop's non-blocking try must not keep overtaking a writer thread that waits."""
    turns = database.writer_turns
    assert turns.try_take()
    got_it = threading.Event()

    def waiting_writer() -> None:
        with database.write_session() as session:
            session.execute(text("INSERT INTO t (n, who) VALUES (7, 'thread')"))
            session.commit()
        got_it.set()

    writer = threading.Thread(target=waiting_writer)
    writer.start()
    deadline = time.monotonic() + 5
    while not turns._queued and time.monotonic() < deadline:
        time.sleep(0.005)
    assert turns._queued == 1, "the thread waits for the turn"
    turns.give_back()
    assert got_it.wait(10), "the waiting thread got the turn"
    writer.join(10)
    assert turns.try_take(), "free again once nobody waits"
    turns.give_back()


def test_try_take_fails_while_a_thread_waits_even_between_turns(database: Database) -> None:
    turns = database.writer_turns
    turns._queued = 1  # as while a thread is between asking and getting the turn
    try:
        assert not turns.try_take()
    finally:
        turns._queued = 0
    assert turns.try_take()
    turns.give_back()
