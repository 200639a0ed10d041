"""Counters of what a reporter did, readable as ``reporter.stats`` by the curious and by tests."""

from __future__ import annotations

import threading
from typing import Dict

_FIELDS = ("captured", "dropped", "sent", "failed")


class ReporterStats:
    """Thread-safe counters: the sender thread and the notebook's thread both update them.

    * captured: failing cells seen (after ``ignore``), * dropped: reports not delivered on purpose
      (``before_send`` said no or raised, a full spool, a server's 4xx), * sent: delivered,
    * failed: the reporter's own failures (logged to the ``notebook_error_reporter`` logger).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Dict[str, int] = dict.fromkeys(_FIELDS, 0)

    def add(self, name: str, amount: int = 1) -> None:
        if name not in self._counts:
            raise KeyError(name)
        with self._lock:
            self._counts[name] += amount

    def __getattr__(self, name: str) -> int:
        counts = self.__dict__.get("_counts", {})
        if name in counts:
            return int(counts[name])
        raise AttributeError(name)

    def as_dict(self) -> Dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def __repr__(self) -> str:
        inner = ", ".join(f"{key}={value}" for key, value in self.as_dict().items())
        return f"ReporterStats({inner})"
