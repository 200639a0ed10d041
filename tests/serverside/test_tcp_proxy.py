"""The chaos proxy's faults do what they say, on real sockets on 127.0.0.1 (fast: no API server).

Each fault is forced (probability 1) against a tiny HTTP server that counts the requests it received
whole, so a test can tell "the server never saw it" (drops) from "the server did the work and the
client never heard" (a cut response), which is what the chaos test relies on.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from typing import Callable, Iterator, List, Tuple

import pytest

from .tcp_proxy import CUT_MID_RESPONSE, DELAY, DROP_AT_ACCEPT, DROP_MID_REQUEST, Faults, TcpProxy

BODY = b'{"results": [{"status": "created"}]}' * 20
RESPONSE = b"HTTP/1.1 201 Created\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
Upstream = Tuple[socketserver.ThreadingTCPServer, List[int]]
REQUEST = b"POST /api/v1/events/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n" + b"x" * 20


class _Handler(socketserver.StreamRequestHandler):
    """Reads one request; counts it only if it arrived whole, then answers ``RESPONSE``."""

    def handle(self) -> None:
        length = 0
        while True:
            line = self.rfile.readline()
            if not line:
                return  # the connection ended inside the headers
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
            if line == b"\r\n":
                break
        if len(self.rfile.read(length)) < length:
            return
        self.server.whole_requests.append(1)  # type: ignore[attr-defined]
        self.wfile.write(RESPONSE)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    whole: List[int] = []
    server.whole_requests = whole  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server, whole
    server.shutdown()
    server.server_close()


def exchange(port: int) -> bytes:
    """Send ``REQUEST`` through the proxy; everything the client got back (b"" if reset)."""
    received = b""
    try:  # a reset can come as early as connect() (the proxy dropped it at accept)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(REQUEST)
            while len(received) < len(RESPONSE):
                data = sock.recv(65536)
                if not data:
                    break
                received += data
    except (ConnectionResetError, BrokenPipeError):
        pass
    return received


def proxy_for(upstream: socketserver.ThreadingTCPServer, faults: Faults) -> TcpProxy:
    host, port = upstream.server_address[:2]
    return TcpProxy((str(host), int(port)), faults, seed=1)


def wait_for(condition: Callable[[], bool], timeout: float = 2.0) -> bool:
    """The upstream's handler thread may count a request just after the client saw the cut."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        time.sleep(0.01)
    return condition()


def test_without_faults_the_answer_arrives_whole_and_its_status_is_counted(upstream: Upstream) -> None:
    server, whole = upstream
    proxy = proxy_for(server, Faults())
    try:
        assert exchange(proxy.port) == RESPONSE
        assert whole == [1]
        assert proxy.statuses == {201: 1}
        assert sum(proxy.injected.values()) == 0
    finally:
        proxy.close()


def test_drop_at_accept_resets_before_anything_reaches_the_server(upstream: Upstream) -> None:
    server, whole = upstream
    proxy = proxy_for(server, Faults(drop_at_accept=1.0))
    try:
        assert exchange(proxy.port) == b""
        time.sleep(0.1)
        assert whole == []
        assert proxy.injected[DROP_AT_ACCEPT] == 1
        assert proxy.statuses == {}
    finally:
        proxy.close()


def test_drop_mid_request_leaves_the_server_an_incomplete_request(upstream: Upstream) -> None:
    server, whole = upstream
    proxy = proxy_for(server, Faults(drop_mid_request=1.0))
    try:
        assert exchange(proxy.port) == b""
        time.sleep(0.1)
        assert whole == []
        assert proxy.injected[DROP_MID_REQUEST] == 1
    finally:
        proxy.close()


def test_cut_mid_response_the_server_did_the_work_the_client_got_part_of_it(upstream: Upstream) -> None:
    server, whole = upstream
    proxy = proxy_for(server, Faults(cut_mid_response=1.0))
    try:
        received = exchange(proxy.port)
        assert len(received) < len(RESPONSE) and RESPONSE.startswith(received)
        assert wait_for(lambda: whole == [1])
        assert proxy.injected[CUT_MID_RESPONSE] == 1
    finally:
        proxy.close()


def test_delay_holds_each_chunk_but_delivers_it(upstream: Upstream) -> None:
    server, whole = upstream
    proxy = proxy_for(server, Faults(delay=1.0, delay_seconds=(0.25, 0.25)))
    try:
        started = time.monotonic()
        assert exchange(proxy.port) == RESPONSE
        assert time.monotonic() - started >= 0.5  # the request's chunk and the answer's, 0.25 s each
        assert proxy.injected[DELAY] >= 2
    finally:
        proxy.close()


def test_down_refuses_and_up_serves_again_on_the_same_port(upstream: Upstream) -> None:
    server, whole = upstream
    proxy = proxy_for(server, Faults())
    try:
        port = proxy.port
        proxy.down()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        proxy.up()
        assert proxy.port == port
        assert exchange(port) == RESPONSE
        assert proxy.injected_summary() == "delay 0, drop at accept 0, drop mid-request 0, cut mid-response 0"
    finally:
        proxy.close()


def test_an_armed_fault_happens_once_then_the_proxy_is_faithful_again(upstream: Upstream) -> None:
    server, whole = upstream
    proxy = proxy_for(server, Faults())
    try:
        proxy.arm(CUT_MID_RESPONSE)
        assert exchange(proxy.port) != RESPONSE
        assert exchange(proxy.port) == RESPONSE
        assert wait_for(lambda: whole == [1, 1])
        assert proxy.injected == {CUT_MID_RESPONSE: 1}
        with pytest.raises(ValueError):
            proxy.arm("meteor strike")
    finally:
        proxy.close()
