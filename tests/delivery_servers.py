"""Small real HTTP servers (stdlib, 127.0.0.1, free port) that misbehave in one precise way each.

The real collection server is tested elsewhere; these play the faults a notebook meets on a bad
network, reproducibly: a server that accepts connections and never answers, one that says 429
with ``Retry-After``, one that refuses some reports with 422, one that only speaks the 0.1 routes.
Each records every request (method, path, JSON body, arrival time) so a test can prove what the
client sent, how often and when.

``python tests/delivery_servers.py v1|both PORT DBFILE [DELAY]`` runs the v1 fake (``both``: with
the 0.1 routes too) as its own process, keeping what it stored in an SQLite file, so a test can
``kill -9`` it and start it again, and a benchmark can measure a client without the server
competing for its interpreter.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple

Answer = Tuple[int, Any, Dict[str, str]]


@dataclass
class Seen:
    method: str
    path: str
    body: Any
    at: float  # time.monotonic() on arrival


class Recorder:
    """The requests a server saw, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seen: List[Seen] = []

    def add(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def batches(self) -> List[Seen]:
        with self._lock:
            return [s for s in self.seen if s.method == "POST" and s.path == "/api/v1/events/batch"]

    def posted_event_ids(self) -> List[str]:
        return [e["event_id"] for s in self.batches() if isinstance(s.body, dict) for e in s.body["events"]]


class EventStore:
    """What a v1 server keeps: events by id (idempotent), in memory or in an SQLite file."""

    def __init__(self, path: str = ":memory:") -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("CREATE TABLE IF NOT EXISTS events (event_id TEXT PRIMARY KEY, body TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS dropped (n INTEGER)")
        self._db.execute("CREATE TABLE IF NOT EXISTS receipts (event_id TEXT)")  # every post, repeats too

    def add(self, events: List[Dict[str, Any]], client_dropped: int) -> List[Dict[str, Any]]:
        results = []
        with self._lock:
            self._db.execute("BEGIN")
            for event in events:
                self._db.execute("INSERT INTO receipts VALUES (?)", (event["event_id"],))
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO events VALUES (?, ?)", (event["event_id"], json.dumps(event))
                )
                status = "created" if cursor.rowcount else "duplicate"
                results.append({"event_id": event["event_id"], "issue_id": 1, "status": status})
            if client_dropped:
                self._db.execute("INSERT INTO dropped VALUES (?)", (client_dropped,))
            self._db.execute("COMMIT")
        return results

    def events(self, session_id: Optional[str] = None) -> List[Dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT body FROM events ORDER BY rowid").fetchall()
        found = [json.loads(body) for (body,) in rows]
        return [e for e in found if session_id is None or e.get("session_id") == session_id]

    def receipts(self) -> List[str]:
        """Every event id ever posted, in order, repeats included."""
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT event_id FROM receipts ORDER BY rowid")]

    def client_dropped(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(SUM(n), 0) FROM dropped").fetchone()[0])

    def close(self) -> None:
        self._db.close()


Behaviour = Callable[[str, str, Any], Optional[Answer]]


def v1_behaviour(store: EventStore, delay: float = 0.0) -> Behaviour:
    """A correct v1 server: batch ingest with per-report results, a session's reports.

    ``delay`` seconds pass between storing a batch and answering (a slow server, or a window in
    which to kill it after it stored but before the client heard back).
    """

    def answer(method: str, path: str, body: Any) -> Optional[Answer]:
        if method == "POST" and path == "/api/v1/events/batch":
            if not isinstance(body, dict) or not isinstance(body.get("events"), list):
                return 422, {"detail": "events: field required"}, {}
            results = store.add(body["events"], int(body.get("client_dropped", 0)))
            time.sleep(delay)
            return 200, {"results": results}, {}
        parts = path.strip("/").split("/")
        if method == "GET" and parts[:3] == ["api", "v1", "sessions"] and parts[-1] == "events":
            found = store.events(parts[3])
            return (200, found, {}) if found else (404, {"detail": "Unknown session."}, {})
        return None

    return answer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        return None

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = self.path.split("?", 1)[0]
        self.server.recorder.add(Seen(self.command, path, body, time.monotonic()))
        answer = self.server.behaviour(self.command, path, body)
        status, data, headers = answer if answer is not None else (404, {"detail": "Not Found"}, {})
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _handle
    do_POST = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    behaviour: Behaviour
    recorder: Recorder


class FaultServer:
    """A threaded HTTP server on 127.0.0.1 (a free port) answering with ``behaviour``."""

    def __init__(self, behaviour: Behaviour, port: int = 0) -> None:
        self.recorder = Recorder()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.behaviour = behaviour
        self._server.recorder = self.recorder
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def retry_after_behaviour(store: EventStore, retry_after: str, times: int = 1) -> Behaviour:
    """429 with ``Retry-After`` for the first ``times`` batches, then a correct v1 server."""
    inner = v1_behaviour(store)
    left = [times]
    lock = threading.Lock()

    def answer(method: str, path: str, body: Any) -> Optional[Answer]:
        if path == "/api/v1/events/batch":
            with lock:
                if left[0] > 0:
                    left[0] -= 1
                    return 429, {"detail": "Too many reports, slow down"}, {"Retry-After": retry_after}
        return inner(method, path, body)

    return answer


def rejecting_behaviour(store: EventStore, is_bad: Callable[[Dict[str, Any]], bool]) -> Behaviour:
    """422 for any batch holding a report ``is_bad`` says is invalid; the rest as a v1 server."""
    inner = v1_behaviour(store)

    def answer(method: str, path: str, body: Any) -> Optional[Answer]:
        if method == "POST" and path == "/api/v1/events/batch" and any(is_bad(e) for e in body["events"]):
            return 422, {"detail": "events.0.error_name: String should have at most 200 characters"}, {}
        return inner(method, path, body)

    return answer


class LegacyStore:
    """What a 0.1 server keeps: usages (one per session) and their errors."""

    def __init__(self) -> None:
        self.usages: Dict[str, Dict[str, Any]] = {}
        self._lock = threading.Lock()

    def behaviour(self, method: str, path: str, body: Any) -> Optional[Answer]:
        with self._lock:
            if method == "POST" and path == "/usages/":
                usage = {"uuid": uuid.uuid4().hex, "notebook": body["notebook"], "errors": []}
                self.usages[usage["uuid"]] = usage
                return 200, usage, {}
            parts = path.strip("/").split("/")
            if method == "POST" and len(parts) == 2 and parts[0] == "errors" and parts[1] in self.usages:
                self.usages[parts[1]]["errors"].append(dict(body))
                return 200, dict(body), {}
            if method == "GET" and len(parts) == 2 and parts[0] == "usages" and parts[1] in self.usages:
                return 200, self.usages[parts[1]], {}
        return None  # 404, including every /api/v1 route


class SilentServer:
    """Accepts TCP connections and never answers a byte (a hung proxy, a frozen server)."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections: List[Tuple[socket.socket, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            self.connections.append((connection, time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for connection, _ in self.connections:
            connection.close()
        self._listener.close()

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def both_behaviour(store: EventStore, legacy: LegacyStore, delay: float = 0.0) -> Behaviour:
    """A server of this version: the v1 API and the 0.1 routes (for old clients) side by side."""
    v1 = v1_behaviour(store, delay)

    def answer(method: str, path: str, body: Any) -> Optional[Answer]:
        found = v1(method, path, body)
        return found if found is not None else legacy.behaviour(method, path, body)

    return answer


def _main(argv: List[str]) -> None:
    kind, port, path, *rest = argv
    assert kind in ("v1", "both")
    store = EventStore(path)
    delay = float(rest[0]) if rest else 0.0
    behaviour = v1_behaviour(store, delay) if kind == "v1" else both_behaviour(store, LegacyStore(), delay)
    server = FaultServer(behaviour, port=int(port))
    sys.stdout.write(f"listening {server.url}\n")
    sys.stdout.flush()
    threading.Event().wait()


if __name__ == "__main__":
    _main(sys.argv[1:])
