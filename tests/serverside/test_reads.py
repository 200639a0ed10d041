"""Admin reads: notebooks with counts; issues filtered, sorted, paginated; one issue; its events."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List

import pytest
from fastapi.testclient import TestClient

from .helpers import ADMIN, FRAMES, make_event


def _frames(function: str) -> List[Dict[str, Any]]:
    return [
        {"filename": "<cell 1>", "fun_name": "<module>", "lineno": 1},
        {"filename": "lib.py", "fun_name": function, "lineno": 2},
    ]


@pytest.fixture
def populated(client: TestClient) -> TestClient:
    """Notebook 'alpha': issue f (3 reports, oldest), g (1 report, newest); 'beta': issue h (2 reports)."""
    now = datetime.now(timezone.utc)
    events = (
        [
            make_event(notebook="alpha", traceback=_frames("f"), occurred_at=now - timedelta(days=3, hours=i))
            for i in range(3)
        ]
        + [make_event(notebook="alpha", traceback=_frames("g"), occurred_at=now - timedelta(minutes=1))]
        + [
            make_event(notebook="beta", traceback=_frames("h"), occurred_at=now - timedelta(days=1))
            for _ in range(2)
        ]
    )
    assert client.post("/api/v1/events/batch", json={"events": events}).status_code == 200
    return client


def _issues(client: TestClient, **params: Any) -> Dict[str, Any]:
    answer = client.get("/api/v1/issues", params=params, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    page: Dict[str, Any] = answer.json()
    return page


def test_notebooks_come_with_their_counts(populated: TestClient) -> None:
    notebooks = {n["name"]: n for n in populated.get("/api/v1/notebooks", headers=ADMIN).json()}
    assert set(notebooks) == {"alpha", "beta"}
    assert notebooks["alpha"]["event_count"] == 4 and notebooks["alpha"]["issue_count"] == 2
    assert notebooks["alpha"]["open_issue_count"] == 2 and notebooks["alpha"]["session_count"] == 4
    assert notebooks["beta"]["event_count"] == 2 and notebooks["beta"]["issue_count"] == 1
    issue = _issues(populated, notebook="beta")["items"][0]
    populated.patch(f"/api/v1/issues/{issue['id']}", json={"status": "resolved"}, headers=ADMIN)
    beta = [n for n in populated.get("/api/v1/notebooks", headers=ADMIN).json() if n["name"] == "beta"][0]
    assert beta["open_issue_count"] == 0 and beta["issue_count"] == 1


def test_issues_filter_by_notebook_and_status(populated: TestClient) -> None:
    alpha = _issues(populated, notebook="alpha")
    assert alpha["total"] == 2 and {i["notebook"] for i in alpha["items"]} == {"alpha"}
    assert _issues(populated, notebook="nobody")["total"] == 0
    populated.patch(f"/api/v1/issues/{alpha['items'][0]['id']}", json={"status": "ignored"}, headers=ADMIN)
    assert _issues(populated, status="ignored")["total"] == 1
    assert _issues(populated, status="open")["total"] == 2
    assert populated.get("/api/v1/issues", params={"status": "fixed"}, headers=ADMIN).status_code == 422


def test_issues_filter_by_time_and_refuse_naive_times(populated: TestClient) -> None:
    since = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat()
    recent = _issues(populated, seen_after=since)
    assert [i["culprit"] for i in recent["items"]] == ["lib.py in g"]
    before = _issues(populated, seen_before=since)
    assert {i["culprit"] for i in before["items"]} == {"lib.py in f", "lib.py in h"}
    naive = populated.get("/api/v1/issues", params={"seen_after": "2024-01-01T00:00:00"}, headers=ADMIN)
    assert naive.status_code == 422 and naive.json()["detail"][0]["loc"] == ["query", "seen_after"]


def test_issues_sort_by_last_seen_or_count(populated: TestClient) -> None:
    by_time = [i["culprit"] for i in _issues(populated)["items"]]
    assert by_time == ["lib.py in g", "lib.py in h", "lib.py in f"]
    by_count = [i["culprit"] for i in _issues(populated, sort="count")["items"]]
    assert by_count == ["lib.py in f", "lib.py in h", "lib.py in g"]
    assert populated.get("/api/v1/issues", params={"sort": "random"}, headers=ADMIN).status_code == 422


def test_issues_paginate_with_a_total(populated: TestClient) -> None:
    first = _issues(populated, limit=2, offset=0)
    second = _issues(populated, limit=2, offset=2)
    assert first["total"] == second["total"] == 3
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert len(set(ids)) == 3
    assert populated.get("/api/v1/issues", params={"limit": 0}, headers=ADMIN).status_code == 422
    assert populated.get("/api/v1/issues", params={"limit": 501}, headers=ADMIN).status_code == 422


def test_one_issue_with_daily_counts_and_its_events_newest_first(populated: TestClient) -> None:
    issue = _issues(populated, sort="count")["items"][0]
    detail = populated.get(f"/api/v1/issues/{issue['id']}", headers=ADMIN).json()
    assert sum(day["count"] for day in detail["daily"]) == 3
    assert detail["traceback"][-1]["fun_name"] == "f"
    page = populated.get(f"/api/v1/issues/{issue['id']}/events", params={"limit": 2}, headers=ADMIN).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    rest = populated.get(
        f"/api/v1/issues/{issue['id']}/events", params={"limit": 2, "offset": 2}, headers=ADMIN
    ).json()
    assert len(rest["items"]) == 1
    ids = [e["event_id"] for e in page["items"] + rest["items"]]
    assert len(set(ids)) == 3
    assert all(e["issue_id"] == issue["id"] for e in page["items"])


def test_an_issue_shows_the_traceback_of_the_report_that_happened_last(client: TestClient) -> None:
    """A report that arrives late (a spooled one) is not an issue's newest: the time it happened is."""
    now = datetime.now(timezone.utc)

    def report(minutes_ago: int, lineno: int) -> int:
        frames = [FRAMES[0], {**FRAMES[1], "lineno": lineno}]
        event = make_event(occurred_at=now - timedelta(minutes=minutes_ago), traceback=frames)
        answer = client.post("/api/v1/events", json=event)
        assert answer.status_code == 201, answer.text
        issue_id: int = answer.json()["issue_id"]
        return issue_id

    issue_id = report(0, 100)
    assert report(60, 200) == issue_id
    detail = client.get(f"/api/v1/issues/{issue_id}", headers=ADMIN).json()
    assert detail["traceback"][-1]["lineno"] == 100
    events = client.get(f"/api/v1/issues/{issue_id}/events", headers=ADMIN).json()["items"]
    assert [e["traceback"][-1]["lineno"] for e in events] == [100, 200]


def test_session_events_paginate(client: TestClient) -> None:
    session_id = uuid.uuid4().hex
    events = [make_event(session_id=session_id) for _ in range(5)]
    client.post("/api/v1/events/batch", json={"events": events})
    everything = [e["event_id"] for e in client.get(f"/api/v1/sessions/{session_id}/events").json()]
    assert sorted(everything) == sorted(e["event_id"] for e in events)
    got = client.get(f"/api/v1/sessions/{session_id}/events", params={"limit": 3, "offset": 1}).json()
    assert [e["event_id"] for e in got] == everything[1:4]
