"""POST /api/v1/events and /api/v1/events/batch: storing, idempotency, per-report results, scrubbing."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List

from fastapi.testclient import TestClient

from .helpers import ADMIN, make_event


def _issues(client: TestClient, **params: Any) -> List[Dict[str, Any]]:
    answer = client.get("/api/v1/issues", params=params, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    items: List[Dict[str, Any]] = answer.json()["items"]
    return items


def _session_events(client: TestClient, session_id: str) -> List[Dict[str, Any]]:
    answer = client.get(f"/api/v1/sessions/{session_id}/events")
    assert answer.status_code == 200, answer.text
    events: List[Dict[str, Any]] = answer.json()
    return events


def test_one_event_is_stored_and_a_retry_stores_nothing_new(client: TestClient) -> None:
    event = make_event()
    first = client.post("/api/v1/events", json=event)
    assert first.status_code == 201
    assert first.json() == {"event_id": event["event_id"], "issue_id": first.json()["issue_id"]}
    again = client.post("/api/v1/events", json=event)
    assert again.status_code == 200
    assert again.json() == first.json()
    [issue] = _issues(client)
    assert issue["event_count"] == 1
    assert len(_session_events(client, event["session_id"])) == 1


def test_the_stored_event_reads_back_in_the_wire_format(client: TestClient) -> None:
    event = make_event()
    client.post("/api/v1/events", json=event)
    [stored] = _session_events(client, event["session_id"])
    for key in ("event_id", "session_id", "notebook", "error_name", "error_message", "traceback"):
        assert stored[key] == event[key], key
    assert stored["first_line"] == event["first_line"]
    assert stored["execution_count"] == 7
    assert stored["client"] == event["client"]
    assert datetime.fromisoformat(stored["occurred_at"].replace("Z", "+00:00")) == datetime.fromisoformat(
        event["occurred_at"]
    )
    assert "ip" not in stored and "address" not in str(stored)


def test_dashed_and_upper_case_ids_are_normalised_to_32_hex(client: TestClient) -> None:
    event_id, session_id = uuid.uuid4(), uuid.uuid4()
    dashed = make_event(event_id=str(event_id).upper(), session_id=str(session_id))
    answer = client.post("/api/v1/events", json=dashed)
    assert answer.status_code == 201
    assert answer.json()["event_id"] == event_id.hex
    plain = client.post("/api/v1/events", json=dict(dashed, event_id=event_id.hex))
    assert plain.status_code == 200, "the same id, written differently, is the same report"
    [stored] = _session_events(client, session_id.hex)
    assert stored["session_id"] == session_id.hex


def test_unknown_extra_fields_are_ignored(client: TestClient) -> None:
    event = make_event(
        future_field={"nested": True}, traceback=[dict(make_event()["traceback"][0], colour="red")]
    )
    assert client.post("/api/v1/events", json=event).status_code == 201
    [stored] = _session_events(client, event["session_id"])
    assert "future_field" not in stored and "colour" not in stored["traceback"][0]


def test_client_may_be_left_out(client: TestClient) -> None:
    event = make_event()
    del event["client"]
    assert client.post("/api/v1/events", json=event).status_code == 201
    assert _session_events(client, event["session_id"])[0]["client"] is None


def test_batch_gives_one_result_per_report_in_order(client: TestClient) -> None:
    known = make_event()
    client.post("/api/v1/events", json=known)
    fresh = make_event()
    naive = make_event(occurred_at=datetime(2024, 5, 1, 12, 0))
    naive["occurred_at"] = "2024-05-01T12:00:00"
    answer = client.post("/api/v1/events/batch", json={"events": [fresh, known, naive, 42]})
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["created", "duplicate", "rejected", "rejected"]
    assert results[0]["event_id"] == fresh["event_id"] and isinstance(results[0]["issue_id"], int)
    assert results[1]["issue_id"] == results[0]["issue_id"], "same code: same issue"
    assert results[2]["event_id"] == naive["event_id"]
    assert "occurred_at" in results[2]["detail"] and "time zone" in results[2]["detail"]
    assert results[2]["issue_id"] is None and results[0]["detail"] is None
    assert results[3]["event_id"] is None and results[3]["detail"]
    assert _issues(client)[0]["event_count"] == 2, "the valid ones are stored, the rejected ones are not"


def test_a_report_repeated_inside_one_batch_is_stored_once(client: TestClient) -> None:
    event = make_event()
    answer = client.post("/api/v1/events/batch", json={"events": [event, event]})
    assert [r["status"] for r in answer.json()["results"]] == ["created", "duplicate"]
    assert _issues(client)[0]["event_count"] == 1


def test_batch_of_one_hundred_is_fine_and_one_more_is_a_422_naming_events(client: TestClient) -> None:
    session_id = uuid.uuid4().hex
    hundred = [make_event(session_id=session_id) for _ in range(100)]
    answer = client.post("/api/v1/events/batch", json={"events": hundred})
    assert answer.status_code == 200
    assert {r["status"] for r in answer.json()["results"]} == {"created"}
    too_many = client.post("/api/v1/events/batch", json={"events": hundred + [make_event()]})
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["loc"] == ["body", "events"]
    assert _issues(client)[0]["event_count"] == 100


def test_empty_batch_is_answered_with_no_results(client: TestClient) -> None:
    answer = client.post("/api/v1/events/batch", json={"events": []})
    assert answer.status_code == 200 and answer.json() == {"results": []}


def test_client_dropped_adds_up_on_the_notebook(client: TestClient) -> None:
    client.post("/api/v1/events/batch", json={"events": [make_event()], "client_dropped": 3})
    client.post("/api/v1/events/batch", json={"events": [make_event()], "client_dropped": 4})
    notebooks = client.get("/api/v1/notebooks", headers=ADMIN).json()
    assert notebooks[0]["name"] == "protein-design"
    assert notebooks[0]["client_dropped"] == 7
    assert notebooks[0]["event_count"] == 2


def test_client_dropped_must_be_a_non_negative_integer(client: TestClient) -> None:
    answer = client.post("/api/v1/events/batch", json={"events": [], "client_dropped": -1})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "client_dropped"]


def test_the_server_scrubs_what_a_careless_client_sends(client: TestClient) -> None:
    event = make_event(
        error_message="FileNotFoundError: /home/alice/secret_project/data.csv token=abc123def456",
        first_line="open('/Users/alice/Desktop/x.csv')  # mail alice@example.org",
        traceback=[
            {"filename": "/home/alice/projects/helpers.py", "fun_name": "load", "lineno": 3},
            {
                "filename": "/home/alice/.venv/lib/python3.11/site-packages/pandas/io/parsers.py",
                "fun_name": "read_csv",
                "lineno": 9,
            },
            {"filename": "pandas/core/frame.py", "fun_name": "__getitem__", "lineno": 1},
        ],
    )
    assert client.post("/api/v1/events", json=event).status_code == 201
    [stored] = _session_events(client, event["session_id"])
    text = str(stored)
    for private in ("alice", "secret_project", "abc123def456", "example.org", "/home", "/Users"):
        assert private not in text, private
    assert "data.csv" in stored["error_message"] and "<redacted>" in stored["error_message"]
    assert [f["filename"] for f in stored["traceback"]] == [
        "helpers.py",
        "pandas/io/parsers.py",
        "pandas/core/frame.py",
    ]


def test_clock_skew_is_clamped_to_the_arrival_window(client: TestClient) -> None:
    now = datetime.now(timezone.utc)
    future = make_event(occurred_at=now + timedelta(days=365))
    ancient = make_event(occurred_at=datetime(1970, 1, 1, tzinfo=timezone.utc))
    offset = make_event(occurred_at=now.astimezone(timezone(timedelta(hours=-5))) - timedelta(hours=1))
    client.post("/api/v1/events/batch", json={"events": [future, ancient, offset]})

    def stored_time(event: Dict[str, Any]) -> datetime:
        [stored] = _session_events(client, event["session_id"])
        return datetime.fromisoformat(stored["occurred_at"].replace("Z", "+00:00"))

    later = datetime.now(timezone.utc)
    assert now <= stored_time(future) <= later
    assert now - timedelta(days=31) < stored_time(ancient) < now - timedelta(days=29)
    assert abs(stored_time(offset) - (now - timedelta(hours=1))) < timedelta(seconds=1), (
        "offsets are honoured"
    )


def test_nul_bytes_are_stored_as_replacement_characters(client: TestClient) -> None:
    """PostgreSQL refuses NUL in text: it must not cause a 500 there."""
    event = make_event(error_message="a\u0000b", notebook="nb\u0000")
    assert client.post("/api/v1/events", json=event).status_code == 201
    [stored] = _session_events(client, event["session_id"])
    assert stored["error_message"] == "a\ufffdb" and stored["notebook"] == "nb\ufffd"
    assert client.get("/api/v1/issues", params={"notebook": "nb\u0000"}, headers=ADMIN).json()["total"] == 1


def test_lone_surrogates_are_a_422_naming_the_field(client: TestClient) -> None:
    body = json.dumps(make_event(error_message="a \ud800 c")).encode()
    answer = client.post("/api/v1/events", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "error_message"]
    usage = client.post("/usages/", json={"notebook": "old"}).json()["uuid"]
    legacy = json.dumps(
        {
            "error_name": "E\ud800",
            "traceback": [{"filename": "\udc00"}],
            "execution_count": 1,
            "first_line": "",
        }
    )
    answer = client.post(
        f"/errors/{usage}/", content=legacy.encode(), headers={"content-type": "application/json"}
    )
    assert answer.status_code in (200, 422), answer.text


def test_batch_results_carry_the_event_id_as_sent_so_clients_can_match_them(client: TestClient) -> None:
    dashed = str(uuid.uuid4())
    events = [
        make_event(event_id=dashed),
        make_event(event_id="not-a-uuid"),
        make_event(event_id=dashed.replace("-", "")),
    ]
    results = client.post("/api/v1/events/batch", json={"events": events}).json()["results"]
    assert [(r["event_id"], r["status"]) for r in results] == [
        (dashed, "created"),
        ("not-a-uuid", "rejected"),
        (dashed.replace("-", ""), "duplicate"),
    ]
