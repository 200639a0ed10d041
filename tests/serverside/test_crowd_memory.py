"""A crowd of strangers against a real server (uvicorn on 127.0.0.1, in this process so that its
structures can be counted): every per-key structure stays within its bound however many distinct
addresses and sessions come.

The bounds are set small for the test; entries are counted, not resident memory, so the test does
not depend on the allocator or on the machine's load.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterator, List

import httpx
import pytest
import uvicorn

from notebook_error_reporter.serverside import create_app, grouping
from notebook_error_reporter.serverside.api import deps
from notebook_error_reporter.serverside.state import ServerState

from .helpers import ADMIN_TOKEN, make_event
from .live_server import free_port

MAX_KEYS = 300  # rate-limit counters
MAX_IDS = 200  # remembered ids per table
STRANGERS = 1200  # single reports, each from an address and a session of its own
BATCHES = 12  # batches of 100 reports, each from an address of its own, 100 sessions each


@pytest.fixture
def crowd_server(database_url: str) -> Iterator[Dict[str, Any]]:
    """A real uvicorn server in a thread, behind the test as its trusted proxy, with small bounds."""
    app = create_app(
        database_url,
        admin_token=ADMIN_TOKEN,
        trusted_proxies=("127.0.0.1/32",),
        rate_limit_address="1000000/minute",
        rate_limit_session="1000000/minute",
    )
    state: ServerState = app.state.server
    state.limiter.storage.max_keys = MAX_KEYS  # type: ignore[attr-defined]
    state.known_ids.max_remembered = MAX_IDS
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield {"base_url": f"http://127.0.0.1:{port}", "state": state}
    finally:
        server.should_exit = True
        thread.join(30)


def stranger(number: int) -> str:
    return f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"


def test_a_crowd_of_new_addresses_and_sessions_leaves_every_structure_bounded(
    crowd_server: Dict[str, Any],
) -> None:
    state: ServerState = crowd_server["state"]
    deps.hashed_session_id.cache_clear()
    local = threading.local()
    statuses: List[int] = []
    clients: List[httpx.Client] = []

    def client() -> httpx.Client:
        if not hasattr(local, "client"):  # keep-alive, one connection a thread
            local.client = httpx.Client(base_url=crowd_server["base_url"], timeout=60)
            clients.append(local.client)
        return local.client  # type: ignore[no-any-return]

    def single(number: int) -> None:
        event = make_event(error_name=f"Error{number % 7}", first_line=f"x = f({number % 5})")
        answer = client().post("/api/v1/events", json=event, headers={"X-Forwarded-For": stranger(number)})
        statuses.append(answer.status_code)

    def batch(number: int) -> None:
        events = [make_event(error_message=f"'k{k}'") for k in range(100)]
        headers = {"X-Forwarded-For": stranger(STRANGERS + number)}
        answer = client().post("/api/v1/events/batch", json={"events": events}, headers=headers)
        statuses.append(answer.status_code)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(single, range(STRANGERS)))
        list(pool.map(batch, range(BATCHES)))
    for opened in clients:
        opened.close()

    assert statuses.count(201) == STRANGERS and statuses.count(200) == BATCHES, sorted(set(statuses))
    seen_keys = STRANGERS * 2 + BATCHES * (1 + 100)  # an address and a session counter a report
    storage = state.limiter.storage
    assert seen_keys > 5 * MAX_KEYS
    assert len(storage.storage) <= MAX_KEYS  # type: ignore[attr-defined]
    assert len(storage.expirations) <= MAX_KEYS  # type: ignore[attr-defined]
    assert len(storage.locks) <= MAX_KEYS  # type: ignore[attr-defined]
    for table, remembered in state.known_ids._maps.items():
        assert len(remembered) <= MAX_IDS, table
    assert len(grouping._places) <= grouping.MEMO_SIZE
    assert len(grouping._keys) <= grouping.MEMO_SIZE
    assert deps.hashed_session_id.cache_info().currsize <= deps.hashed_session_id.cache_info().maxsize

    # Every report is still stored and every stranger still counted: eviction forgets old counters only.
    with httpx.Client(base_url=crowd_server["base_url"], timeout=60) as reader:
        notebooks = reader.get("/api/v1/notebooks", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert sum(n["event_count"] for n in notebooks.json()) == STRANGERS + BATCHES * 100
    counters: Dict[str, int] = storage.storage  # type: ignore[attr-defined]
    kinds = ("address", "session")
    newest = {kind: next(k for k in reversed(counters) if f"/{kind}/" in k) for kind in kinds}
    assert counters[newest["session"]] == 1, "the last batch's sessions: one report each"
    assert counters[newest["address"]] == 100, "the last batch's address: all its reports"
