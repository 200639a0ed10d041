"""Reports waiting to be stored, and storing a group of them in one transaction.

A group's results are those of storing its reports one after another in arrival order (the same
report twice: the first is created, the second a duplicate). If the shared transaction fails for
a reason other than the database being unavailable, each report (or batch) is stored again on its
own, so one report's trouble is its own request's answer only. See docs/design.md.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Callable, List, Optional, Sequence

from sqlalchemy.orm import Session

from ..core.db import UNAVAILABLE_ERRORS
from ..scrub import CleanEvent
from .known_ids import KnownIds
from .planning import IngestResult
from .transaction import ingest_events

logger = logging.getLogger("notebook_error_reporter.server")

# What the debug log says of each group (its size is the argument).
REPORTS_TRANSACTION = "%d reports in one transaction"
BATCHES_TRANSACTION = "%d batches in one transaction"
STORED_BATCHES = "%d batches stored by the event loop"
HANDED_TO_WRITER = "%d reports handed to the writer thread"

# Before storing, a group waits while more reports keep arriving: a pause this long, at most this long.
GATHER_PAUSE_S = 0.0002
GATHER_MAX_S = 0.005


class WaitingReport:
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
        """Record the outcome; a thread waiter is woken now, a future when its loop is told (``resolve``)."""
        self.result, self.error = result, error
        if self.woken is not None:
            self.woken.set()


def resolve(waiting: List[WaitingReport]) -> None:
    """In the event loop: complete the futures of finished reports (a cancelled one is left alone)."""
    for item in waiting:
        future = item.future
        if future is None or future.done() or not item.finished:
            continue
        if item.error is not None:
            future.set_exception(item.error)
        else:
            future.set_result(item.result)  # type: ignore[arg-type]


class WaitingBatch:
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


async def gathered(queue: Sequence[object], limit: int) -> None:
    """Let ``queue`` grow while more keeps arriving (serving the requests that bring it): pause,
    and go once a pause brought nothing, it holds ``limit``, or ``GATHER_MAX_S`` have passed (as
    the writer thread does, sleeping)."""
    deadline = time.monotonic() + GATHER_MAX_S
    seen = len(queue)
    while seen < limit and time.monotonic() < deadline:
        await asyncio.sleep(GATHER_PAUSE_S)
        if len(queue) == seen:
            return
        seen = len(queue)


# What to do with reports the database could not take now (fail them, or hand them to the writer).
Unavailable = Callable[[List[WaitingReport], BaseException], None]


def fail_all(group: List[WaitingReport], error: BaseException) -> None:
    """The writer thread's answer to an unavailable database: every report gets the 503."""
    for waiting in group:
        waiting.finish(error=error)


def store_reports(
    session: Session, group: List[WaitingReport], known: KnownIds, unavailable: Unavailable = fail_all
) -> None:
    """Store ``group`` in one transaction; if the database is unavailable (or would make the loop
    wait), the reports not stored yet go to ``unavailable``."""
    logger.debug(REPORTS_TRANSACTION, len(group))
    try:
        summary = ingest_events(session=session, events=[w.event for w in group], known=known)
    except UNAVAILABLE_ERRORS as error:  # every report would fail alike
        unavailable(group, error)
        return
    except Exception as error:
        if len(group) == 1:
            group[0].finish(error=error)
        else:
            _one_by_one(session, group, known, unavailable)
        return
    for waiting, result in zip(group, summary.results):
        waiting.finish(result)


def _one_by_one(
    session: Session, group: List[WaitingReport], known: KnownIds, unavailable: Unavailable
) -> None:
    for index, waiting in enumerate(group):
        try:
            result = ingest_events(session=session, events=[waiting.event], known=known).results[0]
            waiting.finish(result)
        except UNAVAILABLE_ERRORS as error:
            unavailable(group[index:], error)
            return
        except Exception as error:
            waiting.finish(error=error)


def store_batches(session: Session, group: List[WaitingBatch], known: KnownIds) -> None:
    """Store the batches of ``group`` in one transaction, or each in its own if that fails for another
    reason than the database being unavailable (whose batches are left to threads: ``finish(None)``
    by the caller)."""
    logger.debug(BATCHES_TRANSACTION, len(group))
    try:
        summary = ingest_events(
            session=session, events=[event for waiting in group for event in waiting.events], known=known
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
                waiting.finish(ingest_events(session=session, events=waiting.events, known=known).results)
                logger.debug(STORED_BATCHES, 1)
            except UNAVAILABLE_ERRORS:
                return
            except Exception as own:
                waiting.finish(error=own)
        return
    start = 0
    for waiting in group:
        waiting.finish(summary.results[start : start + len(waiting.events)])
        start += len(waiting.events)
    logger.debug(STORED_BATCHES, len(group))
