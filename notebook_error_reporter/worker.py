"""One background daemon thread that runs delivery jobs, so no cell ever waits on the network.

Shaped like sentry-python's worker: started on first use, started again in a child after a fork
(the thread does not survive ``fork``; we compare the pid), ``submit() -> bool`` never blocks, and
``flush(timeout)`` waits for the queue to drain up to a deadline. Jobs run inside a guard: a job
that raises is logged, never propagated.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from typing import Callable, Optional

logger = logging.getLogger("notebook_error_reporter")

Job = Callable[[], None]
_STOP = object()


class BackgroundWorker:
    """A bounded queue of jobs and the daemon thread that runs them one at a time."""

    def __init__(self, name: str = "notebook-error-reporter", queue_size: int = 1000) -> None:
        self.name = name
        self._queue_size = queue_size
        self._queue: queue.Queue[object] = queue.Queue(queue_size)
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._pid: Optional[int] = None

    @property
    def is_alive(self) -> bool:
        return self._pid == os.getpid() and self._thread is not None and self._thread.is_alive()

    def _ensure_thread(self) -> None:
        if self.is_alive:
            return
        with self._lock:
            if self.is_alive:
                return
            if self._pid != os.getpid():  # forked: the old queue's lock may be held by a dead thread
                self._queue = queue.Queue(self._queue_size)
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
            self._pid = os.getpid()

    def submit(self, job: Job) -> bool:
        """Queue ``job``; False (and nothing queued) when the queue is full. Never blocks."""
        self._ensure_thread()
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            return False
        return True

    def flush(self, timeout: float) -> bool:
        """Wait until every queued job ran, at most ``timeout`` seconds; True if it drained."""
        if not self.is_alive:
            return self._queue.unfinished_tasks == 0
        deadline = time.monotonic() + max(0.0, timeout)
        done = threading.Event()
        if not self.submit(done.set):
            return False
        return done.wait(max(0.0, deadline - time.monotonic()))

    def stop(self, timeout: float = 1.0) -> None:
        """Ask the thread to finish its queue and end; wait at most ``timeout`` seconds."""
        thread = self._thread
        if thread is None or not self.is_alive:
            return
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            return
        thread.join(timeout)
        with self._lock:
            if self._thread is thread and not thread.is_alive():
                self._thread = None

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is _STOP:
                    return
                job()  # type: ignore[operator]
            except Exception:
                logger.exception("notebook_error_reporter: a background job failed")
            finally:
                self._queue.task_done()
