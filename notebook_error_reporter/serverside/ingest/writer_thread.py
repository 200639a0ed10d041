"""The process's writer thread: it stores the single reports handed to it, those waiting together in
one transaction (a group commit), and hands each caller its result.

It takes every report waiting (up to ``max_group``), after pausing while more keep arriving
(``_gather``), stores them in a write session of its own, and wakes each caller: a thread, or the
event loop of a future (one call into each loop per group). It starts on the first report and ends
after a second without any, so an app that is dropped (as in tests) leaves no thread behind.
See docs/design.md.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Dict, List, Optional

from ..core.db import Database
from .known_ids import KnownIds
from .waiting import GATHER_MAX_S, GATHER_PAUSE_S, WaitingReport, resolve, store_reports

logger = logging.getLogger("notebook_error_reporter.server")

IDLE_EXIT_S = 1.0


class WriterThread:
    """Stores the reports handed to it (``submit``) in groups; see the module docstring."""

    def __init__(self, database: Database, known: KnownIds, max_group: int) -> None:
        self.database = database
        self.known = known
        self.max_group = max_group
        self._ready = threading.Condition()
        self._waiting: List[WaitingReport] = []
        self._thread: Optional[threading.Thread] = None
        self._closed = False

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def closed(self) -> bool:
        return self._closed

    def submit(self, group: List[WaitingReport]) -> None:
        """Store ``group`` (with whatever else waits); after ``close`` each report fails at once."""
        with self._ready:
            if self._closed:
                error = RuntimeError("the server is shutting down")
                for waiting in group:
                    waiting.finish(error=error)
                return
            self._waiting.extend(group)
            if self._thread is None:
                self._thread = threading.Thread(target=self._write, name="notebook-error-writer", daemon=True)
                self._thread.start()
            else:
                self._ready.notify()

    def close(self) -> None:
        """Store what is waiting, then stop (the app's shutdown)."""
        with self._ready:
            self._closed = True
            thread = self._thread
            self._ready.notify_all()
        if thread is not None:
            thread.join(timeout=30)

    def _write(self) -> None:
        while True:
            with self._ready:
                if not self._waiting and not self._closed:
                    self._ready.wait(IDLE_EXIT_S)
                if not self._waiting:
                    self._thread = None  # idle (or closed): the next report starts a new thread
                    return
            self._gather()
            with self._ready:
                group = self._waiting[: self.max_group]
                del self._waiting[: self.max_group]
            self._store_group(group)

    def _gather(self) -> None:
        """Let the group grow while reports keep coming: pause briefly, go once a pause brought none.

        The writer and the event loop share the GIL, so a writer that took the waiting reports at
        once took the few the loop had parsed so far; a pause gives the loop the GIL to parse the
        rest. A lone report waits one pause (0.2 ms); a steady stream at most 5 ms.
        """
        deadline = time.monotonic() + GATHER_MAX_S
        seen = len(self._waiting)
        while seen < self.max_group and not self._closed and time.monotonic() < deadline:
            time.sleep(GATHER_PAUSE_S)
            now = len(self._waiting)
            if now == seen:
                return
            seen = now

    def _store_group(self, group: List[WaitingReport]) -> None:
        try:
            with self.database.write_session() as session:
                store_reports(session, group, self.known)
        except Exception as error:  # opening or closing the session failed: every report alike
            logger.warning("group commit: %s", type(error).__name__)
            for waiting in group:
                if not waiting.finished:
                    waiting.finish(error=error)
        finally:
            for waiting in group:  # never leave anyone waiting, whatever happened
                if not waiting.finished:
                    waiting.finish(error=RuntimeError("group commit: report not stored"))
            _wake(group)


def _wake(group: List[WaitingReport]) -> None:
    """One call into each event loop that has futures in ``group``."""
    loops: Dict[asyncio.AbstractEventLoop, List[WaitingReport]] = {}
    for waiting in group:
        if waiting.future is not None:
            loops.setdefault(waiting.future.get_loop(), []).append(waiting)
    for loop, items in loops.items():
        try:
            loop.call_soon_threadsafe(resolve, items)
        except RuntimeError:  # that loop is closed: nobody is waiting any more
            pass
