"""Group commit: single reports that arrive together are stored in one transaction.

A transaction's fixed cost (its statements and the commit) is several times one report's rows, so
storing each single-report request in a transaction of its own made the server spend its time on
transactions. Here every report is handed to the process's *writer* thread: it takes every report
waiting (up to ``max_group``), stores them with one ``ingest_events`` call in a write session of
its own, and hands each caller its result. Every caller returns only after its report is committed
(or with the error that stopped it), so nothing is acknowledged that a crash could lose.

Callers in the event loop (``POST /api/v1/events``) ``await ingest_async``: no thread-pool hop per
request, and one wake-up of the loop per group, not one per report. Thread callers (0.1's
``POST /errors/``) use ``ingest``. The writer thread starts on the first report and ends after a
second without any (so an app that is dropped, as in tests, leaves no thread behind).

On a SQLite file the event loop stores its groups itself (``in_loop``): the database is a local
file and Python's sqlite3 module lets go of the GIL around every step of every statement, so a
writer thread beside a busy loop paid two thread switches per step, more than the step; in the
loop a group of 15 holds it for about 2 ms and switches nothing. The loop never *waits* for the
database, though: it goes ahead only when this process's writer turn is free and SQLite's write
lock can be had at once (``Database.no_wait_write_session``); otherwise, or when the database
answers with anything that could mean waiting (locked, unavailable), the group goes to the writer
thread, which may wait. On PostgreSQL the loop stores a group whose notebook, session and issue
ids are all known with one statement on an asynchronous connection of its own, serving other
requests until the answer comes (``postgres_in_loop``); the rest goes to the writer thread.
A batch (``POST /api/v1/events/batch``) is stored all or nothing. On a SQLite file the loop stores
the batches waiting together in one transaction as well (``ingest_batch``): at 100 reports a
batch's transaction still cost as much again as its rows (its commit writes the same hot index and
counter pages, and a worker process must read back what another one changed), and with several
worker processes their turns to write were the bottleneck. If that shared transaction fails for a
reason other than the database, each batch is stored again on its own. A batch that reports
dropped reports (``client_dropped``), and every batch elsewhere, is a transaction of its own: in
the loop when that needs no waiting, else in a thread of the pool.

Before taking the waiting reports the writer pauses while more keep arriving (``_gather``), so
a group holds what the event loop has parsed meanwhile, not just what it had parsed so far.

The results are those of storing the reports one after another in arrival order (the same report
sent twice at once: the first is created, the second is a duplicate). If the shared transaction
fails for a reason other than the database being unavailable, each report is stored again on its
own, so one report's trouble is its own request's answer only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import Callable, Dict, Iterator, List, Optional

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ..core.db import UNAVAILABLE_ERRORS, Database
from ..core.types import utcnow
from ..scrub import CleanEvent
from .known_ids import KnownIds
from .planning import IngestResult
from .postgres.in_loop import PostgresInLoop
from .transaction import ingest_events

logger = logging.getLogger("notebook_error_reporter.server")

MAX_GROUP = 100
# Batches stored together in the loop: at most this many (of up to 100 reports each).
MAX_BATCH_GROUP = 10
IDLE_EXIT_S = 1.0
# Before storing, the writer waits while more reports keep arriving (see ``_gather``).
GATHER_PAUSE_S = 0.0002
GATHER_MAX_S = 0.005
# On PostgreSQL the event loop's connection stays open this long after the last report.
LOOP_CONNECTION_IDLE_S = 10.0
# While another worker process writes to the SQLite file, the loop looks again this often, this long.
LOOP_TURN_POLL_S = 0.0003
LOOP_TURN_WAIT_S = 1.0


class _Waiting:
    """One report and whoever waits for it: a thread (``woken``) or an event loop's future."""

    __slots__ = ("event", "result", "error", "woken", "future")

    def __init__(self, event: CleanEvent, future: Optional[asyncio.Future[IngestResult]] = None) -> None:
        self.event = event
        self.result: Optional[IngestResult] = None
        self.error: Optional[BaseException] = None
        self.woken = threading.Event() if future is None else None
        self.future = future

    @property
    def finished(self) -> bool:
        return self.result is not None or self.error is not None

    def finish(self, result: Optional[IngestResult] = None, error: Optional[BaseException] = None) -> None:
        """Record the outcome; a thread waiter is woken now, a future when its loop is told (``_wake``)."""
        self.result, self.error = result, error
        if self.woken is not None:
            self.woken.set()


