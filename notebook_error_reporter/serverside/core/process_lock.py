"""The writer's turn across the worker processes of one SQLite file: an advisory lock on a file beside it.

SQLite lets one connection write at a time. A second writer waits in SQLite's busy handler, which
sleeps in steps of up to 100 ms before it looks again, so with two worker processes (``--workers
2``) each found the other's write lock taken over and over: batches were stored more slowly than
by one worker, and one in a hundred waited seconds. Within a process, writers take turns on a
Python lock (``WriterTurns``); across processes they now also take turns on ``flock`` on
``<database file>-turn``, which answers at once: a waiting writer looks again every half
millisecond or so, and the event loop, which must not wait, only tries (``try_acquire``).

The lock is advisory and only between our processes: anything else that writes to the file (the
``sqlite3`` shell, a backup) still meets SQLite's own lock, as before. Where ``flock`` does not
exist (Windows) or the file cannot be made, there is no cross-process turn, only SQLite's lock.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Optional

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger("notebook_error_reporter.server")

# A waiting writer looks again after this long, doubling up to the longest.
FIRST_POLL_S = 0.0002
LONGEST_POLL_S = 0.002


class ProcessLock:
    """An exclusive ``flock`` on ``path``, held by at most one thread of this process at a time (the
    caller's Python lock sees to that: ``flock`` does not exclude threads sharing a descriptor)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._descriptor: Optional[int] = None
        self._pid = 0

    @classmethod
    def beside(cls, database_file: str) -> Optional[ProcessLock]:
        """The lock for ``database_file``, or None where there can be none (no ``flock``)."""
        if fcntl is None:  # pragma: no cover - Windows
            return None
        return cls(database_file + "-turn")

    def try_acquire(self) -> bool:
        """Take the lock if no other process holds it; never waits. True also if the lock file
        cannot be had at all (then SQLite's own lock is all there is)."""
        descriptor = self._open()
        if descriptor is None:
            return True
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def acquire(self, timeout: float) -> bool:
        """Take the lock, waiting up to ``timeout`` seconds; False if it stayed taken."""
        deadline = time.monotonic() + timeout
        pause = FIRST_POLL_S
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, LONGEST_POLL_S)
        return True

    def release(self) -> None:
        if self._descriptor is not None and self._pid == os.getpid():
            fcntl.flock(self._descriptor, fcntl.LOCK_UN)

    def _open(self) -> Optional[int]:
        """The lock file's descriptor, opened once per process (a forked child opens its own); None
        if it cannot be made (said once)."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            try:
                self._descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as error:
                logger.warning("no writer turns across processes (%s): %s", self.path, error)
                self._descriptor = None
        return self._descriptor
