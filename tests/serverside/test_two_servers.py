"""Two real server processes on one database and one real redis-server, ingesting at once.

What a notebook author gets running two servers behind a proxy: every report stored once whichever
server it reached (also the same report reaching both at the same moment), issue counts that add
up, and rate limits counted once across both through Redis. Runs on SQLite and, in CI's second run,
on PostgreSQL.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import httpx
import pytest

from .databases import fresh_database
from .helpers import ADMIN, make_event
from .live_server import LiveServer, start_server

REPORTS = 120
Servers = Tuple[LiveServer, LiveServer]
NAMES = 6


@pytest.fixture
def two_servers(tmp_path: Path, redis_url: str) -> Iterator[Tuple[LiveServer, LiveServer]]:
    settings: Dict[str, Any] = {
        "rate_limit_address": "100000/minute",
        "rate_limit_session": "5/minute",
        "ratelimit_storage_url": redis_url,
    }
    with fresh_database(tmp_path) as url:
        first = start_server(tmp_path / "a", database_url=url, **settings)
        try:
            second = start_server(tmp_path / "b", database_url=url, **settings)
            try:
                yield first, second
            finally:
                second.stop()
        finally:
            first.stop()


def test_each_report_is_stored_once_whichever_server_gets_it(two_servers: Servers) -> None:
    first, second = two_servers
    events = [make_event(error_name=f"Error{i % NAMES}") for i in range(REPORTS)]
    # Every report goes to both servers at the same moment, as a client retrying through a proxy.
    jobs = [(server, event) for event in events for server in (first, second)]

    def post(job: Tuple[LiveServer, Dict[str, Any]]) -> Tuple[str, int]:
        server, event = job
        answer = httpx.post(server.url("/api/v1/events"), json=event, timeout=30)
        return event["event_id"], answer.status_code

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(post, jobs))
    by_event: Dict[str, List[int]] = {}
    for event_id, status in answers:
        by_event.setdefault(event_id, []).append(status)
    assert all(sorted(statuses) == [200, 201] for statuses in by_event.values()), by_event
    created = sum(statuses.count(201) for statuses in by_event.values())
    print(  # noqa: T201
        f"\ntwo servers, one database: {REPORTS} reports each sent to both at once:"
        f" {created} answered 201, {len(answers) - created} answered 200 (a duplicate)"
    )

    for server in (first, second):
        answer = httpx.get(server.url("/api/v1/issues"), headers=ADMIN)
        assert answer.status_code == 200, answer.text
        issues = answer.json()
        assert len(issues["items"]) == NAMES
        assert sum(issue["event_count"] for issue in issues["items"]) == REPORTS
        assert all(issue["event_count"] == REPORTS // NAMES for issue in issues["items"])
        [notebook] = httpx.get(server.url("/api/v1/notebooks"), headers=ADMIN).json()
        assert notebook["event_count"] == REPORTS
        assert notebook["session_count"] == REPORTS


def test_a_session_limit_is_counted_once_across_both_servers(two_servers: Servers) -> None:
    first, second = two_servers
    session_id = make_event()["session_id"]
    statuses: List[int] = []
    retry_after = None
    for i in range(8):  # alternating: each server alone would have seen only 4 of them
        server = (first, second)[i % 2]
        answer = httpx.post(server.url("/api/v1/events"), json=make_event(session_id=session_id), timeout=30)
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            retry_after = answer.headers.get("Retry-After")
    print(f"\nsession limit 5/minute through Redis, 8 reports alternating servers: {statuses}")  # noqa: T201
    assert statuses[:5] == [201] * 5
    assert statuses[5:] == [429] * 3
    assert retry_after is not None and int(retry_after) > 0
    with contextlib.closing(httpx.Client()) as client:
        events = client.get(first.url(f"/api/v1/sessions/{session_id}/events")).json()
    assert len(events) == 5  # nothing refused was stored
