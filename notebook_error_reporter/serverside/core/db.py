"""Database engines: a SQLite file by default (WAL, busy timeout), PostgreSQL through psycopg 3 by URL.

SQLite needs care to be a good server database. WAL lets readers run beside the one writer; a busy
timeout makes a second writer wait instead of failing at once. And a transaction that will write
must take the write lock when it *begins* (``BEGIN IMMEDIATE``): a deferred one that reads first
and writes later can find its snapshot stale and fail with "database is locked" however long the
timeout. So there are two entry points: ``session()`` for reads (deferred) and ``write_session()``
for ingest and other changes (immediate). On PostgreSQL both are the same engine.

Writers of one process also queue for SQLite's write lock in Python (``_WriterTurns``) before they
ask SQLite for it: SQLite's busy handler polls with sleeps of up to 100 ms, so a dozen threads
waiting in it made concurrent batches slower than one at a time and gave seconds-long tails. Other
processes (workers) still meet at SQLite's lock and its busy timeout.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any, Dict, Optional

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_TIMEOUT_MS = 10_000
# psycopg: give up connecting after this many seconds, so a request answers 503 instead of hanging.
CONNECT_TIMEOUT_S = 5
_BEGIN_OPTION = "notebook_error_reporter_sqlite_begin"


class Database:
    """The engines of one database URL; cheap to create, connects on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.write_engine: Engine = (
            self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"}) if self.is_sqlite else self.engine
        )

    def session(self) -> Session:
        """A session for reading (on SQLite it never blocks the writer)."""
        return Session(self.engine, expire_on_commit=False)

    def write_session(self) -> Session:
        """A session whose transactions take the write lock at once on SQLite."""
        return Session(self.write_engine, expire_on_commit=False)

    def ping(self) -> bool:
        """True if a trivial query answers; never raises (this is what /healthz reports)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()


def make_engine(url: str) -> Engine:
    """An engine with this project's settings for SQLite or PostgreSQL (other URLs get defaults)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, in_memory=parsed.database in (None, "", ":memory:"))
    kwargs: Dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "postgresql":
        kwargs.update(
            pool_size=10,
            max_overflow=20,
            pool_timeout=10,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
        )
    return create_engine(url, **kwargs)


class _WriterTurns:
    """One writing transaction at a time per engine, queued on a lock instead of in SQLite's sleeps."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def connection_class(self) -> type:
        turns = self

        class Connection(sqlite3.Connection):
            """Gives the turn back as soon as its transaction ends, however it ends."""

            holds_turn = False

            def take_turn(self) -> None:
                # On a timeout go on without it: SQLite's own lock and busy timeout still decide.
                self.holds_turn = turns.lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)

            def give_turn(self) -> None:
                if self.holds_turn:
                    self.holds_turn = False
                    turns.lock.release()

            def commit(self) -> None:
                try:
                    super().commit()
                finally:
                    self.give_turn()

            def rollback(self) -> None:
                try:
                    super().rollback()
                finally:
                    self.give_turn()

            def close(self) -> None:
                try:
                    super().close()
                finally:
                    self.give_turn()

        return Connection


def _sqlite_engine(url: str, *, in_memory: bool) -> Engine:
    turns: Optional[_WriterTurns] = None if in_memory else _WriterTurns()
    connect_args: Dict[str, Any] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    if turns is not None:
        connect_args["factory"] = turns.connection_class()
    kwargs: Dict[str, Any] = {"connect_args": connect_args}
    if in_memory:
        kwargs["poolclass"] = StaticPool  # one shared connection, or each would see its own empty database
    else:
        kwargs.update(pool_size=10, max_overflow=30, pool_timeout=30)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (SQLAlchemy's
        # documented recipe; it also makes SAVEPOINT work).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        raw = connection.connection.dbapi_connection
        queued = mode == "IMMEDIATE" and hasattr(raw, "take_turn")
        if queued:
            raw.take_turn()
        try:
            connection.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            if queued:
                raw.give_turn()
            raise

    return engine
