"""How requests reach a server: an interface, the real HTTP one, and an in-memory one for tests.

The sender (``sender.py``) decides *what* to send and what an answer means; a transport only
carries one request and brings back status, headers and parsed JSON, or raises
``TransportError`` when there was no HTTP answer at all (refused, reset, timed out). Keeping the
two apart lets the delivery rules be tested against ``MemoryTransport`` with no sockets, and the
real ``HttpTransport`` be swapped (a proxy-aware or instrumented one) without touching them.
"""

from __future__ import annotations

import abc
import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import parse_qs, urljoin, urlsplit

from ._version import __version__

Timeout = Tuple[float, float]  # (connect, read) seconds; always both set
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
_REDIRECTS = (301, 302, 307, 308)  # followed, on the same host, with the same method and body
_MAX_REDIRECTS = 3


class TransportError(Exception):
    """No HTTP answer: the connection was refused, reset, or timed out. Always worth a retry."""


@dataclass(frozen=True)
class Response:
    """An HTTP answer: status, headers with lower-case names, the JSON body (None if not JSON)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    data: Any = None
    text: str = ""  # the start of the body, for log lines

    @classmethod
    def json(cls, status: int, data: Any, headers: Optional[Mapping[str, str]] = None) -> Response:
        return cls(status, {k.lower(): v for k, v in (headers or {}).items()}, data, json.dumps(data)[:500])


class Transport(abc.ABC):
    """Carries one request. Implementations must be safe to call from the sender thread."""

    @abc.abstractmethod
    def request(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        timeout: Timeout,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Response:
        """Send ``body`` (JSON-serialisable, or None) with extra ``headers``; return the answer, or
        raise TransportError."""

    def close(self) -> None:
        """Release connections; the transport may still be used afterwards (it reconnects)."""
        return None


class HttpTransport(Transport):
    """``requests`` with a keep-alive session per process (never reuse sockets across a fork)."""

    def __init__(self) -> None:
        self._session: Any = None
        self._pid = 0
        self._lock = threading.Lock()

    def _get_session(self) -> Any:
        with self._lock:
            if self._session is None or self._pid != os.getpid():
                import requests  # imported here: the package imports fast where nothing is sent

                session = requests.Session()
                session.headers["User-Agent"] = f"notebook-error-reporter/{__version__}"
                self._session, self._pid = session, os.getpid()
            return self._session

    def request(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        timeout: Timeout,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Response:
        import requests

        session = self._get_session()
        try:
            for _ in range(_MAX_REDIRECTS + 1):
                answer = session.request(
                    method,
                    url,
                    json=body,
                    timeout=timeout,
                    headers=headers,
                    allow_redirects=False,
                    stream=True,
                )
                location = answer.headers.get("Location")
                target = urljoin(url, location or "")
                # Followed only on the same host (an http -> https move); a captive portal's
                # redirect elsewhere is handed back as it is, and the sender retries later.
                if answer.status_code not in _REDIRECTS or not location or _host(target) != _host(url):
                    return _read(answer)
                answer.close()
                url = target
            return _read(answer)
        except requests.RequestException as error:
            raise TransportError(f"{type(error).__name__}: {error}") from error

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _read(answer: Any) -> Response:
    """Read at most ``MAX_RESPONSE_BYTES`` of the body (a hostile server cannot fill our memory)."""
    try:
        chunks: List[bytes] = []
        size = 0
        for chunk in answer.iter_content(64 * 1024):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                break
    finally:
        answer.close()
    raw = b"".join(chunks)
    text = raw[:500].decode("utf-8", "replace")
    try:
        data = json.loads(raw.decode("utf-8")) if raw and size <= MAX_RESPONSE_BYTES else None
    except ValueError:
        data = None
    return Response(answer.status_code, {k.lower(): v for k, v in answer.headers.items()}, data, text)


Handler = Callable[[str, str, Any], Optional[Response]]


class MemoryTransport(Transport):
    """Speaks the v1 API from memory, like a perfect server, and records every request.

    ``handler(method, url, body)`` runs first and may return a ``Response`` (or raise
    ``TransportError``) to play a failing server; returning None falls through to the
    built-in behaviour. ``reachable = False`` makes every request fail as if nothing listened.
    """

    def __init__(self, handler: Optional[Handler] = None) -> None:
        self.handler = handler
        self.reachable = True
        self.events: Dict[str, Dict[str, Any]] = {}
        self.requests: List[Tuple[str, str, Any]] = []
        self.client_dropped = 0
        self._lock = threading.Lock()

    def request(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        timeout: Timeout,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Response:
        with self._lock:
            self.requests.append((method, url, json.loads(json.dumps(body))))
        if not self.reachable:
            raise TransportError("ConnectionError: nothing listening (MemoryTransport)")
        if self.handler is not None:
            answer = self.handler(method, url, body)
            if answer is not None:
                return answer
        path = urlsplit(url).path.rstrip("/")
        if method == "POST" and path.endswith("/api/v1/events/batch"):
            return self._batch(body)
        parts = path.split("/")
        is_session_read = len(parts) >= 5 and parts[-4:-2] == ["v1", "sessions"] and parts[-1] == "events"
        if method == "GET" and is_session_read:
            query = parse_qs(urlsplit(url).query)
            offset = int(query.get("offset", ["0"])[0])
            limit = int(query.get("limit", ["1000"])[0])
            with self._lock:
                found = [e for e in self.events.values() if e.get("session_id") == parts[-2]]
            if not found:
                return Response.json(404, {"detail": "Unknown session."})
            return Response.json(200, found[offset : offset + limit])
        return Response.json(404, {"detail": "Not Found"})

    def _batch(self, body: Any) -> Response:
        results = []
        with self._lock:
            self.client_dropped += int(body.get("client_dropped", 0))
            for event in body["events"]:
                event_id = event["event_id"]
                status = "duplicate" if event_id in self.events else "created"
                self.events.setdefault(event_id, dict(event))
                results.append({"event_id": event_id, "issue_id": 1, "status": status})
        return Response.json(200, {"results": results})

    @property
    def posted_event_ids(self) -> List[str]:
        """Every event id ever posted, in order, repeats included (to prove exactly-once)."""
        with self._lock:
            return [
                event["event_id"]
                for method, url, body in self.requests
                if method == "POST" and url.endswith("/events/batch") and body
                for event in body["events"]
            ]
