"""``retrieve_errors()``: a session's reports from the server and from the local spool, as a table.

The author (or a curious user) asks "what did this session report?". The answer combines what
the server stored (``delivered: True``) with what is still waiting in the spool
(``delivered: False``); it is a plain list of dicts, so code can use it, that also renders as an
HTML table in a notebook. Every value in that table is escaped: error messages are user data.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional

from .transport import Timeout, Transport, TransportError

_DISPLAY_CHARS = 300
PAGE = 1000  # reports per request (the server's default page)
MAX_PAGES = 20
_COLUMNS = ("delivered", "when", "cell", "error", "first line", "where")


class RetrieveError(Exception):
    """The server could not be asked (unreachable, or an answer we cannot read)."""


class RetrievedErrors(List[Dict[str, Any]]):
    """A list of report dicts that shows as a readable table in Jupyter and Colab."""

    def _repr_html_(self) -> str:
        if not self:
            return "<p>No errors reported in this session.</p>"
        head = "".join(f"<th>{html.escape(name)}</th>" for name in _COLUMNS)
        rows = "".join(_row(report) for report in self)
        return (
            f'<table class="notebook-error-reporter"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table>"
        )


def _short(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= _DISPLAY_CHARS else text[: _DISPLAY_CHARS - 1] + "…"


def _where(report: Dict[str, Any]) -> str:
    frames = report.get("traceback")
    if not isinstance(frames, list) or not frames or not isinstance(frames[-1], dict):
        return ""
    last = frames[-1]
    return f"{last.get('filename', '?')}:{last.get('lineno', '?')} in {last.get('fun_name', '?')}"


def _row(report: Dict[str, Any]) -> str:
    delivered = report.get("delivered")
    cells = (
        "yes" if delivered else "not yet",
        report.get("occurred_at") or report.get("timestamp") or "",
        report.get("execution_count", ""),
        f"{report.get('error_name', '')}: {report.get('error_message', '')}",
        report.get("first_line", ""),
        _where(report),
    )
    return "<tr>" + "".join(f"<td>{html.escape(_short(cell))}</td>" for cell in cells) + "</tr>"


def _items(data: Any, *keys: str) -> List[Dict[str, Any]]:
    """The report dicts of a list or of a wrapper object (``{"items": [...]}`` and the like)."""
    if isinstance(data, dict):
        for key in keys:
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if not isinstance(data, list):
        raise RetrieveError(f"unexpected answer: {str(data)[:200]!r}")
    return [dict(item) for item in data if isinstance(item, dict)]


def fetch_session_reports(
    transport: Transport, url: str, session_id: str, legacy_usage: Optional[str], timeout: Timeout
) -> List[Dict[str, Any]]:
    """The session's reports as the server stored them; raises ``RetrieveError`` if it can't say.

    A session the server does not know yet (404) has no delivered report. A 0.1 server is asked
    through its usage id, when the sender made one for this session.
    """
    reports: List[Dict[str, Any]] = []
    try:
        for page in range(MAX_PAGES):
            address = f"{url}/api/v1/sessions/{session_id}/events?limit={PAGE}&offset={page * PAGE}"
            answer = transport.request("GET", address, timeout=timeout)
            if answer.status == 404 and page == 0:
                return _legacy_reports(transport, url, legacy_usage, timeout)
            if answer.status != 200:
                raise RetrieveError(f"HTTP {answer.status}")
            found = _items(answer.data, "items", "events", "results")
            reports.extend(found)
            if len(found) < PAGE:
                break
    except TransportError as error:
        raise RetrieveError(str(error)) from error
    return reports


def _legacy_reports(
    transport: Transport, url: str, legacy_usage: Optional[str], timeout: Timeout
) -> List[Dict[str, Any]]:
    """A session unknown to the v1 API: none delivered, or delivered to a 0.1 server's usage."""
    if legacy_usage is None:
        return []
    answer = transport.request("GET", f"{url}/usages/{legacy_usage}", timeout=timeout)
    if answer.status == 404:
        return []
    if answer.status != 200:
        raise RetrieveError(f"HTTP {answer.status}")
    return _items(answer.data, "errors")


def merge(server: Iterable[Dict[str, Any]], local: Iterable[Dict[str, Any]]) -> RetrievedErrors:
    """Server reports (delivered) then spooled ones not on the server yet (not delivered), by time."""
    merged: List[Dict[str, Any]] = []
    seen = set()
    for report in server:
        merged.append({**report, "delivered": True})
        if report.get("event_id"):
            seen.add(report["event_id"])
    merged.extend({**report, "delivered": False} for report in local if report.get("event_id") not in seen)
    merged.sort(key=_when)
    return RetrievedErrors(merged)


def _when(report: Dict[str, Any]) -> float:
    """Seconds since the epoch of a report's time (``occurred_at``, or 0.1's ``timestamp``); 0 if none."""
    text = str(report.get("occurred_at") or report.get("timestamp") or "")
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()
