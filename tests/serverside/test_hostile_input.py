"""Hostile input against a real server (uvicorn on 127.0.0.1, the suite's SQLite or PostgreSQL).

Whatever arrives, the answer is a clear 4xx or a clean store, never a 5xx, never a partial report;
payloads that look like SQL or HTML are stored as the text they are and rendered escaped; a client
dribbling its body does not stop the server answering others.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any, Dict, Iterator, List

import httpx
import pytest

from .helpers import ADMIN, make_event
from .live_server import LiveServer, server_on_fresh_database

TEXT_FIELDS = ("notebook", "error_name", "error_message", "first_line")
PAYLOADS = [
    "Robert'); DROP TABLE event;--",
    "' OR '1'='1",
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "nul\x00byte",
    "\u202etxt.exe",
]
NEGATIVE_LINE = json.dumps(make_event(traceback=[{"filename": "a", "fun_name": "b", "lineno": -3}])).encode()
NOT_A_NUMBER = json.dumps(make_event()).replace('"execution_count": 7', '"execution_count": NaN').encode()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module (each test compares counts before and after itself)."""
    tmp_path = tmp_path_factory.mktemp("hostile")
    with server_on_fresh_database(tmp_path) as server:
        yield server


def stored_count(server: LiveServer) -> int:
    answer = httpx.get(server.url("/api/v1/notebooks"), headers=ADMIN, timeout=30)
    assert answer.status_code == 200, answer.text
    return sum(n["event_count"] for n in answer.json())


def post_raw(server: LiveServer, body: bytes, content_type: str = "application/json") -> httpx.Response:
    return httpx.post(
        server.url("/api/v1/events"), content=body, headers={"Content-Type": content_type}, timeout=60
    )


@pytest.mark.parametrize(
    ("label", "body", "expected"),
    [
        ("deeply nested", b"[" * 100_000 + b"]" * 100_000, {400, 413, 422}),
        ("10 MB string", json.dumps({"error_message": "x" * 10_000_000}).encode(), {413}),
        ("invalid UTF-8", b'{"error_message": "\xff\xfe"}', {400}),
        ("not an object", b"[1, 2, 3]", {400}),
        ("truncated", json.dumps(make_event()).encode()[:-10], {400}),
        ("huge number", json.dumps(make_event(execution_count=2**70)).encode(), {422}),
        ("negative line", NEGATIVE_LINE, {422}),
        ("NaN", NOT_A_NUMBER, {400, 422}),
    ],
)  # fmt: skip
def test_hostile_bodies_get_a_clear_4xx_and_store_nothing(
    live_server: LiveServer, label: str, body: bytes, expected: set
) -> None:
    before = stored_count(live_server)
    answer = post_raw(live_server, body)
    assert answer.status_code in expected, (label, answer.status_code, answer.text[:300])
    assert "detail" in answer.json()
    assert stored_count(live_server) == before
    assert httpx.get(live_server.url("/healthz"), timeout=10).status_code == 200


def test_wrong_content_types_are_refused_or_read_as_json_never_5xx(live_server: LiveServer) -> None:
    body = json.dumps(make_event()).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        answer = post_raw(live_server, body, content_type)
        assert answer.status_code < 500 and answer.status_code in (201, 400, 415, 422), content_type


def test_unknown_fields_are_ignored_and_not_stored(live_server: LiveServer) -> None:
    event = make_event(admin=True, ip="10.0.0.1", extra={"nested": [1, 2]})
    answer = httpx.post(live_server.url("/api/v1/events"), json=event, timeout=30)
    assert answer.status_code == 201
    [stored] = httpx.get(live_server.url(f"/api/v1/sessions/{event['session_id']}/events")).json()
    assert not {"admin", "ip", "extra"} & set(stored)


def test_sql_and_html_payloads_in_every_text_field_are_stored_as_text_and_shown_escaped(
    live_server: LiveServer,
) -> None:
    before = stored_count(live_server)
    sessions: List[str] = []
    for payload in PAYLOADS:
        fields: Dict[str, Any] = {name: payload for name in TEXT_FIELDS}
        fields["traceback"] = [{"filename": payload, "fun_name": payload, "lineno": 1}]
        event = make_event(**fields)
        answer = httpx.post(live_server.url("/api/v1/events"), json=event, timeout=30)
        assert answer.status_code == 201, (payload, answer.text)
        sessions.append(event["session_id"])
    assert stored_count(live_server) == before + len(PAYLOADS)
    expected = [p.replace("\x00", "\ufffd") for p in PAYLOADS]  # NUL: no database can hold it
    for session_id, payload in zip(sessions, expected):
        [stored] = httpx.get(live_server.url(f"/api/v1/sessions/{session_id}/events")).json()
        assert stored["error_message"] == payload
        assert stored["first_line"] == payload
        assert stored["notebook"] == payload.strip()
    # The tables are all still there, and the dashboard shows every payload as text.
    issues = httpx.get(live_server.url("/api/v1/issues"), params={"limit": 500}, headers=ADMIN)
    assert issues.status_code == 200 and len(issues.json()["items"]) >= len(PAYLOADS)
    with httpx.Client(base_url=live_server.base_url, timeout=30, headers={"Accept": "text/html"}) as browser:
        form = browser.get("/signin").text
        csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        browser.post("/signin", data={"token": ADMIN["Authorization"][7:], "csrf": csrf, "next": "/"})
        pages = [browser.get("/issues", params={"status": "open"}).text]
        for issue in httpx.get(live_server.url("/api/v1/issues"), headers=ADMIN).json()["items"]:
            pages.append(browser.get(f"/issues/{issue['id']}").text)
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page
    assert any("&lt;script&gt;alert" in page for page in pages)


def test_a_client_dribbling_its_body_does_not_stop_others_and_stores_nothing(live_server: LiveServer) -> None:
    before = stored_count(live_server)
    body = json.dumps(make_event()).encode()
    slow = socket.create_connection(("127.0.0.1", live_server.port), timeout=10)
    try:
        head = (
            f"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        slow.sendall(head)
        for byte in body[:20]:  # a byte at a time, then it goes quiet with the body unfinished
            slow.sendall(bytes([byte]))
            time.sleep(0.05)
        started = time.monotonic()
        answer = httpx.post(live_server.url("/api/v1/events"), json=make_event(), timeout=10)
        assert answer.status_code == 201
        assert time.monotonic() - started < 5  # served while the slow one still dribbles
    finally:
        slow.close()  # gone mid-body
    time.sleep(0.5)
    assert stored_count(live_server) == before + 1  # the other one only
    assert httpx.get(live_server.url("/healthz"), timeout=10).status_code == 200
