"""Who may read what: the admin token, max_transparency, and the session id as its own key."""

from __future__ import annotations

import json
from typing import Any, List, Tuple

import pytest
from fastapi.testclient import TestClient

from .helpers import ADMIN, make_event

ADMIN_READS: List[Tuple[str, str]] = [
    ("GET", "/api/v1/notebooks"),
    ("GET", "/api/v1/issues"),
    ("GET", "/api/v1/issues/1"),
    ("GET", "/api/v1/issues/1/events"),
    ("GET", "/usages/"),
    ("GET", "/errors/"),
]
ADMIN_ONLY: List[Tuple[str, str]] = [
    ("PATCH", "/api/v1/issues/1"),
    ("POST", "/api/v1/admin/purge?older_than_days=30"),
]


def _call(client: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    body = {"json": {"status": "resolved"}} if method == "PATCH" else {}
    return client.request(method, path, **body, **kwargs)


@pytest.fixture
def stored(client: TestClient) -> TestClient:
    client.post("/api/v1/events", json=make_event())
    return client


@pytest.mark.parametrize(("method", "path"), ADMIN_READS + ADMIN_ONLY)
def test_without_a_token_it_is_401_with_a_bearer_challenge(
    stored: TestClient, method: str, path: str
) -> None:
    answer = _call(stored, method, path)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in answer.json()["detail"]


@pytest.mark.parametrize(("method", "path"), ADMIN_READS + ADMIN_ONLY)
def test_with_a_wrong_token_it_is_403(stored: TestClient, method: str, path: str) -> None:
    assert (
        _call(stored, method, path, headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code
        == 403
    )
    assert _call(stored, method, path, headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401


@pytest.mark.parametrize(("method", "path"), ADMIN_READS + ADMIN_ONLY)
def test_with_the_admin_token_it_answers(stored: TestClient, method: str, path: str) -> None:
    assert _call(stored, method, path, headers=ADMIN).status_code == 200


@pytest.mark.parametrize(("method", "path"), ADMIN_READS)
def test_max_transparency_opens_reads_to_anybody(make_client: Any, method: str, path: str) -> None:
    client = make_client(max_transparency=True)
    client.post("/api/v1/events", json=make_event())
    assert _call(client, method, path).status_code == 200


@pytest.mark.parametrize(("method", "path"), ADMIN_ONLY)
def test_max_transparency_never_opens_changes(make_client: Any, method: str, path: str) -> None:
    client = make_client(max_transparency=True)
    client.post("/api/v1/events", json=make_event())
    assert _call(client, method, path).status_code == 401
    assert (
        _call(client, method, path, headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code
        == 403
    )


def test_a_server_without_admin_token_refuses_every_admin_call(make_client: Any) -> None:
    client = make_client(admin_token=None)
    client.post("/api/v1/events", json=make_event())
    assert client.get("/api/v1/issues", headers=ADMIN).status_code == 403


def test_a_session_is_readable_with_its_id_alone(client: TestClient) -> None:
    event = make_event()
    client.post("/api/v1/events", json=event)
    answer = client.get(f"/api/v1/sessions/{event['session_id']}/events")
    assert answer.status_code == 200 and [e["event_id"] for e in answer.json()] == [event["event_id"]]
    other = make_event()
    client.post("/api/v1/events", json=other)
    assert [e["event_id"] for e in client.get(f"/api/v1/sessions/{other['session_id']}/events").json()] == [
        other["event_id"]
    ], "a session sees only its own reports"


def test_no_read_mentions_an_address_or_its_hash(stored: TestClient) -> None:
    state = stored.app.state.server  # type: ignore[attr-defined]
    from notebook_error_reporter.serverside.core.addresses import address_key, parse_address

    key = address_key(parse_address("127.0.0.1"), state.address_secret())
    usage = stored.post("/usages/", json={"notebook": "old"}).json()
    assert usage["ip"] == "hidden"
    for path in [
        "/api/v1/notebooks",
        "/api/v1/issues",
        "/api/v1/issues/1",
        "/api/v1/issues/1/events",
        "/usages/",
        "/errors/",
    ]:
        text = json.dumps(stored.get(path, headers=ADMIN).json())
        assert "127.0.0.1" not in text and key not in text, path


def test_wrong_bearer_tokens_from_one_address_get_429_and_other_addresses_are_not_held(
    make_client: Any,
) -> None:
    client = make_client(
        rate_limit_token_failures="2/minute", trusted_proxies=("127.0.0.1/32",), client=("127.0.0.1", 1)
    )
    guesser = {"X-Forwarded-For": "203.0.113.9", "Authorization": "Bearer wrong-token-0123456789"}
    admin = {"X-Forwarded-For": "198.51.100.7", **ADMIN}
    for _ in range(5):
        assert client.get("/api/v1/issues", headers=admin).status_code == 200  # right tokens never count
    assert [client.get("/api/v1/issues", headers=guesser).status_code for _ in range(3)] == [403, 403, 429]
    held = client.get("/api/v1/issues", headers=guesser)
    assert held.status_code == 429 and int(held.headers["retry-after"]) >= 1
    assert "Too many wrong admin tokens" in held.json()["detail"]
    assert client.get("/api/v1/issues", headers=admin).status_code == 200  # another address is not held


def test_twenty_wrong_tokens_never_lock_out_the_right_one_from_the_same_address(make_client: Any) -> None:
    client = make_client(rate_limit_token_failures="20/minute")
    wrong = {"Authorization": "Bearer wrong-token-0123456789"}
    answers = [client.get("/api/v1/issues", headers=wrong).status_code for _ in range(25)]
    assert answers == [403] * 20 + [429] * 5
    assert client.get("/api/v1/issues", headers=ADMIN).status_code == 200
    assert client.get("/api/v1/issues", headers=wrong).status_code == 429  # the guesser stays held
