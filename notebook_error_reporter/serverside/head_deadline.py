"""uvicorn's httptools protocol, with a deadline for a request's head (its line and headers).

uvicorn times only the idle wait between two requests of a connection, and that timer stops at the
first byte: a client that opens connections and sends a header line now and then holds each one
(a socket, a file descriptor) for ever, and a few hundred of them starve real clients. Here every
connection must complete a request's head within ``header_timeout_seconds`` of connecting, or of
its previous answer; otherwise it gets 408 and is closed. The body has its own deadline
(``api/request_limits.py``).

uvicorn loads the class by name (``--http``), in each worker process; the deadline comes from the
settings in the environment, as the app's do.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Optional

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .core.config import Settings

PROTOCOL = "notebook_error_reporter.serverside.head_deadline:HeadDeadlineProtocol"
TOO_SLOW = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@functools.lru_cache(maxsize=1)
def header_timeout_seconds() -> float:
    return Settings.from_env().header_timeout_seconds


class HeadDeadlineProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: Optional[asyncio.TimerHandle] = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def on_headers_complete(self) -> None:
        self._stop_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)  # the next request's head is already in: nothing to time
        super().on_response_complete()
        if not pipelined and not self.transport.is_closing():
            self._start_head_timer()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _start_head_timer(self) -> None:
        self._stop_head_timer()
        self._head_timer = self.loop.call_later(header_timeout_seconds(), self._head_too_slow)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.write(TOO_SLOW)
            self.transport.close()
