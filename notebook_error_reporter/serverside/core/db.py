"""Database engines: a SQLite file by default (WAL, busy timeout), PostgreSQL through psycopg 3 by URL.

Three entry points: ``session()`` for reads; ``write_session()`` for changes, which on SQLite
takes the write lock when it begins (``BEGIN IMMEDIATE``: a deferred transaction that reads first
can fail with "database is locked" however long the timeout); and, on a SQLite file,
``no_wait_write_session()`` for the event loop, which fails at once rather than wait. The writers
of one process take turns (``WriterTurns``) before the database's own locks; the worker processes
of one SQLite file take turns on a lock file (``process_lock.py``). See docs/design.md and, for
why, docs/performance.md.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Dict, Optional

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from .private_files import prepare_private_database
from .process_lock import ProcessLock

logger = logging.getLogger("notebook_error_reporter.server")

SQLITE_BUSY_TIMEOUT_MS = 10_000
# SQLite copies the WAL back into the database (a checkpoint, with an fsync) inside the commit that
# grows the WAL past this many pages. Its default, 1,000 pages (4 MB), is a checkpoint every few
# batches of 100 reports, each rewriting the same hot index pages; at 8,000 (32 MB) those pages
# are copied once for many commits: batches of 100 ingest about 8 % faster (bench, same run).
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 8_000
# After a checkpoint a WAL file larger than this is cut back (a burst leaves no big file behind).
SQLITE_JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024
# psycopg: give up connecting after this many seconds, so a request answers 503 instead of hanging.
CONNECT_TIMEOUT_S = 5
_BEGIN_OPTION = "notebook_error_reporter_sqlite_begin"
# The database is down, locked or out of connections: the API answers these with 503 and Retry-After
# (api/errors.py), and group commit gives them to every report of a group alike.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)


class WriterTurns:
    """One write transaction at a time in this process: taken when it begins, given back when it ends.

    A write session opened while the same thread already holds the turn (a server secret made on
    first use inside a request's transaction) rides on that turn instead of waiting for itself.
    """

    _KEY = "notebook_error_reporter_holds_turn"

    def __init__(
        self, timeout: float = SQLITE_BUSY_TIMEOUT_MS / 1000, across: Optional[ProcessLock] = None
    ) -> None:
        self.lock = threading.Lock()
        self.timeout = timeout
        # The turn across the worker processes of a SQLite file (``process_lock``), taken after ours.
        self.across = across
        self._owner: Optional[int] = None
        self._queued = 0  # threads waiting for the turn
        self._counting = threading.Lock()

    def attach(self, sessions: sessionmaker[Session]) -> None:
        """Make every session of ``sessions`` take turns (listening once: per session it cost more
        than a small transaction's statements)."""
        event.listen(sessions, "after_transaction_create", self._begun)
        event.listen(sessions, "after_transaction_end", self._ended)

    def _begun(self, session: Session, transaction: Any) -> None:
        if transaction.parent is not None:  # a SAVEPOINT inside the outermost transaction
            return
        if self._owner == threading.get_ident():
            session.info[self._KEY] = False  # nested in this thread's own turn
            return
        # On a timeout go on without the turn: the database's own locks still decide.
        deadline = time.monotonic() + self.timeout
        with self._counting:
            self._queued += 1
        try:
            taken = self.lock.acquire(timeout=self.timeout)
        finally:
            with self._counting:
                self._queued -= 1
        if taken:
            self._owner = threading.get_ident()
            if self.across is not None and not self.across.acquire(max(0.0, deadline - time.monotonic())):
                logger.warning("another process kept the writer turn for %.0f s", self.timeout)
        session.info[self._KEY] = taken

    def _ended(self, session: Session, transaction: Any) -> None:
        if transaction.parent is None and session.info.pop(self._KEY, False):
            self._give_back()

    def try_take(self) -> bool:
        """Take the turn for this thread if nobody holds it *and nobody waits for it*; write sessions
        opened until ``give_back`` ride on it.

        Nobody waiting, because a lock is not fair: the event loop, trying between every group,
        would otherwise keep winning over a thread that waits (a batch of 100 waited 1.4 s so).
        """
        if self._queued or not self.lock.acquire(blocking=False):
            return False
        if self.across is not None and not self.across.try_acquire():
            self.lock.release()
            return False
        self._owner = threading.get_ident()
        return True

    def held_by_another_process(self) -> bool:
        """Whether the turn is free in this process but another process of the same SQLite file
        has it (a hint, as ``looks_free``)."""
        if self.across is None or self._queued or self.lock.locked():
            return False
        return not self._across_free()

    def looks_free(self) -> bool:
        """Whether ``try_take`` would succeed now (a hint: it may change at once)."""
        return not self._queued and not self.lock.locked() and self._across_free()

    def _across_free(self) -> bool:
        if self.across is None:
            return True
        if self.across.try_acquire():
            self.across.release()
            return True
        return False

    def give_back(self) -> None:
        """End a turn taken with ``try_take``."""
        self._give_back()

    def _give_back(self) -> None:
        if self.across is not None:
            self.across.release()
        self._owner = None
        self.lock.release()

    @classmethod
    def holds_turn(cls, session: Session) -> bool:
        return bool(session.info.get(cls._KEY, False))


class Database:
    """The engines of one database URL; cheap to create, connects on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.write_engine: Engine = (
            self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"}) if self.is_sqlite else self.engine
        )
        database_file = make_url(url).database if self.is_sqlite and not _sqlite_in_memory(url) else None
        if database_file:
            prepare_private_database(database_file)
        self.writer_turns = WriterTurns(across=ProcessLock.beside(database_file) if database_file else None)
        self._write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)
        self.writer_turns.attach(self._write_sessions)
        # libpq's form of the URL, for psycopg's own asynchronous connections (``ingest/postgres/``).
        self.postgres_conninfo: Optional[str] = (
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            if self.engine.dialect.name == "postgresql"
            else None
        )
        self._no_wait_engine: Optional[Engine] = None
        self._no_wait_sessions: Optional[sessionmaker[Session]] = None
        if self.is_sqlite and not _sqlite_in_memory(url):
            self._no_wait_engine = _sqlite_engine(url, in_memory=False, busy_timeout_ms=0, pool_size=1)
            self._no_wait_sessions = sessionmaker(
                self._no_wait_engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"}),
                expire_on_commit=False,
            )
            self.writer_turns.attach(self._no_wait_sessions)

    def session(self) -> Session:
        """A session for reading (on SQLite it never blocks the writer)."""
        return Session(self.engine, expire_on_commit=False)

    def write_session(self) -> Session:
        """A session whose transactions take this process's writer turn, and SQLite's write lock, at once."""
        return self._write_sessions()

    @property
    def writes_without_waiting(self) -> bool:
        """Whether ``no_wait_write_session`` has sessions to give (a SQLite file)."""
        return self._no_wait_sessions is not None

    def no_wait_write_session(self) -> Optional[Session]:
        """A write session that fails (``OperationalError``) rather than waits for another
        connection's write lock: SQLite files only, None elsewhere. Take the turn with
        ``writer_turns.try_take`` before its transaction begins."""
        return self._no_wait_sessions() if self._no_wait_sessions is not None else None

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
        if self._no_wait_engine is not None:
            self._no_wait_engine.dispose()


def make_engine(url: str) -> Engine:
    """An engine with this project's settings for SQLite or PostgreSQL (other URLs get defaults)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, in_memory=_sqlite_in_memory(url))
    kwargs: Dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "postgresql":
        kwargs.update(
            pool_size=10,
            max_overflow=20,
            pool_timeout=10,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
        )
    return create_engine(url, **kwargs)


def _sqlite_in_memory(url: str) -> bool:
    return make_url(url).database in (None, "", ":memory:")


def _sqlite_engine(
    url: str, *, in_memory: bool, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, pool_size: int = 10
) -> Engine:
    kwargs: Dict[str, Any] = {
        "connect_args": {"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
    }
    if in_memory:
        kwargs["poolclass"] = StaticPool  # one shared connection, or each would see its own empty database
    else:
        kwargs.update(pool_size=pool_size, max_overflow=30, pool_timeout=30)
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
                cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
                cursor.execute(f"PRAGMA journal_size_limit={SQLITE_JOURNAL_SIZE_LIMIT_BYTES}")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine
