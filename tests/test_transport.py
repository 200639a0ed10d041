"""Transports: the real HTTP one against real sockets on 127.0.0.1, and the in-memory one."""

from __future__ import annotations

import time
from typing import Any, Iterator, Optional

import pytest
from delivery_servers import Answer, FaultServer, SilentServer, free_port

from notebook_error_reporter.transport import (
    MAX_RESPONSE_BYTES,
    HttpTransport,
    MemoryTransport,
    Response,
    TransportError,
)


@pytest.fixture
def http() -> Iterator[HttpTransport]:
    transport = HttpTransport()
    yield transport
    transport.close()


def echo(method: str, path: str, body: Any) -> Optional[Answer]:
    if path == "/json":
        return 200, {"method": method, "body": body}, {"X-Thing": "1"}
    if path == "/moved":
        return 308, {}, {"Location": "/json"}
    if path == "/moved-301":
        return 301, {}, {"Location": "/json"}
    return None


def test_http_transport_sends_json_and_parses_the_answer(http: HttpTransport) -> None:
    with FaultServer(echo) as server:
        answer = http.request("POST", server.url + "/json", body={"a": [1, "é"]}, timeout=(1, 2))
        missing = http.request("GET", server.url + "/nowhere", timeout=(1, 2))
        agent = server.recorder.seen[0]
    assert answer.status == 200
    assert answer.data == {"method": "POST", "body": {"a": [1, "é"]}}
    assert answer.headers["x-thing"] == "1"
    assert missing.status == 404 and missing.data == {"detail": "Not Found"}
    assert agent.method == "POST"


def test_http_transport_keeps_post_and_body_through_redirects(http: HttpTransport) -> None:
    with FaultServer(echo) as server:
        for path in ("/moved", "/moved-301"):
            answer = http.request("POST", server.url + path, body={"n": 1}, timeout=(1, 2))
            assert answer.status == 200 and answer.data == {"method": "POST", "body": {"n": 1}}, path


def test_a_redirect_to_another_host_is_not_followed(http: HttpTransport) -> None:
    def portal(method: str, path: str, body: Any) -> Optional[Answer]:
        return 302, {}, {"Location": "http://portal.invalid/login"}  # a captive portal's welcome

    with FaultServer(portal) as server:
        answer = http.request("POST", server.url + "/api/v1/events/batch", body={"n": 1}, timeout=(1, 2))
        assert len(server.recorder.seen) == 1
    assert answer.status == 302


def test_nothing_listening_is_a_transport_error_at_once(http: HttpTransport) -> None:
    start = time.monotonic()
    with pytest.raises(TransportError):
        http.request("POST", f"http://127.0.0.1:{free_port()}/api", body={}, timeout=(1, 1))
    assert time.monotonic() - start < 1.0


def test_a_server_that_never_answers_times_out_after_the_read_timeout(http: HttpTransport) -> None:
    with SilentServer() as silent:
        start = time.monotonic()
        with pytest.raises(TransportError, match="(?i)timed? ?out"):
            http.request("POST", silent.url + "/api", body={}, timeout=(1, 0.3))
        elapsed = time.monotonic() - start
    assert 0.25 <= elapsed < 3.0


def test_non_json_and_oversized_answers_are_read_safely(http: HttpTransport) -> None:
    big = "x" * (MAX_RESPONSE_BYTES + 10)

    def behaviour(method: str, path: str, body: Any) -> Optional[Answer]:
        return (200, big, {}) if path == "/big" else (502, "<html>bad gateway</html>", {})

    with FaultServer(behaviour) as server:
        huge = http.request("GET", server.url + "/big", timeout=(1, 5))
        html = http.request("GET", server.url + "/html", timeout=(1, 2))
    assert huge.status == 200 and huge.data is None
    assert html.status == 502 and html.data == "<html>bad gateway</html>"  # JSON string, still parsed
    assert len(huge.text) <= 500


def test_memory_transport_is_an_idempotent_v1_server() -> None:
    memory = MemoryTransport()
    batch = {"events": [{"event_id": "a", "session_id": "s"}, {"event_id": "b", "session_id": "t"}]}
    first = memory.request(
        "POST", "http://x/api/v1/events/batch", body={**batch, "client_dropped": 2}, timeout=(1, 1)
    )
    again = memory.request("POST", "http://x/api/v1/events/batch", body=batch, timeout=(1, 1))
    assert [r["status"] for r in first.data["results"]] == ["created", "created"]
    assert [r["status"] for r in again.data["results"]] == ["duplicate", "duplicate"]
    assert memory.client_dropped == 2
    assert memory.posted_event_ids == ["a", "b", "a", "b"]
    session = memory.request("GET", "http://x/api/v1/sessions/s/events", timeout=(1, 1))
    assert session.data == [{"event_id": "a", "session_id": "s"}]
    assert memory.request("GET", "http://x/api/v1/sessions/s/events?offset=1", timeout=(1, 1)).data == []
    assert memory.request("GET", "http://x/api/v1/sessions/nobody/events", timeout=(1, 1)).status == 404
    assert memory.request("GET", "http://x/healthz", timeout=(1, 1)).status == 404


def test_memory_transport_plays_faults() -> None:
    memory = MemoryTransport(
        handler=lambda m, u, b: Response.json(503, {"detail": "down"}, {"Retry-After": "3"})
    )
    answer = memory.request("POST", "http://x/api/v1/events/batch", body={"events": []}, timeout=(1, 1))
    assert (answer.status, answer.headers["retry-after"]) == (503, "3")
    memory.reachable = False
    with pytest.raises(TransportError):
        memory.request("GET", "http://x/", timeout=(1, 1))
    assert len(memory.requests) == 2
