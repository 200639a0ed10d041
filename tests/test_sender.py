"""The delivery rules: batches, acknowledgement, back-off, Retry-After, 4xx, the 0.1 fallback.

Most tests run the real sender thread against ``MemoryTransport`` (exact and fast); the ones
about HTTP semantics (429 with Retry-After, 422, a 0.1-only server) use real servers on 127.0.0.1.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest
from delivery_servers import EventStore, FaultServer, LegacyStore, rejecting_behaviour, retry_after_behaviour
from waiting import wait_until

from notebook_error_reporter import sender as sender_module
from notebook_error_reporter import spool
from notebook_error_reporter.legacy_protocol import report_body as legacy_body
from notebook_error_reporter.sender import Sender, SenderConfig
from notebook_error_reporter.stats import ReporterStats
from notebook_error_reporter.transport import HttpTransport, MemoryTransport, Response, Transport

pytestmark = pytest.mark.usefixtures("fail_on_internal_errors")

FAST: Dict[str, Any] = {"backoff_base": 0.05, "backoff_cap": 0.2, "timeout": (1.0, 2.0), "flush_at_exit": 0.0}


def report(session: str = "s1", **fields: Any) -> Dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "session_id": session,
        "notebook": "nb",
        "error_name": "ValueError",
        "error_message": "bad",
        "traceback": [{"filename": "<cell 1>", "fun_name": "<module>", "lineno": 1}],
        "first_line": "x()",
        "execution_count": 1,
        "occurred_at": "2024-01-01T00:00:00+00:00",
        "client": {"reporter": "0.2.0", "python": "3.11", "ipython": "9", "platform": "linux"},
        **fields,
    }


@pytest.fixture
def make_sender(tmp_path: Path) -> Iterator[Callable[..., Sender]]:
    made: List[Sender] = []

    def make(url: str = "http://memory", transport: Optional[Transport] = None, **config: Any) -> Sender:
        settings = {**FAST, **config}
        sender = Sender(
            url,
            spool_path=str(tmp_path / "spool.sqlite3"),
            transport=transport if transport is not None else MemoryTransport(),
            stats=ReporterStats(),
            config=SenderConfig(**settings),
        )
        made.append(sender)
        return sender

    yield make
    for sender in made:
        sender.close()
        sender.transport.close()
    sender_module._worker.flush(10)  # let a round in flight end before the spools are closed
    spool._forget_spools_for_tests()


# -- pure rules --------------------------------------------------------------------------------
def test_the_legacy_body_has_only_the_historic_fields() -> None:
    assert legacy_body(report()) == {
        "error_name": "ValueError",
        "error_message": "bad",
        "traceback": [{"filename": "<cell 1>", "fun_name": "<module>", "lineno": 1}],
        "execution_count": 1,
        "first_line": "x()",
    }


# -- acknowledged, rejected, kept ----------------------------------------------------------------
def test_reports_go_in_batches_and_leave_the_spool_only_when_acknowledged(
    make_sender: Callable[..., Sender],
) -> None:
    memory = MemoryTransport()
    sender = make_sender(transport=memory, batch_size=4)
    sent = [report() for _ in range(10)]
    for event in sent:
        sender.spool.put(event, sender.url, max_reports=100, max_bytes=10**6)
    assert sender.flush(10)
    batches = [body["events"] for method, url, body in memory.requests if url.endswith("/batch")]
    assert [len(b) for b in batches] == [4, 4, 2]
    assert memory.posted_event_ids == [e["event_id"] for e in sent]
    assert sender.spool.count() == 0 and sender.stats.sent == 10


def test_rejected_reports_are_dropped_counted_and_logged(
    make_sender: Callable[..., Sender], caplog: pytest.LogCaptureFixture
) -> None:
    bad = report(error_name="x" * 500)

    def handler(method: str, url: str, body: Any) -> Optional[Response]:
        results = [
            {"event_id": e["event_id"], "status": "rejected", "detail": "error_name too long"}
            if e["event_id"] == bad["event_id"]
            else {"event_id": e["event_id"], "issue_id": 3, "status": "created"}
            for e in body["events"]
        ]
        return Response.json(200, {"results": results})

    sender = make_sender(transport=MemoryTransport(handler))
    with caplog.at_level(logging.WARNING, logger="notebook_error_reporter"):
        for event in (report(), bad, report()):
            sender.accept(event)
        assert sender.flush(10)
    assert (sender.stats.sent, sender.stats.dropped) == (2, 1)
    assert "error_name too long" in caplog.text and bad["event_id"] in caplog.text


def test_server_errors_keep_the_reports_and_back_off_with_jitter(make_sender: Callable[..., Sender]) -> None:
    failing = [True]
    arrivals: List[float] = []

    def handler(method: str, url: str, body: Any) -> Optional[Response]:
        arrivals.append(time.monotonic())
        return Response.json(503, {"detail": "maintenance"}) if failing[0] else None

    memory = MemoryTransport(handler)
    sender = make_sender(transport=memory, backoff_base=0.2, backoff_cap=0.2)
    event = report()
    sender.accept(event)
    assert wait_until(lambda: len(arrivals) >= 3)
    assert sender.spool.count() == 1 and sender.stats.sent == 0
    assert sender.last_error is not None and "503" in sender.last_error
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert all(gap <= 1.0 for gap in gaps), gaps  # capped at 0.2 s (+ scheduling slack)
    failing[0] = False
    assert wait_until(lambda: sender.stats.sent == 1)
    assert list(memory.events) == [event["event_id"]]
    assert sender.spool.count() == 0


def test_an_answer_missing_some_results_keeps_those_reports(make_sender: Callable[..., Sender]) -> None:
    calls = [0]

    def handler(method: str, url: str, body: Any) -> Optional[Response]:
        calls[0] += 1
        if calls[0] == 1:  # a buggy answer: only the first report acknowledged
            first = body["events"][0]["event_id"]
            return Response.json(200, {"results": [{"event_id": first, "status": "created"}]})
        return None

    memory = MemoryTransport(handler)
    sender = make_sender(transport=memory)
    for _ in range(3):
        sender.spool.put(report(), sender.url, max_reports=10, max_bytes=10**6)
    assert not sender.flush(10)  # the unanswered two wait for the next round, after a back-off
    assert sender.stats.sent == 1 and sender.spool.count() == 2
    assert wait_until(lambda: sender.stats.sent == 3)
    assert calls[0] == 2
    assert len(memory.events) == 2  # the two that were kept; the first went to the buggy answer


def test_limited_reports_stay_in_the_spool_and_wait_for_the_retry_after(
    make_sender: Callable[..., Sender],
) -> None:
    sent_at: List[float] = []

    def handler(method: str, url: str, body: Any) -> Optional[Response]:
        sent_at.append(time.monotonic())
        if len(sent_at) == 1:  # over the server's limit: two stored, the rest limited, wait 1 s
            results = [
                {"event_id": e["event_id"], "status": "created" if n < 2 else "limited", "issue_id": 1}
                for n, e in enumerate(body["events"])
            ]
            return Response.json(200, {"results": results}, headers={"Retry-After": "1"})
        return None

    memory = MemoryTransport(handler)
    sender = make_sender(transport=memory, backoff_base=0.01, backoff_cap=0.01)
    for _ in range(5):
        sender.spool.put(report(), sender.url, max_reports=10, max_bytes=10**6)
    assert not sender.flush(0.5)
    assert (sender.stats.sent, sender.stats.dropped, sender.spool.count()) == (2, 0, 3)
    assert wait_until(lambda: sender.stats.sent == 5)
    assert sent_at[1] - sent_at[0] >= 1.0, "the server's Retry-After, not the short back-off"
    assert len(memory.events) == 3 and sender.stats.dropped == 0


def test_results_are_matched_by_normalised_id_or_by_place(make_sender: Callable[..., Sender]) -> None:
    def handler(method: str, url: str, body: Any) -> Optional[Response]:
        first, second = body["events"]
        dashed = str(uuid.UUID(first["event_id"])).upper()
        results = [
            {"event_id": dashed, "issue_id": 1, "status": "created"},
            {"event_id": None, "status": "rejected", "detail": "event_id: must be a uuid"},
        ]
        return Response.json(200, {"results": results})

    sender = make_sender(transport=MemoryTransport(handler), batch_size=2)
    sender.spool.put(report(), sender.url, max_reports=10, max_bytes=10**6)
    sender.spool.put(report(event_id="not-a-uuid"), sender.url, max_reports=10, max_bytes=10**6)
    assert sender.flush(10)
    assert (sender.stats.sent, sender.stats.dropped) == (1, 1)


@pytest.mark.parametrize(
    "odd",
    [Response(302, {"location": "http://portal.invalid/"}), Response(200, {}, None, "<html>Welcome</html>")],
    ids=["redirect elsewhere", "a login page"],
)
def test_a_captive_portal_is_retried_not_taken_for_the_server(
    make_sender: Callable[..., Sender], odd: Response
) -> None:
    portal = [True]
    memory = MemoryTransport(lambda m, u, b: odd if portal[0] else None)
    sender = make_sender(transport=memory)
    sender.accept(report())
    assert not sender.flush(5)
    assert sender.stats.dropped == 0 and sender.spool.count() == 1
    portal[0] = False  # the user signed in to the wifi
    assert sender.flush(5)
    assert sender.stats.sent == 1 and sender.legacy is False


@pytest.mark.parametrize("status", [400, 401, 403, 410])
def test_a_whole_request_4xx_drops_the_batch(
    make_sender: Callable[..., Sender], status: int, caplog: pytest.LogCaptureFixture
) -> None:
    memory = MemoryTransport(lambda m, u, b: Response.json(status, {"detail": f"nope {status}"}))
    sender = make_sender(transport=memory)
    with caplog.at_level(logging.WARNING, logger="notebook_error_reporter"):
        for _ in range(3):
            sender.accept(report())
        assert sender.flush(10)
    assert (sender.stats.sent, sender.stats.dropped) == (0, 3)
    ids = memory.posted_event_ids
    assert len(ids) == len(set(ids)) == 3, "a 4xx is never retried"
    assert f"nope {status}" in caplog.text


def test_a_413_splits_the_batch_and_drops_only_the_report_too_large(
    make_sender: Callable[..., Sender],
) -> None:
    def handler(method: str, url: str, body: Any) -> Optional[Response]:
        if any(len(e["error_message"]) > 1000 for e in body["events"]):
            return Response.json(413, {"detail": "Request body too large"})
        return None

    memory = MemoryTransport(handler)
    sender = make_sender(transport=memory)
    events = [report() for _ in range(7)]
    events[4]["error_message"] = "m" * 5000
    for event in events:
        sender.spool.put(event, sender.url, max_reports=100, max_bytes=10**6)
    assert sender.flush(10)
    assert (sender.stats.sent, sender.stats.dropped) == (6, 1)
    assert set(memory.events) == {e["event_id"] for i, e in enumerate(events) if i != 4}


# -- real servers: 429 + Retry-After, 422, 0.1 ---------------------------------------------------
def test_429_with_retry_after_waits_at_least_that_long(make_sender: Callable[..., Sender]) -> None:
    store = EventStore()
    with FaultServer(retry_after_behaviour(store, "1", times=1)) as server:
        sender = make_sender(server.url, transport=HttpTransport(), backoff_base=0.01, backoff_cap=0.01)
        event = report()
        sender.accept(event)
        assert wait_until(lambda: sender.stats.sent == 1)
        first, second = server.recorder.batches()[:2]
    assert second.at - first.at >= 1.0
    assert [e["event_id"] for e in store.events()] == [event["event_id"]]
    assert sender.spool.count() == 0


def test_a_retry_after_date_is_honoured_even_by_flush(make_sender: Callable[..., Sender]) -> None:
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=2), usegmt=True)
    store = EventStore()
    with FaultServer(retry_after_behaviour(store, when, times=1)) as server:
        sender = make_sender(server.url, transport=HttpTransport(), backoff_base=0.01, backoff_cap=0.01)
        sender.accept(report())
        assert wait_until(lambda: len(server.recorder.batches()) == 1)
        assert not sender.flush(0.3)  # flush does not override the server's request
        assert len(server.recorder.batches()) == 1
        assert wait_until(lambda: sender.stats.sent == 1)
        first, second = server.recorder.batches()[:2]
    assert second.at - first.at >= 0.9  # an HTTP-date has one-second resolution


def test_422_drops_only_the_invalid_report_and_delivers_the_rest(
    make_sender: Callable[..., Sender], caplog: pytest.LogCaptureFixture
) -> None:
    store = EventStore()
    with FaultServer(rejecting_behaviour(store, lambda e: len(e["error_name"]) > 200)) as server:
        sender = make_sender(server.url, transport=HttpTransport())
        events = [report() for _ in range(9)]
        events[6]["error_name"] = "E" * 300
        for event in events:
            sender.spool.put(event, sender.url, max_reports=100, max_bytes=10**6)
        with caplog.at_level(logging.WARNING, logger="notebook_error_reporter"):
            assert sender.flush(10)
    assert (sender.stats.sent, sender.stats.dropped) == (8, 1)
    assert {e["event_id"] for e in store.events()} == {e["event_id"] for i, e in enumerate(events) if i != 6}
    assert "at most 200 characters" in caplog.text


def test_a_server_speaking_only_0_1_gets_usages_and_errors(make_sender: Callable[..., Sender]) -> None:
    legacy = LegacyStore()
    with FaultServer(legacy.behaviour) as server:
        sender = make_sender(server.url, transport=HttpTransport())
        first = [report("s1", first_line=f"s1 #{n}") for n in range(3)]
        other = [report("s2", first_line="s2 #0")]
        for event in first + other:
            sender.accept(event)
        assert sender.flush(10)
        posted = [(s.method, s.path) for s in server.recorder.seen]
    assert sender.stats.sent == 4 and sender.legacy is True
    assert posted.count(("POST", "/usages/")) == 2  # once per session
    assert posted.count(("POST", "/api/v1/events/batch")) == 1  # asked once, then remembered
    by_line = {e["first_line"]: e for usage in legacy.usages.values() for e in usage["errors"]}
    assert sorted(by_line) == ["s1 #0", "s1 #1", "s1 #2", "s2 #0"]
    assert by_line["s1 #0"] == legacy_body(first[0])
    assert sender.spool.legacy_usage(sender.url, "s1") in legacy.usages


def test_a_url_that_is_no_reporter_server_at_all_drops_instead_of_spinning(
    make_sender: Callable[..., Sender],
) -> None:
    with FaultServer(lambda m, p, b: None) as server:  # 404 for everything
        sender = make_sender(server.url, transport=HttpTransport())
        sender.accept(report())
        assert sender.flush(10)
        assert len(server.recorder.seen) == 2  # the v1 route, then POST /usages/
    assert sender.stats.dropped == 1 and sender.legacy is None


# -- the spool's side ----------------------------------------------------------------------------
def test_drops_from_a_full_spool_reach_the_server_once(make_sender: Callable[..., Sender]) -> None:
    memory = MemoryTransport()
    memory.reachable = False
    sender = make_sender(transport=memory, max_spool_reports=2)
    for _ in range(5):
        sender.accept(report())
    assert sender.stats.dropped == 3
    memory.reachable = True
    assert sender.flush(10)
    sender.accept(report())
    assert sender.flush(10)
    assert memory.client_dropped == 3
    assert sender.spool.dropped(sender.url) == 0
    assert len(memory.events) == 3


def test_older_reports_of_other_sessions_go_out_with_the_next_success(
    make_sender: Callable[..., Sender],
) -> None:
    memory = MemoryTransport()
    sender = make_sender(transport=memory)
    old = [report("an-earlier-kernel") for _ in range(3)]
    for event in old:
        sender.spool.put(event, sender.url, max_reports=100, max_bytes=10**6)
    other_server = report("an-earlier-kernel")
    sender.spool.put(other_server, "http://another-server", max_reports=100, max_bytes=10**6)
    new = report("this-kernel")
    sender.accept(new)
    assert wait_until(lambda: sender.stats.sent == 4)
    assert set(memory.events) == {e["event_id"] for e in old + [new]}
    assert [e["event_id"] for e in sender.spool.pending()] == [other_server["event_id"]]


def test_a_busy_spool_holds_the_report_in_memory_until_it_can_be_spooled(
    make_sender: Callable[..., Sender],
) -> None:
    import sqlite3

    memory = MemoryTransport()
    sender = make_sender(transport=memory)
    blocker = sqlite3.connect(sender.spool.location, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another kernel holds the write lock
        start = time.monotonic()
        event = report()
        sender.accept(event)
        assert time.monotonic() - start < 1.0  # the cell waited at most CELL_WAIT
        assert not sender.flush(0.1)
        blocker.execute("ROLLBACK")
    finally:
        blocker.close()
    assert sender.flush(10)
    assert list(memory.events) == [event["event_id"]]


def test_a_spool_that_breaks_under_us_falls_back_to_memory(make_sender: Callable[..., Sender]) -> None:
    memory = MemoryTransport()
    sender = make_sender(transport=memory)
    sender.spool.close()  # as if the disk went away: every statement now fails
    event = report()
    sender.accept(event)
    assert sender.flush(10)
    assert list(memory.events) == [event["event_id"]]
    assert sender.spool.location == ":memory:" and sender.stats.dropped == 0


def test_a_report_without_an_event_id_gets_one(make_sender: Callable[..., Sender]) -> None:
    memory = MemoryTransport()
    sender = make_sender(transport=memory)
    event = report()
    del event["event_id"]
    sender.accept(event)
    assert sender.flush(10)
    (stored,) = memory.events.values()
    assert len(stored["event_id"]) == 32 and stored["error_name"] == "ValueError"


def test_flush_says_false_while_offline_and_true_once_delivered(make_sender: Callable[..., Sender]) -> None:
    memory = MemoryTransport()
    memory.reachable = False
    sender = make_sender(transport=memory, backoff_base=30, backoff_cap=30)
    sender.accept(report())
    start = time.monotonic()
    assert not sender.flush(0.5)
    assert time.monotonic() - start < 2.0
    memory.reachable = True
    assert sender.flush(5)  # flush skips our own 30 s back-off
    assert sender.stats.sent == 1