def _resolve(waiting: List[_Waiting]) -> None:
    """In the event loop: complete the futures of finished reports (a cancelled one is left alone)."""
    for item in waiting:
        future = item.future
        if future is None or future.done() or not item.finished:
            continue
        if item.error is not None:
            future.set_exception(item.error)
        else:
            future.set_result(item.result)  # type: ignore[arg-type]


class _WaitingBatch:
    """A batch in the loop's queue and its caller's future: its results, or None if the loop left
    it to a thread (the database would have made the loop wait)."""

    __slots__ = ("events", "future")

    def __init__(
        self, events: List[CleanEvent], future: asyncio.Future[Optional[List[IngestResult]]]
    ) -> None:
        self.events = events
        self.future = future

    def finish(
        self, results: Optional[List[IngestResult]] = None, error: Optional[BaseException] = None
    ) -> None:
        if self.future.done():  # its caller went away (a cancelled request); it was stored all the same
            return
        if error is not None:
            self.future.set_exception(error)
        else:
            self.future.set_result(results)


async def _gathered(queue: List[object], limit: int) -> None:
    """Let ``queue`` grow while more keeps arriving (serving the requests that bring it): pause,
    and go once a pause brought nothing, it holds ``limit``, or ``GATHER_MAX_S`` have passed (as
    ``GroupCommit._gather`` does in the writer thread)."""
    deadline = time.monotonic() + GATHER_MAX_S
    seen = len(queue)
    while seen < limit and time.monotonic() < deadline:
        await asyncio.sleep(GATHER_PAUSE_S)
        if len(queue) == seen:
            return
        seen = len(queue)


# What to do with reports the database could not take now (fail them, or hand them to the writer).
_Unavailable = Callable[[List["_Waiting"], BaseException], None]


