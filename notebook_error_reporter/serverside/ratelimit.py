"""Flood protection with the ``limits`` library: per client address (hashed) and per session, and
a third bucket for wrong admin tokens per address (guessing the token is slowed to a crawl).

The storage is ``memory://`` by default: exact for one worker process, and each worker counting on
its own otherwise. For several workers or machines, point ``RATELIMIT_STORAGE_URL`` at Redis
(``redis://host:6379``; needs the ``redis`` package) so they share the counts.

The strategy is the library's sliding window counter: this window's count plus the previous
window's, weighted by how much of it still overlaps the last N seconds. Cheap (two counters per
key, whatever the traffic) and never lets more than the limit through in any window.

The memory storage's clean-up runs once a second on one long-lived thread (``PacedMemoryStorage``)
instead of on a new thread every 10 ms of traffic, and the storage holds at most ``MAX_MEMORY_KEYS``
counters: a crowd of new addresses and sessions evicts the oldest counters (those of past windows
first) rather than growing the server's memory with every stranger seen in the last two windows.

A full bucket answers 429 with ``Retry-After``, which our client honours. If the storage itself
fails (Redis down), requests are let through and a warning is logged: losing flood protection for a
while is better than losing every report.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import threading
import time
import weakref
from typing import Any, Optional, Tuple

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

logger = logging.getLogger("notebook_error_reporter.server")
MEMORY_EXPIRY_INTERVAL_S = 1.0
# About 0.4 KB a counter (its key, count, expiry and lock): 20 MB at most. A counter lives two
# windows; this holds both windows' counters of some 25,000 clients before evicting any.
MAX_MEMORY_KEYS = 50_000


class PacedMemoryStorage(MemoryStorage):
    """``limits``' memory storage, with its expired counters dropped once a second by one long-lived
    thread, and at most ``max_keys`` counters.

    ``MemoryStorage`` starts a ``threading.Timer`` of 10 ms on every hit that finds the previous one
    finished: under load, a hundred threads a second, each start making the event loop wait for the
    new thread to come up (a tenth of the loop's time at 1,400 requests/s; one a second still made
    it wait up to tens of milliseconds on a loaded machine). Its reads already ignore expired
    counters (``get`` drops them), so the clean-up only bounds memory, and a thread that sleeps
    between rounds does that without ever being started again. It is started by the first hit (in
    the process that counts: a forked worker starts its own) and ends once the storage is gone. The
    hook overridden is the library's private scheduler; a test
    (``test_memory_storage_cleans_up_on_one_thread``) notices if a new version renames it.
    """

    def __init__(self, uri: Optional[str] = None, max_keys: int = MAX_MEMORY_KEYS, **options: Any) -> None:
        self.max_keys = max_keys
        self.cleaner: Optional[threading.Thread] = None
        self._cleaner_pid = 0
        self._starting = threading.Lock()
        super().__init__(uri, **options)

    def evict_oldest(self) -> None:
        """Drop the counters made first (the storage's dicts keep insertion order) down to
        ``max_keys``, so the one ``incr`` adds next keeps the bound. A counter of a past window
        was made before any of the current one; an evicted counter only starts again from 0."""
        for table in (self.storage, self.locks):
            excess = len(table) - self.max_keys + 1
            if excess > 0:
                # One C call, so no other thread's insert can come between (the GIL is held).
                for key in list(itertools.islice(table, excess)):
                    self.storage.pop(key, None)
                    self.expirations.pop(key, None)
                    self.locks.pop(key, None)

    def expire(self) -> None:
        """Drop the counters expired by now (the clean-up thread's round). It works on a copy of the
        expiry table taken in one C call, so the event loop's counting beside it raises nothing."""
        now = time.time()
        for key, expiry in list(self.expirations.items()):
            if expiry <= now:
                self.storage.pop(key, None)
                self.expirations.pop(key, None)
                self.locks.pop(key, None)

    def _MemoryStorage__schedule_expiry(self) -> None:
        # Called by every ``incr``, before it may add a counter.
        if len(self.storage) >= self.max_keys or len(self.locks) >= self.max_keys:
            self.evict_oldest()
        if self._cleaner_pid != os.getpid():
            self._start_cleaner()

    def _start_cleaner(self) -> None:
        with self._starting:
            if self._cleaner_pid == os.getpid():
                return
            thread = threading.Thread(
                target=_clean_up_while_alive,
                args=(weakref.ref(self),),
                name="rate-limit-clean-up",
                daemon=True,  # never keeps a finished process waiting
            )
            thread.start()
            self.cleaner = thread
            self._cleaner_pid = os.getpid()


def _clean_up_while_alive(storage_ref: weakref.ReferenceType[PacedMemoryStorage]) -> None:
    """Every ``MEMORY_EXPIRY_INTERVAL_S``, drop the storage's expired counters; end once it is gone
    (the thread holds no reference to it between rounds)."""
    while True:
        time.sleep(MEMORY_EXPIRY_INTERVAL_S)
        storage = storage_ref()
        if storage is None:
            return
        storage.expire()
        del storage


# ``limits``' ``Storage.__init_subclass__`` wraps a subclass's storage methods in its error wrapper,
# already-wrapped inherited ones too: our subclass would pay two wrappers per call, ten function
# calls per sliding-window hit instead of five (a third of a hit's cost). The methods are the
# library's own, unchanged, so the subclass takes them back as ``MemoryStorage`` has them.
WRAPPED_STORAGE_METHODS = ("incr", "get", "get_expiry", "check", "reset", "clear")
for _name in WRAPPED_STORAGE_METHODS:
    setattr(PacedMemoryStorage, _name, getattr(MemoryStorage, _name))
del _name


class RateLimiter:
    """Limits by kind (``address``, ``session``, ``token_failure``); ``hit``: None or seconds to wait."""

    def __init__(
        self, storage_url: str, *, per_address: str, per_session: str, token_failures: str = "20/minute"
    ) -> None:
        in_memory = storage_url.split(":", 1)[0] == "memory"
        self.storage = PacedMemoryStorage(storage_url) if in_memory else storage_from_string(storage_url)
        # Counting in this process's memory never waits: callers may do it in the event loop.
        self.in_process = isinstance(self.storage, MemoryStorage)
        # A sliding window counter keeps two counters per key. The moving window kept a timestamp
        # per request, copied by the memory storage's expiry thread every 10 ms: under load that
        # thread alone took a fifth of the server's CPU, and memory grew with the traffic.
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        self.limits = {
            "address": parse(per_address),
            "session": parse(per_session),
            "token_failure": parse(token_failures),
        }

    def hit(self, kind: str, key: str, cost: int = 1) -> Optional[int]:
        """Count ``cost`` requests of ``key`` against the ``kind`` limit; None if allowed, else Retry-After.

        A refused hit counts nothing. If the storage fails (Redis down), the hit is let through.
        """
        item: RateLimitItem = self.limits[kind]
        try:
            if self.strategy.hit(item, kind, key, cost=cost):
                return None
            stats = self.strategy.get_window_stats(item, kind, key)
        except Exception as error:  # the storage is down: fail open
            logger.warning("rate limiter storage failed, request let through: %s", type(error).__name__)
            return None
        return max(1, math.ceil(stats.reset_time - time.time()))

    def room(self, kind: str, key: str) -> Tuple[int, int]:
        """How many more requests ``key`` may make against the ``kind`` limit now, and the seconds
        until there is room again (for Retry-After when there is none). Counts nothing; a storage
        that fails leaves the limit's whole amount."""
        item: RateLimitItem = self.limits[kind]
        try:
            stats = self.strategy.get_window_stats(item, kind, key)
        except Exception as error:  # the storage is down: fail open
            logger.warning("rate limiter storage failed, request let through: %s", type(error).__name__)
            return item.amount, 1
        return max(0, stats.remaining), max(1, math.ceil(stats.reset_time - time.time()))

    def reset(self) -> None:
        """Forget all counts (tests, and an operator who changed the limits)."""
        try:
            self.storage.reset()
        except Exception:  # pragma: no cover - best effort
            logger.warning("rate limiter storage could not be reset")
