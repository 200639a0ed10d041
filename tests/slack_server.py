"""A fake Slack incoming webhook on 127.0.0.1: records every request and answers as told.

Tests use it instead of a mock so that the real client code (``requests``, JSON encoding,
timeouts, headers) runs end to end. Queue replies with :meth:`SlackServer.reply` (a 429 with
``Retry-After``, a 500, a 404...); once the queue is empty every post gets Slack's ``200 ok``.
``delay`` makes every answer slow, to show that a failing cell does not wait for it.

    with SlackServer() as slack:
        slack.reply(429, headers={"Retry-After": "1"})
        reporter = ErrorSlack(notebook="nb", slack_webhook=slack.webhook)
        ...
        post = slack.wait_for(1)[0]
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional

WEBHOOK_PATH = "/services/T000TEST/B000TEST/secretwebhooktoken"


@dataclass
class Reply:
    """One planned answer."""

    status: int = 200
    body: str = "ok"
    headers: Dict[str, str] = field(default_factory=dict)


@dataclass
class Received:
    """One request as the server saw it, with the status it answered."""

    path: str
    headers: Dict[str, str]
    body: bytes
    at: float
    status: int

    @property
    def json(self) -> Any:
        """The body parsed as JSON; raises if the client sent anything else."""
        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self) -> str:
        """The decoded body, for asserting what must never be in it."""
        return self.body.decode("utf-8")


class SlackServer:
    """A ``ThreadingHTTPServer`` on a free port of 127.0.0.1, started and stopped as a context."""

    def __init__(self, delay: float = 0.0, port: int = 0) -> None:
        """``port=0`` takes a free one; a given port lets a test bring a "down" webhook back up."""
        self.delay = delay
        self.received: List[Received] = []
        self._replies: List[Reply] = []
        self._condition = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-slack", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def webhook(self) -> str:
        """A webhook URL shaped like Slack's, whose last part is the secret."""
        return self.url + WEBHOOK_PATH

    def reply(
        self, status: int, body: str = "", headers: Optional[Dict[str, str]] = None, times: int = 1
    ) -> None:
        """Answer the next ``times`` posts with ``status`` (then go back to ``200 ok``)."""
        with self._condition:
            self._replies.extend(Reply(status, body, dict(headers or {})) for _ in range(times))

    def posts(self) -> List[Received]:
        """A snapshot of every request received so far."""
        with self._condition:
            return list(self.received)

    def accepted(self) -> List[Received]:
        """The requests answered with a 2xx: what would have appeared in the channel."""
        return [post for post in self.posts() if 200 <= post.status < 300]

    def wait_for(self, count: int, timeout: float = 10.0) -> List[Received]:
        """Wait until at least ``count`` requests arrived; fail loudly if they do not."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    got = len(self.received)
                    raise AssertionError(f"expected {count} posts within {timeout} s, got {got}")
                self._condition.wait(left)
            return list(self.received)

    def _next_reply(self) -> Reply:
        with self._condition:
            return self._replies.pop(0) if self._replies else Reply()

    def _record(self, received: Received) -> None:
        with self._condition:
            self.received.append(received)
            self._condition.notify_all()

    def _handler_class(self) -> type:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if server.delay:
                    time.sleep(server.delay)
                reply = server._next_reply()
                server._record(
                    Received(self.path, dict(self.headers.items()), body, time.monotonic(), reply.status)
                )
                payload = reply.body.encode("utf-8") if reply.body else b"ok" if reply.status < 300 else b""
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep tests quiet
                pass

        return Handler

    def __enter__(self) -> SlackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)


def outside_code(mrkdwn: str) -> str:
    """A Slack mrkdwn text without its code spans and blocks: what Slack formats and links."""
    return _CODE.sub("", mrkdwn)


def mrkdwn_texts(payload: Any) -> List[str]:
    """Every ``text`` of a Slack payload (the fallback, sections, fields, context elements)."""
    if isinstance(payload, dict):
        texts = [payload["text"]] if isinstance(payload.get("text"), str) else []
        return texts + [text for value in payload.values() for text in mrkdwn_texts(value)]
    if isinstance(payload, list):
        return [text for value in payload for text in mrkdwn_texts(value)]
    return []
