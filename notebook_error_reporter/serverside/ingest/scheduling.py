"""The write path's one entry: where each report or batch is stored, in the event loop, by the writer
thread, or in a thread of the pool. The routes call this and nothing else.

* A single report joins the reports waiting with it and is stored in their group's transaction:
  by the event loop itself where the database allows that without waiting (a SQLite file whose
  writer turn is free; on PostgreSQL a group whose ids are all remembered, ``postgres/in_loop.py``),
  else by the writer thread (``writer_thread.py``). Every caller returns only after its report is
  committed (or with the error that stopped it).
* A batch is stored all or nothing. On a SQLite file the loop judges it and stores it together with
  the other batches waiting, in one transaction; a batch that reports dropped reports is a
  transaction of its own, in the loop when the turn is free. Anywhere else the whole request (its
  judging too) goes to a thread of the pool, which takes the writer turn first.

See docs/design.md for the flow and docs/performance.md for why each choice was made.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Callable, List, Optional

from starlette.concurrency import run_in_threadpool

from ..core.db import UNAVAILABLE_ERRORS, Database
from ..core.types import utcnow
from ..scrub import CleanEvent
from .known_ids import KnownIds
from .planning import IngestResult
from .sqlite.loop_turns import loop_turn, until_the_turn_looks_free
from .transaction import ingest_events
from .waiting import (
    HANDED_TO_WRITER,
    STORED_BATCHES,
    WaitingBatch,
    WaitingReport,
    gathered,
    resolve,
    store_batches,
    store_reports,
)
from .writer_thread import WriterThread

if TYPE_CHECKING:  # imported when a PostgreSQL database is used: psycopg costs about 10 MB
    from .postgres.in_loop import PostgresInLoop

logger = logging.getLogger("notebook_error_reporter.server")

MAX_GROUP = 100
# Batches stored together in the loop: at most this many (of up to 100 reports each).
MAX_BATCH_GROUP = 10
# On PostgreSQL the event loop's connection stays open this long after the last report.
LOOP_CONNECTION_IDLE_S = 10.0

# A batch's judging (validation and scrubbing: its valid reports) and admission (rate limits on
# them), which run where the batch is stored.
Judge = Callable[[], List[CleanEvent]]
# Admission returns the reports that may be stored (those within the rate limits), or raises.
Admit = Callable[[List[CleanEvent]], List[CleanEvent]]


class Ingestion:
    """Stores reports and batches (see the module docstring); one per app."""

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
        self.postgres: Optional[PostgresInLoop] = None
        if conninfo is not None and in_loop is not False:
            from .postgres.in_loop import PostgresInLoop

            self.postgres = PostgresInLoop(conninfo, self.known)
        self.writer = WriterThread(database, self.known, max_group)
        self._loop_waiting: List[WaitingReport] = []
        self._loop_flusher: Optional[asyncio.Task[None]] = None
        self._loop_arrival: Optional[asyncio.Event] = None  # the PostgreSQL flusher idles on it
        self._loop_batches: List[WaitingBatch] = []
        self._batch_flusher: Optional[asyncio.Task[None]] = None

    # --- the entry points ------------------------------------------------------------------------------

    def store_report_waiting(self, event: CleanEvent) -> IngestResult:
        """Store ``event`` from a thread; returns once it is committed, or raises what stopped it."""
        mine = WaitingReport(event)
        self.writer.submit([mine])
        assert mine.woken is not None
        mine.woken.wait()
        if mine.error is not None:
            raise mine.error
        assert mine.result is not None
        return mine.result

    async def store_report(self, event: CleanEvent) -> IngestResult:
        """Store ``event`` from the event loop, which serves other requests until the report's group
        is stored (by the loop itself between requests, or by the writer thread)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IngestResult] = loop.create_future()
        waiting = WaitingReport(event, future)
        if not (self.in_loop or self.postgres):
            self.writer.submit([waiting])
            resolve([waiting])  # refused at shutdown; else the writer tells the loop
            return await future
        if self.writer.closed:
            raise RuntimeError("the server is shutting down")
        self._loop_waiting.append(waiting)
        flusher = self._loop_flusher
        if flusher is None or flusher.done() or flusher.get_loop() is not loop:
            self._loop_flusher = loop.create_task(self._flush_in_loop())
        elif self._loop_arrival is not None:
            self._loop_arrival.set()
        return await future

    async def store_batch(
        self, judge: Judge, admit: Admit, *, admit_blocks: bool, client_dropped: int = 0
    ) -> List[IngestResult]:
        """Judge a batch, admit its valid reports (``admit_blocks``: admission may wait on the
        network, so the loop hands it to a thread) and store the admitted ones all or nothing, with
        ``client_dropped`` added to the first one's notebook."""
        if not self.in_loop:
            return await run_in_threadpool(self._store_batch_in_thread, judge, admit, client_dropped)
        events = judge()
        if admit_blocks:
            events = await run_in_threadpool(admit, events)
        else:
            events = admit(events)
        return await self._store_batch_in_loop(events, client_dropped)

    def close(self) -> None:
        """Store what is waiting, then stop the writer (the app's shutdown)."""
        self.writer.close()

    # --- batches ------------------------------------------------------------------------------------------

    def _store_batch_in_thread(self, judge: Judge, admit: Admit, client_dropped: int) -> List[IngestResult]:
        """The batch in a thread of the pool, in a write session of its own."""
        with self.database.write_session() as session:
            # Take this process's writer turn first (core/db.py): the judging below is the CPU-heavy
            # part, and done outside the turn it starves the turn's holder of the GIL between queries.
            session.begin()
            events = admit(judge())
            if not (events or client_dropped):
                return []
            return ingest_events(
                session=session, events=events, client_dropped=client_dropped, known=self.known
            ).results

    async def _store_batch_in_loop(self, events: List[CleanEvent], client_dropped: int) -> List[IngestResult]:
        """Together with the other batches waiting when that needs no waiting; one that reports
        dropped reports in a transaction of its own, in the loop if the turn is free; else (or if the
        database would make the loop wait) in a thread of the pool."""
        if not (events or client_dropped):
            return []
        if not client_dropped:
            if self.writer.closed:
                raise RuntimeError("the server is shutting down")
            loop = asyncio.get_running_loop()
            waiting = WaitingBatch(events, loop.create_future())
            self._loop_batches.append(waiting)
            flusher = self._batch_flusher
            if flusher is None or flusher.done() or flusher.get_loop() is not loop:
                self._batch_flusher = loop.create_task(self._flush_batches_in_loop())
            results = await waiting.future
            if results is not None:
                return results
        else:  # wait in the loop: a thread would wait too, then for the GIL as well
            await until_the_turn_looks_free(self.database, also_in_this_process=True)
            try:
                with loop_turn(self.database) as session:
                    if session is not None:
                        results = ingest_events(
                            session=session, events=events, client_dropped=client_dropped, known=self.known
                        ).results
                        logger.debug(STORED_BATCHES, 1)
                        return results
            except UNAVAILABLE_ERRORS as error:  # rolled back; the thread below waits, or answers 503
                logger.info("batch in the loop: %s; handed to a thread", type(error).__name__)
        return await run_in_threadpool(self._store_events_waiting, events, client_dropped)

    def _store_events_waiting(self, events: List[CleanEvent], client_dropped: int) -> List[IngestResult]:
        with self.database.write_session() as session:
            return ingest_events(
                session=session, events=events, client_dropped=client_dropped, known=self.known
            ).results

    async def _flush_batches_in_loop(self) -> None:
        """Gather the batches waiting, wait for the writer turn (more gather meanwhile), store up to
        ``MAX_BATCH_GROUP`` of them in one transaction, repeat."""
        queue = self._loop_batches
        while queue:
            await gathered(queue, MAX_BATCH_GROUP)
            await until_the_turn_looks_free(self.database, also_in_this_process=True)
            group = queue[:MAX_BATCH_GROUP]
            del queue[:MAX_BATCH_GROUP]
            try:
                with loop_turn(self.database) as session:
                    if session is not None:
                        store_batches(session, group, self.known)
            except Exception as error:  # opening or closing the session failed: threads try again
                logger.info("batches in the loop: %s; handed to threads", type(error).__name__)
            finally:
                for waiting in group:  # the rest wait for the database in threads
                    waiting.finish(None)

    # --- single reports in the event loop (SQLite; PostgreSQL's known reports) --------------------------

    async def _flush_in_loop(self) -> None:
        """Gather a group (as the writer thread does, awaiting instead of sleeping), store it, repeat.

        On PostgreSQL the task keeps its connection open while reports keep coming: it waits up to
        ``LOOP_CONNECTION_IDLE_S`` for the next one, and closes the connection when it ends."""
        postgres = self.postgres
        try:
            while True:
                if not self._loop_waiting:
                    if postgres is None or self.writer.closed or not await self._next_arrival():
                        return
                await gathered(self._loop_waiting, self.max_group)
                group = self._loop_waiting[: self.max_group]
                del self._loop_waiting[: self.max_group]
                if postgres is None:  # a turn of this process's writer thread: it takes the group
                    await until_the_turn_looks_free(self.database, also_in_this_process=False)
                    self._store_in_loop_sqlite(group)
                else:
                    await self._store_in_loop_postgres(postgres, group)
        finally:
            if postgres is not None:
                await postgres.close()

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

    async def _store_in_loop_postgres(self, postgres: PostgresInLoop, group: List[WaitingReport]) -> None:
        """Store ``group`` with ``postgres``; what it leaves (see ``postgres/in_loop.py``) goes to the
        writer thread."""
        try:
            results = await postgres.store([waiting.event for waiting in group], utcnow())
            for waiting, result in zip(group, results):
                if result is not None:
                    waiting.finish(result)
        except Exception as error:  # never lose the flusher: the writer takes the group
            logger.warning("group commit in the loop: %s; handed to the writer", type(error).__name__)
        finally:
            self._hand_over([waiting for waiting in group if not waiting.finished])
            resolve(group)

    def _store_in_loop_sqlite(self, group: List[WaitingReport]) -> None:
        """Store ``group`` now if that needs no waiting; else (or on the way) the writer thread takes
        what is left."""
        try:
            with loop_turn(self.database) as session:
                if session is None:
                    self._hand_over(group)
                else:
                    store_reports(session, group, self.known, self._hand_over)
        except Exception as error:  # opening or closing the session failed: the thread tries again
            logger.info("group commit in the loop: %s; handed to the writer", type(error).__name__)
            self._hand_over([waiting for waiting in group if not waiting.finished])
        finally:
            resolve(group)  # what was stored, or refused at shutdown; the writer tells of the rest

    def _hand_over(self, group: List[WaitingReport], _error: Optional[BaseException] = None) -> None:
        """Give reports the loop would have had to wait for (or retry after ``_error``) to the writer."""
        if group:
            logger.debug(HANDED_TO_WRITER, len(group))
            self.writer.submit(group)