class GroupCommit:
    """Store single reports, each together with whatever else is waiting (see the module docstring)."""

    def __init__(
        self,
        database: Database,
        known: Optional[KnownIds] = None,
        max_group: int = MAX_GROUP,
        in_loop: Optional[bool] = None,
    ) -> None:
        self.database = database
        self.known = known if known is not None else KnownIds()
        self.max_group = max_group
        # The event loop stores its own groups where the database allows that without waiting: a
        # SQLite file (``in_loop``), or PostgreSQL when the reports' ids are known (``self.postgres``).
        self.in_loop = database.writes_without_waiting and (in_loop is None or in_loop)
        conninfo = database.postgres_conninfo
        self.postgres: Optional[PostgresInLoop] = (
            PostgresInLoop(conninfo, self.known) if conninfo is not None and in_loop is not False else None
        )
        self._ready = threading.Condition()
        self._waiting: List[_Waiting] = []
        self._writer: Optional[threading.Thread] = None
        self._closed = False
        self._loop_waiting: List[_Waiting] = []
        self._loop_flusher: Optional[asyncio.Task[None]] = None
        self._loop_arrival: Optional[asyncio.Event] = None  # the PostgreSQL flusher idles on it
        self.groups = 0  # transactions made (for tests and the benchmark)
        self.handed_over = 0  # groups the loop gave the writer thread rather than wait (tests)
        self.loop_batches = 0  # batches the loop stored itself (tests)
        self.batch_groups = 0  # transactions of batches in the loop (tests)
        self._loop_batches: List[_WaitingBatch] = []
        self._batch_flusher: Optional[asyncio.Task[None]] = None

    def ingest(self, event: CleanEvent) -> IngestResult:
        """Store ``event`` (from a thread); returns once it is committed, or raises what stopped it."""
        mine = _Waiting(event)
        self._submit(mine)
        mine.woken.wait()
        if mine.error is not None:
            raise mine.error
        assert mine.result is not None
        return mine.result

    async def ingest_async(self, event: CleanEvent) -> IngestResult:
        """``ingest`` for the event loop: it serves other requests until the report's group is stored
        (by the loop itself between requests, or by the writer thread)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IngestResult] = loop.create_future()
        waiting = _Waiting(event, future)
        if not (self.in_loop or self.postgres):
            self._submit(waiting)
            return await future
        if self._closed:
            raise RuntimeError("the server is shutting down")
        self._loop_waiting.append(waiting)
        flusher = self._loop_flusher
        if flusher is None or flusher.done() or flusher.get_loop() is not loop:
            self._loop_flusher = loop.create_task(self._flush_in_loop())
        elif self._loop_arrival is not None:
            self._loop_arrival.set()
        return await future

    async def ingest_batch(self, events: List[CleanEvent], client_dropped: int = 0) -> List[IngestResult]:
        """A batch, all or nothing: in the event loop, together with the other batches waiting, when
        that needs no waiting (``in_loop``); else, or if it reports dropped reports, in a
        transaction of its own, in the loop if the turn is free, else in a thread of the pool."""
        if not (events or client_dropped):
            return []
        if self.in_loop and not client_dropped:
            if self._closed:
                raise RuntimeError("the server is shutting down")
            loop = asyncio.get_running_loop()
            waiting = _WaitingBatch(events, loop.create_future())
            self._loop_batches.append(waiting)
            flusher = self._batch_flusher
            if flusher is None or flusher.done() or flusher.get_loop() is not loop:
                self._batch_flusher = loop.create_task(self._flush_batches_in_loop())
            results = await waiting.future
            if results is not None:
                return results
        elif self.in_loop:  # wait in the loop: a thread would wait too, then for the GIL as well
            await self._until_the_turn_looks_free(also_in_this_process=True)
            try:
                with self._loop_turn() as session:
                    if session is not None:
                        results = ingest_events(
                            session=session, events=events, client_dropped=client_dropped, known=self.known
                        ).results
                        self.loop_batches += 1
                        return results
            except UNAVAILABLE_ERRORS as error:  # rolled back; the thread below waits, or answers 503
                logger.info("batch in the loop: %s; handed to a thread", type(error).__name__)
        return await run_in_threadpool(self._ingest_batch_waiting, events, client_dropped)

    def _ingest_batch_waiting(self, events: List[CleanEvent], client_dropped: int) -> List[IngestResult]:
        with self.database.write_session() as session:
            return ingest_events(
                session=session, events=events, client_dropped=client_dropped, known=self.known
            ).results

    def close(self) -> None:
        """Store what is waiting, then stop the writer (the app's shutdown)."""
        with self._ready:
            self._closed = True
            writer = self._writer
            self._ready.notify_all()
        if writer is not None:
            writer.join(timeout=30)

    # --- in the event loop (SQLite; PostgreSQL's known reports) ---------------------------------------

    async def _flush_in_loop(self) -> None:
        """Gather a group (as ``_gather`` does, awaiting instead of sleeping), store it, repeat.

        On PostgreSQL the task keeps its connection open while reports keep coming: it waits up to
        ``LOOP_CONNECTION_IDLE_S`` for the next one, and closes the connection when it ends."""
        postgres = self.postgres
        try:
            while True:
                if not self._loop_waiting:
                    if postgres is None or self._closed or not await self._next_arrival():
                        return
                await _gathered(self._loop_waiting, self.max_group)
                group = self._loop_waiting[: self.max_group]
                del self._loop_waiting[: self.max_group]
                if postgres is None:  # a turn of this process's writer thread: it takes the group
                    await self._until_the_turn_looks_free(also_in_this_process=False)
                    self._store_in_loop(group)
                else:
                    await self._store_in_loop_postgres(postgres, group)
        finally:
            if postgres is not None:
                await postgres.close()

    async def _flush_batches_in_loop(self) -> None:
        """Gather the batches waiting, wait for the writer turn (more gather meanwhile), store up to
        ``MAX_BATCH_GROUP`` of them in one transaction, repeat."""
        queue = self._loop_batches
        while queue:
            await _gathered(queue, MAX_BATCH_GROUP)
            await self._until_the_turn_looks_free(also_in_this_process=True)
            group = queue[:MAX_BATCH_GROUP]
            del queue[:MAX_BATCH_GROUP]
            try:
                with self._loop_turn() as session:
                    if session is not None:
                        self._store_batches(session, group)
            except Exception as error:  # opening or closing the session failed: threads try again
                logger.info("batches in the loop: %s; handed to threads", type(error).__name__)
            finally:
                for waiting in group:  # the rest wait for the database in threads
                    waiting.finish(None)

    def _store_batches(self, session: Session, group: List[_WaitingBatch]) -> None:
        """Store ``group`` in one transaction, or each batch in its own if that fails for another
        reason than the database being unavailable (whose batches are left to threads)."""
        self.batch_groups += 1
        try:
            summary = ingest_events(
                session=session,
                events=[event for waiting in group for event in waiting.events],
                known=self.known,
            )
        except UNAVAILABLE_ERRORS as error:  # rolled back; every batch would wait alike
            logger.info("batches in the loop: %s; handed to threads", type(error).__name__)
            return
        except Exception as error:
            if len(group) == 1:
                group[0].finish(error=error)
                return
            for waiting in group:
                try:
                    waiting.finish(
                        ingest_events(session=session, events=waiting.events, known=self.known).results
                    )
                    self.loop_batches += 1
                except UNAVAILABLE_ERRORS:
                    return
                except Exception as own:
                    waiting.finish(error=own)
            return
        start = 0
        for waiting in group:
            waiting.finish(summary.results[start : start + len(waiting.events)])
            start += len(waiting.events)
        self.loop_batches += len(group)

    async def _until_the_turn_looks_free(self, *, also_in_this_process: bool) -> None:
        """Wait (serving other requests) while another worker process of the SQLite file, or also
        a thread of this one, has the writer turn, up to ``LOOP_TURN_WAIT_S``. The loop then takes
        the turn the moment it is free, where a thread it handed the work to would wait for the
        turn and then for the GIL; and a thread waiting for the turn keeps the loop from taking it
        (``WriterTurns.try_take``), so one hand-over led to the next."""
        deadline = time.monotonic() + LOOP_TURN_WAIT_S
        turns = self.database.writer_turns
        taken = (lambda: not turns.looks_free()) if also_in_this_process else turns.held_by_another_process
        while taken() and time.monotonic() < deadline:
            await asyncio.sleep(LOOP_TURN_POLL_S)

    async def _next_arrival(self) -> bool:
        """Wait for a report (True) or ``LOOP_CONNECTION_IDLE_S`` without one (False)."""
        self._loop_arrival = arrival = asyncio.Event()
        try:
            await asyncio.wait_for(arrival.wait(), LOOP_CONNECTION_IDLE_S)
            return True
        except asyncio.TimeoutError:
            return bool(self._loop_waiting)
        finally:
            self._loop_arrival = None

    async def _store_in_loop_postgres(self, postgres: PostgresInLoop, group: List[_Waiting]) -> None:
        """Store ``group`` with ``postgres``; what it leaves (see ``postgres_in_loop``) goes to the writer."""
        try:
            results = await postgres.store([waiting.event for waiting in group], utcnow())
            for waiting, result in zip(group, results):
                if result is not None:
                    waiting.finish(result)
        except Exception as error:  # never lose the flusher: the writer takes the group
            logger.warning("group commit in the loop: %s; handed to the writer", type(error).__name__)
        finally:
            self._hand_over([waiting for waiting in group if not waiting.finished])
            _resolve(group)

    @contextlib.contextmanager
    def _loop_turn(self) -> Iterator[Optional[Session]]:
        """This process's writer turn and a no-wait write session, if the turn is free at once (and
        the loop stores at all); else None. SQLite's own lock, if taken, fails the first statement."""
        session = self.database.no_wait_write_session() if self.in_loop else None
        turns = self.database.writer_turns
        if session is None or not turns.try_take():
            yield None
            return
        try:
            with session:
                yield session
        finally:
            turns.give_back()

    def _store_in_loop(self, group: List[_Waiting]) -> None:
        """Store ``group`` now if that needs no waiting; else (or on the way) the writer thread takes
        what is left."""
        try:
            with self._loop_turn() as session:
                if session is None:
                    self._hand_over(group)
                else:
                    self._store(session, group, self._hand_over)
        except Exception as error:  # opening or closing the session failed: the thread tries again
            logger.info("group commit in the loop: %s; handed to the writer", type(error).__name__)
            self._hand_over([waiting for waiting in group if not waiting.finished])
        finally:
            _resolve(group)  # what was stored, or refused at shutdown; the writer tells of the rest

    def _hand_over(self, group: List[_Waiting], _error: Optional[BaseException] = None) -> None:
        """Give reports the loop would have had to wait for (or retry after ``_error``) to the writer."""
        if not group:
            return
        self.handed_over += 1
        with self._ready:
            if self._closed:
                error = RuntimeError("the server is shutting down")
                for waiting in group:
                    waiting.finish(error=error)
                return
            self._waiting.extend(group)
            self._start_or_notify_writer()

    # --- the writer thread ---------------------------------------------------------------------------

    def _submit(self, waiting: _Waiting) -> None:
        with self._ready:
            if self._closed:
                raise RuntimeError("the server is shutting down")
            self._waiting.append(waiting)
            self._start_or_notify_writer()

    def _start_or_notify_writer(self) -> None:
        """With ``_ready`` held: wake the writer thread, or start one."""
        if self._writer is None:
            self._writer = threading.Thread(target=self._write, name="notebook-error-writer", daemon=True)
            self._writer.start()
        else:
            self._ready.notify()

    def _write(self) -> None:
        while True:
            with self._ready:
                if not self._waiting and not self._closed:
                    self._ready.wait(IDLE_EXIT_S)
                if not self._waiting:
                    self._writer = None  # idle (or closed): the next report starts a new writer
                    return
            self._gather()
            with self._ready:
                group = self._waiting[: self.max_group]
                del self._waiting[: self.max_group]
            self._store_group(group)

    def _gather(self) -> None:
        """Let the group grow while reports keep coming: pause briefly, go once a pause brought none.

        The writer and the event loop share the GIL, so a writer that took the waiting reports at
        once took the few the loop had parsed so far (8 of 16 connections under load); a pause
        gives the loop the GIL to parse the rest, and twice the group costs little more than one
        transaction. A lone report waits one pause (0.2 ms); a steady stream at most 5 ms.
        """
        deadline = time.monotonic() + GATHER_MAX_S
        seen = len(self._waiting)
        while seen < self.max_group and not self._closed and time.monotonic() < deadline:
            time.sleep(GATHER_PAUSE_S)
            now = len(self._waiting)
            if now == seen:
                return
            seen = now

    def _store_group(self, group: List[_Waiting]) -> None:
        try:
            with self.database.write_session() as session:
                self._store(session, group)
        except Exception as error:  # opening or closing the session failed: every report alike
            logger.warning("group commit: %s", type(error).__name__)
            for waiting in group:
                if not waiting.finished:
                    waiting.finish(error=error)
        finally:
            for waiting in group:  # never leave anyone waiting, whatever happened
                if not waiting.finished:
                    waiting.finish(error=RuntimeError("group commit: report not stored"))
            self._wake(group)

    @staticmethod
    def _wake(group: List[_Waiting]) -> None:
        """One call into each event loop that has futures in ``group``."""
        loops: Dict[asyncio.AbstractEventLoop, List[_Waiting]] = {}
        for waiting in group:
            if waiting.future is not None:
                loops.setdefault(waiting.future.get_loop(), []).append(waiting)
        for loop, items in loops.items():
            try:
                loop.call_soon_threadsafe(_resolve, items)
            except RuntimeError:  # that loop is closed: nobody is waiting any more
                pass

    @staticmethod
    def _fail_unavailable(group: List[_Waiting], error: BaseException) -> None:
        """The writer thread's answer to an unavailable database: every report gets the 503."""
        for waiting in group:
            waiting.finish(error=error)

    def _store(
        self, session: Session, group: List[_Waiting], unavailable: Optional[_Unavailable] = None
    ) -> None:
        """Store ``group``; if the database is unavailable (or would make the loop wait), the reports
        not stored yet go to ``unavailable`` (by default: they fail with that error)."""
        unavailable = unavailable or self._fail_unavailable
        self.groups += 1
        try:
            summary = ingest_events(session=session, events=[w.event for w in group], known=self.known)
        except UNAVAILABLE_ERRORS as error:  # every report would fail alike
            unavailable(group, error)
            return
        except Exception as error:
            if len(group) == 1:
                group[0].finish(error=error)
            else:
                self._one_by_one(session, group, unavailable)
            return
        for waiting, result in zip(group, summary.results):
            waiting.finish(result)

    def _one_by_one(self, session: Session, group: List[_Waiting], unavailable: _Unavailable) -> None:
        for index, waiting in enumerate(group):
            try:
                result = ingest_events(session=session, events=[waiting.event], known=self.known).results[0]
                waiting.finish(result)
            except UNAVAILABLE_ERRORS as error:
                unavailable(group[index:], error)
                return
            except Exception as error:
                waiting.finish(error=error)
