"""A flood from one address against a real server: it gets 429s, a well-behaved client is still served,
and the server's memory stays bounded.

The server runs behind a "proxy" on 127.0.0.1 (``trusted_proxies``), so each client's address is its
``X-Forwarded-For``, the way a real deployment behind nginx sees them.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, Iterator, List

import httpx
import pytest

from .helpers import make_event
from .live_server import LiveServer, server_on_fresh_database

FLOOD = 1500
LIMIT = 100
ATTACKER = "203.0.113.66"
NEIGHBOUR = "198.51.100.7"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with server_on_fresh_database(
        tmp_path,
        trusted_proxies=("127.0.0.1/32",),
        rate_limit_address=f"{LIMIT}/hour",  # one window for the whole flood, however slow
        rate_limit_session="100000/minute",
    ) as live:
        yield live


def resident_kb(server: LiveServer) -> int:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")  # pragma: no cover


def test_a_flooding_address_gets_429s_while_another_is_served_in_bounded_memory(server: LiveServer) -> None:
    if not Path(f"/proc/{server.process.pid}/status").exists():
        pytest.skip("needs /proc to read the server's memory")
    httpx.post(server.url("/api/v1/events"), json=make_event(), headers={"X-Forwarded-For": "192.0.2.1"})
    memory_before = resident_kb(server)
    statuses: Dict[int, int] = {}
    lock = threading.Lock()

    local = threading.local()
    clients: List[httpx.Client] = []

    def flood(_: int) -> None:
        if not hasattr(local, "client"):  # keep-alive, as a real flood would
            local.client = httpx.Client(headers={"X-Forwarded-For": ATTACKER}, timeout=30)
            with lock:
                clients.append(local.client)
        answer = local.client.post(server.url("/api/v1/events"), json=make_event())
        with lock:
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
        if answer.status_code == 429:
            assert int(answer.headers["Retry-After"]) > 0

    neighbour: List[int] = []
    stop = threading.Event()

    def behave() -> None:
        while not stop.is_set() and len(neighbour) < 20:
            answer = httpx.post(
                server.url("/api/v1/events"),
                json=make_event(),
                headers={"X-Forwarded-For": NEIGHBOUR},
                timeout=30,
            )
            neighbour.append(answer.status_code)

    polite = threading.Thread(target=behave)
    polite.start()
    with ThreadPoolExecutor(12) as pool:
        list(pool.map(flood, range(FLOOD)))
    stop.set()
    polite.join(60)
    for client in clients:
        client.close()

    assert statuses.get(201, 0) <= LIMIT
    assert statuses.get(429, 0) >= FLOOD - LIMIT
    assert set(statuses) <= {201, 429}, statuses
    assert neighbour and all(status == 201 for status in neighbour), neighbour
    growth_mb = (resident_kb(server) - memory_before) / 1024
    print(  # noqa: T201
        f"\nflood of {FLOOD} requests from one address (limit {LIMIT}/hour): {statuses.get(201, 0)} stored,"
        f" {statuses.get(429, 0)} answered 429; the neighbour: {len(neighbour)} reports, all 201;"
        f" server memory {growth_mb:+.1f} MB"
    )
    assert growth_mb < 40, f"the server grew by {growth_mb:.0f} MB during a flood of {FLOOD} requests"
