"""ErrorStore: keep reports in memory, for a notebook's own use or for trying the reporter out."""

from __future__ import annotations

import collections
import threading
from typing import Any, Deque, Optional, Tuple, Type

from ..reporter import DEFAULT_IGNORE, BeforeSend, Reporter
from ..retrieved import RetrievedErrors
from ..types import EventMessageType


class ErrorStore(Reporter):
    """Reports stay in this process; ``retrieve_errors()`` lists them (oldest first).

    :param max_events: reports kept; beyond it the oldest are dropped (and counted), so an error
        in a loop cannot eat the kernel's memory.
    """

    def __init__(
        self,
        notebook: str = "unknown",
        *,
        max_events: int = 1000,
        before_send: Optional[BeforeSend] = None,
        ignore: Tuple[Type[BaseException], ...] = DEFAULT_IGNORE,
        quiet: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(notebook, before_send=before_send, ignore=ignore, quiet=quiet, **options)
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        self.max_events = max_events
        self._events: Deque[EventMessageType] = collections.deque()
        self._lock = threading.Lock()

    def _deliver(self, event: EventMessageType) -> None:
        with self._lock:
            self._events.append(event)
            if len(self._events) > self.max_events:
                self._events.popleft()
                self.stats.add("dropped")
        self.stats.add("sent")

    def retrieve_errors(self) -> RetrievedErrors:
        """The stored reports as dicts of the wire format, the same shape every backend returns."""
        with self._lock:
            return RetrievedErrors(dict(event) for event in self._events)

    @property
    def error_details(self) -> RetrievedErrors:
        """The 0.1 name for :meth:`retrieve_errors`."""
        return self.retrieve_errors()

    def clear(self) -> None:
        with self._lock:
            self._events.clear()
