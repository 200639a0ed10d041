"""Group commit: single reports that arrive together are stored in one transaction.

A transaction's fixed cost (a dozen statements and the commit) is many times one report's rows, so
storing each single-report request in a transaction of its own made the server spend its time on
transactions, and concurrent SQLite writers queued in SQLite's busy handler, which sleeps. Here
the request threads of one process take turns as the *leader*: the leader takes every report
waiting (up to ``max_group``), stores them with one ``ingest_events`` call in a write session it
opens for the group, hands each waiting thread its result, and passes the lead to the oldest
report still waiting. A request that does not lead never opens a session, so it never waits for
the writer turn (``core/db.py``) either. No thread
of its own, nothing held in memory that a request has not waited for: every caller returns only
after its report is committed (or with the error that stopped it).

The results are those of storing the reports one after another in arrival order (the same report
sent twice at once: the first is created, the second is a duplicate). If the shared transaction
fails for a reason other than the database being unavailable, each report is stored again on its
own, so one report's trouble is its own request's answer only.
"""

from __future__ import annotations

import threading
from typing import List, Optional

from sqlalchemy.orm import Session

from .core.db import UNAVAILABLE_ERRORS, Database
from .ingest import IngestResult, ingest_events
from .known_ids import KnownIds
from .scrub import CleanEvent

MAX_GROUP = 100


class _Waiting:
    """One report and the thread waiting for it: woken with a result, an error, or the lead."""

    __slots__ = ("event", "result", "error", "woken")

    def __init__(self, event: CleanEvent) -> None:
        self.event = event
        self.result: Optional[IngestResult] = None
        self.error: Optional[BaseException] = None
        self.woken = threading.Event()

    @property
    def finished(self) -> bool:
        return self.result is not None or self.error is not None

    def finish(self, result: Optional[IngestResult] = None, error: Optional[BaseException] = None) -> None:
        self.result, self.error = result, error
        self.woken.set()


class GroupCommit:
    """Store single reports, each caller's together with whatever else is waiting (see module)."""

    def __init__(
        self, database: Database, known: Optional[KnownIds] = None, max_group: int = MAX_GROUP
    ) -> None:
        self.database = database
        self.known = known if known is not None else KnownIds()
        self.max_group = max_group
        self._lock = threading.Lock()
        self._waiting: List[_Waiting] = []
        self._leading = False
        self.groups = 0  # transactions made (for tests and the benchmark)

    def ingest(self, event: CleanEvent) -> IngestResult:
        """Store ``event``; returns once it is committed (or raises what stopped it)."""
        mine = _Waiting(event)
        with self._lock:
            self._waiting.append(mine)
            lead = not self._leading
            self._leading = True
        if not lead:
            mine.woken.wait()
        if not mine.finished:  # first in line, or handed the lead: store the next group
            self._lead()
        if mine.error is not None:
            raise mine.error
        assert mine.result is not None
        return mine.result

    def _lead(self) -> None:
        with self._lock:
            group = self._waiting[: self.max_group]
            del self._waiting[: self.max_group]
        try:
            with self.database.write_session() as session:
                self._store(session, group)
        finally:
            for waiting in group:  # never leave a thread waiting, whatever happened
                if not waiting.finished:
                    waiting.finish(error=RuntimeError("group commit: report not stored"))
            with self._lock:
                if self._waiting:
                    self._waiting[0].woken.set()  # the oldest waiting report's thread leads next
                else:
                    self._leading = False

    def _store(self, session: Session, group: List[_Waiting]) -> None:
        self.groups += 1
        try:
            summary = ingest_events(session=session, events=[w.event for w in group], known=self.known)
        except UNAVAILABLE_ERRORS as error:  # every report would fail alike: all get the 503
            for waiting in group:
                waiting.finish(error=error)
            return
        except Exception as error:
            if len(group) == 1:
                group[0].finish(error=error)
            else:
                self._one_by_one(session, group)
            return
        for waiting, result in zip(group, summary.results):
            waiting.finish(result)

    def _one_by_one(self, session: Session, group: List[_Waiting]) -> None:
        for waiting in group:
            try:
                result = ingest_events(session=session, events=[waiting.event], known=self.known).results[0]
                waiting.finish(result)
            except Exception as error:
                waiting.finish(error=error)
