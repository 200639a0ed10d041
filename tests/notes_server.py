"""A small real HTTP server (stdlib, 127.0.0.1) speaking the client's side of the notes contract.

``POST /api/v1/events/batch`` stores reports; ``GET /api/v1/notebooks/{notebook}/notes`` answers
``{"notebook", "notes": [{fingerprint, note, note_url, fixed_in_version}]}`` with a strong ``ETag``
and ``Cache-Control``, and 304 to a matching ``If-None-Match``, as the real server does. The author
"writes" a note with ``note_every_issue``: every issue of a report that arrives (its fingerprint
by ``fingerprint.of_report``, as the server groups) then has that note. Every request is recorded
with its ``If-None-Match``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional
from urllib.parse import unquote

from notebook_error_reporter.fingerprint import of_report

NOTES_PREFIX = "/api/v1/notebooks/"


@dataclass
class Asked:
    method: str
    path: str
    if_none_match: Optional[str]
    status: int


class NotesServer:
    """Reports in, notes out; ``stop()`` makes it unreachable (connection refused)."""

    def __init__(self, port: int = 0) -> None:
        self.events: List[Dict[str, Any]] = []
        self.notes: Dict[str, Dict[str, Dict[str, Optional[str]]]] = {}  # notebook -> fingerprint -> note
        self.asked: List[Asked] = []
        self.auto_note: Optional[Dict[str, Optional[str]]] = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def note_every_issue(
        self, note: Optional[str], note_url: Optional[str] = None, fixed_in_version: Optional[str] = None
    ) -> None:
        """The note of every issue seen so far and of every one to come."""
        entry = {"note": note, "note_url": note_url, "fixed_in_version": fixed_in_version}
        with self._lock:
            self.auto_note = entry
            for event in self.events:
                self._note(event)

    def _note(self, event: Dict[str, Any]) -> None:
        if self.auto_note is not None:
            by_print = self.notes.setdefault(str(event.get("notebook")), {})
            by_print[of_report(event)] = dict(self.auto_note)

    def store(self, events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        with self._lock:
            self.events.extend(events)
            for event in events:
                self._note(event)
        return [{"event_id": e.get("event_id"), "issue_id": 1, "status": "created"} for e in events]

    def notes_body(self, notebook: str) -> bytes:
        with self._lock:
            notes = [{"fingerprint": fp, **note} for fp, note in sorted(self.notes.get(notebook, {}).items())]
        return json.dumps({"notebook": notebook, "notes": notes}, separators=(",", ":")).encode()

    def record(self, asked: Asked) -> None:
        with self._lock:
            self.asked.append(asked)

    def note_requests(self) -> List[Asked]:
        with self._lock:
            return [a for a in self.asked if a.path.startswith(NOTES_PREFIX)]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> NotesServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_for(server: NotesServer) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes, headers: Dict[str, str]) -> None:
            server.record(Asked(self.command, self.path, self.headers.get("If-None-Match"), status))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if not (path.startswith(NOTES_PREFIX) and path.endswith("/notes")):
                self._answer(404, b'{"detail":"Not Found"}', {"Content-Type": "application/json"})
                return
            body = server.notes_body(unquote(path[len(NOTES_PREFIX) : -len("/notes")]))
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            headers = {"ETag": etag, "Cache-Control": "public, max-age=60"}
            if self.headers.get("If-None-Match") == etag:
                self._answer(304, b"", headers)
                return
            self._answer(200, body, {**headers, "Content-Type": "application/json"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            if self.path != "/api/v1/events/batch" or not isinstance(body, dict):
                self._answer(404, b'{"detail":"Not Found"}', {"Content-Type": "application/json"})
                return
            results = server.store(list(body.get("events", [])))
            self._answer(200, json.dumps({"results": results}).encode(), {"Content-Type": "application/json"})

    return Handler
