"""A TCP forwarder on 127.0.0.1 that a test can cut, restore and make unreliable.

Put between a client and a server (our reporter and the API, or the API and PostgreSQL), it plays
the network failing in the ways a real one does:

* ``down()`` stops listening and resets every open connection (a crashed host); ``up()`` listens
  again on the same port;
* ``Faults`` (probabilities, drawn per connection or per forwarded chunk) add latency, drop a
  connection as it is accepted or in the middle of a request, and cut a response: part of the
  server's answer is forwarded, then both sides are closed, so the server did the work but the
  client never learns it (the case idempotency exists for).

``arm(kind)`` makes the next chance of that fault a certainty (for a test that must see each fault
at least once, however little traffic a loaded machine makes). ``injected`` counts each fault, and
``statuses`` counts the HTTP status codes the server answered through the proxy (a test can assert
that an outage was 503s and never a 500). Nothing about the target itself is touched. Without
``faults`` the proxy forwards faithfully, as the outage test needs for the PostgreSQL wire protocol.
"""

from __future__ import annotations

import contextlib
import random
import re
import select
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

DELAY = "delay"
DROP_AT_ACCEPT = "drop at accept"
DROP_MID_REQUEST = "drop mid-request"
CUT_MID_RESPONSE = "cut mid-response"
FAULT_KINDS = (DELAY, DROP_AT_ACCEPT, DROP_MID_REQUEST, CUT_MID_RESPONSE)

# Only the start of each chunk is looked at: a status line split over two reads goes uncounted.
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) ")
_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST, as a crashed peer does


@dataclass(frozen=True)
class Faults:
    """How unreliable the proxy is: each field a probability in [0, 1].

    ``delay`` holds a forwarded chunk (either direction) for ``delay_seconds`` (uniform); a delay
    longer than the client's read timeout makes it give up on an answer the server already sent.
    ``drop_at_accept`` resets a new connection before anything reaches the server;
    ``drop_mid_request`` forwards a random part of a client's chunk, then closes both sides (the
    server sees an incomplete request); ``cut_mid_response`` does the same to a server's chunk.
    """

    delay: float = 0.0
    delay_seconds: Tuple[float, float] = (0.05, 0.5)
    drop_at_accept: float = 0.0
    drop_mid_request: float = 0.0
    cut_mid_response: float = 0.0


class TcpProxy:
    def __init__(
        self, target: Tuple[str, int], faults: Optional[Faults] = None, *, seed: Optional[int] = None
    ) -> None:
        self.target = target
        self.faults = faults or Faults()
        self.injected: Counter[str] = Counter()
        self._armed: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self._random = random.Random(seed)
        self._listener: Optional[socket.socket] = None
        self._sockets: List[socket.socket] = []
        self._lock = threading.Lock()
        self.port = 0
        self.up()

    def up(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, []
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for sock in sockets:
            _reset(sock)

    def close(self) -> None:
        self.down()

    def set_faults(self, faults: Faults) -> None:
        """Change how unreliable the proxy is from now on (open connections included)."""
        self.faults = faults

    def arm(self, kind: str, times: int = 1) -> None:
        """Inject ``kind`` (one of ``FAULT_KINDS``) at its next ``times`` chances, whatever ``faults`` say."""
        if kind not in FAULT_KINDS:
            raise ValueError(kind)
        with self._lock:
            self._armed[kind] += times

    def injected_summary(self) -> str:
        """``delay 12, drop at accept 3, ...``: every kind, zeros included, for a test's output."""
        return ", ".join(f"{kind} {self.injected[kind]}" for kind in FAULT_KINDS)

    def _chance(self, kind: str, probability: float) -> bool:
        """Whether to inject ``kind`` now (counted if so)."""
        with self._lock:
            if self._armed[kind] > 0:
                self._armed[kind] -= 1
                hit = True
            else:
                hit = probability > 0 and self._random.random() < probability
            if hit:
                self.injected[kind] += 1
        return hit

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self._chance(DROP_AT_ACCEPT, self.faults.drop_at_accept):
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peers: Dict[socket.socket, socket.socket] = {client: upstream, upstream: client}
        try:
            while True:
                readable, _, _ = select.select([client, upstream], [], [], 1.0)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is upstream:
                        self._note_status(data)
                    faults = self.faults
                    if sock is client:
                        cut = self._chance(DROP_MID_REQUEST, faults.drop_mid_request)
                    else:
                        cut = self._chance(CUT_MID_RESPONSE, faults.cut_mid_response)
                    if cut:
                        peers[sock].sendall(data[: self._random.randrange(len(data))])
                        return
                    if self._chance(DELAY, faults.delay):
                        time.sleep(self._random.uniform(*faults.delay_seconds))
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._sockets = [s for s in self._sockets if s is not client and s is not upstream]
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.close()

    def _note_status(self, data: bytes) -> None:
        match = _STATUS_LINE.match(data)
        if match:
            with self._lock:
                self.statuses[int(match.group(1))] += 1


def _reset(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
    with contextlib.suppress(OSError):
        sock.close()
