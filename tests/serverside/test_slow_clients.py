"""Slow clients against a real uvicorn server, with raw sockets: a half-sent head or body gets 408
within its deadline and the connection is closed; hundreds of such connections do not stop a real
request from being served; a spent address is refused before its body is read."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path
from typing import Iterator, List, Tuple

import httpx
import pytest

from .helpers import make_event
from .live_server import LiveServer, start_server

HEAD_S = 1.0
BODY_S = 1.5


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path_factory.mktemp("slow"),
        header_timeout_seconds=HEAD_S,
        body_timeout_seconds=BODY_S,
        rate_limit_address="100000/minute",
    )
    try:
        yield live
    finally:
        live.stop()


def connect(server: LiveServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def answer_and_close(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_a_half_sent_body_gets_408_within_the_deadline(server: LiveServer) -> None:
    answer, elapsed = answer_to(
        server,
        b"POST /api/v1/events HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{\"event_id\": ",
    )
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"did not arrive within 1.5 s" in answer
    assert BODY_S - 0.2 <= elapsed <= BODY_S + 2.0, elapsed


def answer_to(server: LiveServer, start: bytes, piece: bytes = b"", times: int = 0) -> Tuple[bytes, float]:
    """Send ``start``, then ``piece`` every 0.1 s, ``times`` times (or until the server closes); the
    answer and the seconds from the first byte to it."""
    with connect(server) as sock:
        started = time.monotonic()
        sock.sendall(start)
        with contextlib.suppress(OSError):
            for _ in range(times):
                sock.sendall(piece)
                time.sleep(0.1)
        answer = answer_and_close(sock)
        return answer, time.monotonic() - started


def test_a_body_dribbled_a_byte_at_a_time_is_cut_at_the_same_deadline(server: LiveServer) -> None:
    # One byte every 0.1 s: never idle, but never done either.
    head = b"POST /api/v1/events HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n"
    answer, elapsed = answer_to(server, head, b" ", 40)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert elapsed <= BODY_S + 2.0, elapsed


def test_a_half_sent_head_gets_408_and_is_closed(server: LiveServer) -> None:
    # A header line now and then (slowloris).
    head = b"POST /api/v1/events HTTP/1.1\r\nHost: test\r\n"
    answer, elapsed = answer_to(server, head, b"X-Slow: 1\r\n", 30)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert elapsed <= HEAD_S + 2.0, elapsed


def test_a_connection_that_says_nothing_is_closed(server: LiveServer) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        answer_and_close(sock)
        assert time.monotonic() - started <= HEAD_S + 2.0


def test_many_half_open_connections_do_not_stop_a_real_request(server: LiveServer) -> None:
    held: List[socket.socket] = []
    try:
        for n in range(300):
            sock = connect(server)
            if n % 2:
                sock.sendall(b"POST /api/v1/events HTTP/1.1\r\nHost: test\r\n")
            else:
                sock.sendall(b"POST /api/v1/events HTTP/1.1\r\nHost: test\r\nContent-Length: 500\r\n\r\n{")
            held.append(sock)
        started = time.monotonic()
        answer = httpx.post(server.url("/api/v1/events"), json=make_event(), timeout=10)
        assert answer.status_code == 201, answer.text
        assert time.monotonic() - started < 1.0
        time.sleep(BODY_S + 1.5)
        for sock in held:  # every slow connection was answered 408 and closed by the server
            sock.settimeout(5)
            assert answer_and_close(sock).startswith(b"HTTP/1.1 408")
    finally:
        for sock in held:
            sock.close()


def test_a_spent_address_is_refused_before_its_body_is_read(tmp_path: Path) -> None:
    spent = start_server(tmp_path, rate_limit_address="1/minute")
    try:
        assert httpx.post(spent.url("/api/v1/events"), json=make_event(), timeout=10).status_code == 201
        answer, elapsed = answer_to(
            spent,
            b"POST /api/v1/events/batch HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2000000\r\n\r\n",
        )
        assert elapsed < 1.0, "answered at once, not after the body's deadline"
        assert answer.startswith(b"HTTP/1.1 429"), answer[:200]
        assert b"retry-after" in answer.lower()
    finally:
        spent.stop()
