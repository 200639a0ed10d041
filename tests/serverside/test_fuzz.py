"""Property-based fuzzing of the ingest routes: whatever JSON arrives, the answer is never a 5xx.

Bounded (a fixed number of examples, no deadline) so it stays a few seconds on a shared machine.
TestClient raises server exceptions, so a crash fails the test even before the status is checked.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import json_values, make_event

FIELDS = list(make_event())


@pytest.fixture
def client(make_client: Any) -> TestClient:
    """Hundreds of requests from one address: lift the flood limit (tested in test_ratelimit.py)."""
    test_client: TestClient = make_client(
        rate_limit_address="100000/minute", rate_limit_session="100000/minute"
    )
    return test_client


_fuzz = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)


@_fuzz
@given(field=st.sampled_from(FIELDS), value=json_values)
def test_any_single_field_value_never_breaks_ingest(client: TestClient, field: str, value: Any) -> None:
    event = make_event()
    event[field] = value
    answer = client.post("/api/v1/events", json=event)
    assert answer.status_code in (201, 400, 422), answer.text
    batch = client.post("/api/v1/events/batch", json={"events": [event]})
    assert batch.status_code == 200, batch.text


@_fuzz
@given(body=json_values)
def test_any_body_never_breaks_any_write_route(client: TestClient, body: Any) -> None:
    for method, path in (
        ("POST", "/api/v1/events"),
        ("POST", "/api/v1/events/batch"),
        ("POST", "/usages/"),
        ("PATCH", "/api/v1/issues/1"),
    ):
        answer = client.request(
            method, path, json=body, headers={"Authorization": "Bearer test-admin-token-0123456789abcdef"}
        )
        assert answer.status_code < 500, (path, answer.text)


@_fuzz
@given(text=st.text(min_size=1, max_size=300))
def test_any_text_is_stored_scrubbed_and_read_back(client: TestClient, text: str) -> None:
    event = make_event(error_message=text, first_line=text[:200], notebook=text[:200] or "n")
    answer = client.post("/api/v1/events", json=event)
    assert answer.status_code in (201, 422), answer.text
    if answer.status_code == 201:
        stored = client.get(f"/api/v1/sessions/{event['session_id']}/events").json()
        assert len(stored) == 1


def test_non_standard_json_numbers_are_refused_cleanly(client: TestClient) -> None:
    for token in (b"NaN", b"Infinity", b"-Infinity", b"1e999"):
        body = b'{"events": [], "client_dropped": ' + token + b"}"
        answer = client.post(
            "/api/v1/events/batch", content=body, headers={"content-type": "application/json"}
        )
        assert answer.status_code in (400, 422), (token, answer.text)
