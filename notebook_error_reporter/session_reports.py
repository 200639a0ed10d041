"""A session's reports as the collection server stored them, merged with those still spooled.

``ErrorServer.retrieve_errors()`` asks ``GET /api/v1/sessions/{id}/events`` page by page (a 0.1
server: its usage), marks those ``delivered: True``, adds the spool's reports not on the server
yet (``delivered: False``) and orders them by time. When the server cannot say, ``RetrieveError``
carries one plain sentence why (see ``reach_problem``).
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from . import legacy_protocol
from .reach_problem import answer_problem, connection_problem, unreadable_answer
from .report_time import sort_key
from .retrieved import RetrievedErrors
from .transport import Response, Timeout, Transport, TransportError

PAGE = 1000  # reports per request (the server's default page)
MAX_PAGES = 20
UNKNOWN_SESSION = "Unknown session."  # the v1 server's 404 for a session it has no report of
ROUTE_NOT_FOUND = "Not Found"  # a FastAPI server's 404 for a route it lacks (a 0.1 server)


class RetrieveError(Exception):
    """The server could not be asked; ``str()`` says why in plain words."""


class _Reader:
    """Reads one server for one session; every failure becomes a ``RetrieveError``."""

    def __init__(self, transport: Transport, url: str, destination: str, timeout: Timeout) -> None:
        self.transport = transport
        self.url = url
        self.destination = destination
        self.timeout = timeout

    def get(self, path: str) -> Response:
        try:
            return self.transport.request("GET", self.url + path, timeout=self.timeout)
        except TransportError as error:
            cause = error.__cause__ if error.__cause__ is not None else error
            raise RetrieveError(connection_problem(cause, self.destination, self.timeout)) from error

    def reports(self, answer: Response, *keys: str) -> List[Dict[str, Any]]:
        """The report dicts of a 200 answer: a list, or a wrapper (``{"items": [...]}`` and the like)."""
        if answer.status != 200:
            raise RetrieveError(answer_problem(self.destination, answer.status))
        data = answer.data
        if isinstance(data, dict):
            data = next((data[key] for key in keys if isinstance(data.get(key), list)), data)
        if not isinstance(data, list):
            raise RetrieveError(unreadable_answer(self.destination))
        return [dict(item) for item in data if isinstance(item, dict)]


def _is_unknown_here(answer: Response) -> bool:
    """A 404 that means "no such session" (v1) or "no such route" (a 0.1 server), not a wrong address."""
    detail = answer.data.get("detail") if isinstance(answer.data, dict) else None
    return answer.status == 404 and detail in (UNKNOWN_SESSION, ROUTE_NOT_FOUND)


def fetch_session_reports(
    transport: Transport,
    url: str,
    session_id: str,
    legacy_usage: Optional[str],
    timeout: Timeout,
    destination: Optional[str] = None,
) -> List[Dict[str, Any]]:
    """The session's reports as the server stored them; raises ``RetrieveError`` if it can't say.

    A session the server does not know yet (404) has no delivered report. A 0.1 server is asked
    through its usage id, when the sender made one for this session. ``destination`` is the
    server's address as the user may see it (no password); ``url`` by default.
    """
    reader = _Reader(transport, url, destination or url, timeout)
    reports: List[Dict[str, Any]] = []
    for page in range(MAX_PAGES):
        answer = reader.get(f"/api/v1/sessions/{session_id}/events?limit={PAGE}&offset={page * PAGE}")
        if page == 0 and _is_unknown_here(answer):
            return _legacy_reports(reader, legacy_usage)
        found = reader.reports(answer, "items", "events", "results")
        reports.extend(found)
        if len(found) < PAGE:
            break
    return reports


def _legacy_reports(reader: _Reader, legacy_usage: Optional[str]) -> List[Dict[str, Any]]:
    """A session unknown to the v1 API: none delivered, or delivered to a 0.1 server's usage."""
    if legacy_usage is None:
        return []
    answer = reader.get(legacy_protocol.usage_route(legacy_usage))
    if answer.status == 404:
        return []
    return reader.reports(answer, legacy_protocol.REPORTS_FIELD)


def merge(server: Iterable[Dict[str, Any]], local: Iterable[Dict[str, Any]]) -> RetrievedErrors:
    """Server reports (delivered) and spooled ones not on the server yet (not delivered), oldest first."""
    merged: List[Dict[str, Any]] = []
    seen = set()
    for report in server:
        merged.append({**report, "delivered": True})
        if report.get("event_id"):
            seen.add(report["event_id"])
    merged.extend({**report, "delivered": False} for report in local if report.get("event_id") not in seen)
    merged.sort(key=sort_key)
    return RetrievedErrors(merged)
