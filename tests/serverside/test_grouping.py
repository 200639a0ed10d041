"""Grouping into issues through the API: counts, sessions, days, regressions (rule: test_fingerprint.py)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List

from fastapi.testclient import TestClient

from notebook_error_reporter import fingerprint as rule
from notebook_error_reporter.serverside import grouping, schemas
from notebook_error_reporter.serverside.grouping import culprit
from notebook_error_reporter.serverside.scrub import clean_event

from .helpers import ADMIN, issue_of, make_event


def frames(*pairs: Any) -> List[Dict[str, Any]]:
    return [{"filename": f, "fun_name": n, "lineno": line} for f, n, line in pairs]


BASE = frames(("<cell 3>", "<module>", 1), ("helpers.py", "load", 10))


def test_culprit_is_the_innermost_frame() -> None:
    assert culprit(BASE) == "helpers.py in load"
    assert culprit([]) == ""


def test_reports_of_the_same_code_group_into_one_issue_with_counts(client: TestClient) -> None:
    day1 = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=2)
    session_a, session_b = uuid.uuid4().hex, uuid.uuid4().hex
    events = [
        make_event(session_id=session_a, occurred_at=day1, error_message="'a'"),
        make_event(session_id=session_a, occurred_at=day1 + timedelta(hours=1), error_message="'b'"),
        make_event(
            session_id=session_b,
            occurred_at=day1 + timedelta(days=1),
            traceback=frames(("<cell 9>", "<module>", 40), ("pandas/core/frame.py", "__getitem__", 1)),
            execution_count=9,
        ),
    ]
    results = client.post("/api/v1/events/batch", json={"events": events}).json()["results"]
    assert len({r["issue_id"] for r in results}) == 1
    issue = issue_of(client, results[0]["issue_id"])
    assert issue["event_count"] == 3
    assert issue["session_count"] == 2
    assert issue["message"] == "'a'", "the first report's message names the issue"
    assert issue["culprit"] == "pandas/core/frame.py in __getitem__"
    assert issue["first_seen"].startswith(day1.strftime("%Y-%m-%dT12:00:00"))
    assert issue["last_seen"].startswith((day1 + timedelta(days=1)).strftime("%Y-%m-%dT12:00:00"))
    assert issue["daily"] == [
        {"day": day1.date().isoformat(), "count": 2},
        {"day": (day1 + timedelta(days=1)).date().isoformat(), "count": 1},
    ]
    # A retry of one of them changes nothing.
    client.post("/api/v1/events", json=events[0])
    assert issue_of(client, results[0]["issue_id"])["event_count"] == 3


def test_different_code_or_notebook_makes_different_issues(client: TestClient) -> None:
    first = client.post("/api/v1/events", json=make_event()).json()["issue_id"]
    other_name = client.post("/api/v1/events", json=make_event(error_name="ValueError")).json()["issue_id"]
    other_notebook = client.post("/api/v1/events", json=make_event(notebook="other")).json()["issue_id"]
    assert len({first, other_name, other_notebook}) == 3
    assert client.get("/api/v1/issues", headers=ADMIN).json()["total"] == 3


def test_a_report_on_a_resolved_issue_reopens_it_as_a_regression(client: TestClient) -> None:
    issue_id = client.post("/api/v1/events", json=make_event()).json()["issue_id"]
    resolved = client.patch(f"/api/v1/issues/{issue_id}", json={"status": "resolved"}, headers=ADMIN)
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert issue_of(client, issue_id)["event_count"] == 1, "resolving deletes nothing"
    client.post("/api/v1/events", json=make_event())
    issue = issue_of(client, issue_id)
    assert issue["status"] == "open" and issue["regression"] is True
    assert issue["regressed_at"] is not None and issue["event_count"] == 2
    # An admin looking at it again clears the flag.
    client.patch(f"/api/v1/issues/{issue_id}", json={"status": "open"}, headers=ADMIN)
    assert issue_of(client, issue_id)["regression"] is False


def test_an_ignored_issue_stays_ignored_and_keeps_counting(client: TestClient) -> None:
    issue_id = client.post("/api/v1/events", json=make_event()).json()["issue_id"]
    client.patch(f"/api/v1/issues/{issue_id}", json={"status": "ignored"}, headers=ADMIN)
    client.post("/api/v1/events", json=make_event())
    issue = issue_of(client, issue_id)
    assert issue["status"] == "ignored" and issue["regression"] is False and issue["event_count"] == 2


def test_a_reports_own_fingerprint_is_validated_and_honoured(client: TestClient) -> None:
    plain = client.post("/api/v1/events", json=make_event()).json()["issue_id"]
    same = client.post("/api/v1/events", json=make_event(fingerprint=["{{ default }}"])).json()["issue_id"]
    assert same == plain, '"{{ default }}" alone is the server\'s own grouping'
    own = [
        client.post("/api/v1/events", json=make_event(fingerprint=["db-down"], **fields)).json()["issue_id"]
        for fields in ({}, {"error_name": "TimeoutError", "first_line": "# Save"})
    ]
    assert own[0] == own[1] != plain
    for bad in (["x"] * 11, ["x" * 201], [], "db-down", [1]):
        answer = client.post("/api/v1/events", json=make_event(fingerprint=bad))
        assert answer.status_code == 422 and "fingerprint" in answer.text, bad
    assert client.get("/api/v1/issues", headers=ADMIN).json()["total"] == 2


def test_remembered_fingerprints_equal_the_rule_s_for_every_part() -> None:
    """The server remembers fingerprints by what they are made of: reports that differ only in line
    numbers share one, and each part the rule uses (notebook, error, message where no cell names
    the place, own fingerprint) still tells reports apart when the memo already holds a neighbour."""
    library = [{"filename": "pkg/mod.py", "fun_name": "call", "lineno": 7}]
    variants: List[Dict[str, Any]] = [
        {},
        {"traceback": [{"filename": "pkg/mod.py", "fun_name": "call", "lineno": 8}]},
        {"notebook": "another.ipynb"},
        {"error_name": "ValueError"},
        {"error_message": "no such column 'b'"},
        {"fingerprint": ["{{ default }}", "tenant-7"]},
    ]
    events = {}
    for n, change in enumerate(variants):
        fields: Dict[str, Any] = {"traceback": library, "error_message": "no such file /tmp/x.csv", **change}
        events[f"{n:032x}"] = clean_event(schemas.EventCreate.model_validate(make_event(**fields)))
    remembered = grouping.fingerprints(events)
    assert remembered == grouping.fingerprints(events)  # the second time from the memo
    for event_id, e in events.items():
        expected = rule.combine(
            e.notebook,
            e.error_name,
            rule.place(e.traceback, e.first_line, e.execution_count),
            rule.message_key(e.error_name, e.error_message, False),
            e.fingerprint,
        )
        assert remembered[event_id] == expected
    prints = list(remembered.values())
    assert prints[0] == prints[1]  # line numbers are not part of the place
    assert len(set(prints)) == len(prints) - 1
