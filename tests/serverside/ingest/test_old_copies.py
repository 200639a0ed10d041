"""A resolved issue with a fixed version: reports from older copies count but neither reopen it nor
alert; the fixed version or a newer one reopens it as a regression; no version reopens it too.
Older is PEP 440 order where both versions parse, else the order the server first saw them."""

from __future__ import annotations

import uuid
from typing import Any, List, Optional

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from notebook_error_reporter.serverside.alerts.outbox import ALERT
from notebook_error_reporter.serverside.core.db import Database

from ..helpers import ADMIN, make_event

SESSION = uuid.uuid4().hex  # one session: its ids are remembered, so PostgreSQL's event loop stores it


def report(client: TestClient, version: Optional[str]) -> int:
    fields = {} if version is None else {"notebook_version": version}
    answer = client.post("/api/v1/events", json=make_event(session_id=SESSION, **fields))
    assert answer.status_code == 201, answer.text
    issue_id: int = answer.json()["issue_id"]
    return issue_id


def resolve(client: TestClient, issue_id: int, fixed: str) -> None:
    answer = client.patch(
        f"/api/v1/issues/{issue_id}", json={"status": "resolved", "fixed_in_version": fixed}, headers=ADMIN
    )
    assert answer.status_code == 200, answer.text


def state(client: TestClient, issue_id: int) -> Any:
    return client.get(f"/api/v1/issues/{issue_id}", headers=ADMIN).json()


def regression_alerts(database: Database) -> List[int]:
    with database.session() as session:
        rows = session.execute(select(ALERT.c.issue_id).where(ALERT.c.kind == "regression"))
        return sorted({int(issue_id) for (issue_id,) in rows})


def newest_event(client: TestClient, issue_id: int) -> Any:
    return client.get(f"/api/v1/issues/{issue_id}/events", headers=ADMIN).json()["items"][0]


@pytest.mark.parametrize(
    "seen, fixed, later, reopens",
    [
        # PEP 440 where both parse (whatever order the server saw them in).
        (["1.0", "2.0"], "2.0", "1.5", False),
        (["2.0", "1.0"], "2.0", "1.0", False),
        (["1.0"], "2.0", "2.0", True),
        (["1.0"], "2.0", "2.1", True),
        (["1.0"], "2.0", "2.0rc1", False),
        (["1.0"], "2026.12.1", "2026.11.30", False),
        # First-seen order where one does not parse: the fix seen after the report's version ...
        (["alpha-copy", "beta-copy"], "beta-copy", "alpha-copy", False),
        # ... or before it.
        (["beta-copy", "alpha-copy"], "beta-copy", "alpha-copy", True),
        (["2026-11-01", "2026-12-01"], "2026-12-01", "2026-11-01", False),
        # A fix named before any report came from it: every version seen so far is older ...
        (["alpha-copy"], "gamma-copy", "alpha-copy", False),
        # ... and one first seen afterwards is newer.
        (["alpha-copy"], "gamma-copy", "delta-copy", True),
        # No version: reopens, as without a fixed version.
        (["1.0"], "2.0", None, True),
    ],
)
def test_older_copies_do_not_reopen(
    client: TestClient,
    database: Database,
    seen: List[str],
    fixed: str,
    later: Optional[str],
    reopens: bool,
) -> None:
    issue_id = report(client, seen[0])
    for version in seen[1:]:
        assert report(client, version) == issue_id
    resolve(client, issue_id, fixed)

    assert report(client, later) == issue_id
    issue = state(client, issue_id)
    assert issue["event_count"] == len(seen) + 1  # counted either way
    assert issue["status"] == ("open" if reopens else "resolved")
    assert issue["regression"] is reopens
    assert regression_alerts(database) == ([issue_id] if reopens else [])
    assert newest_event(client, issue_id)["older_copy"] is (not reopens)
    shown = {v["version"]: v["older_copy"] for v in issue["versions"]}
    assert shown[later] is (not reopens)


def test_a_batch_with_one_newer_report_reopens(client: TestClient, database: Database) -> None:
    issue_id = report(client, "1.0")
    resolve(client, issue_id, "2.0")
    batch = [make_event(notebook_version=v) for v in ("1.0", "1.1", "3.0")]
    answer = client.post("/api/v1/events/batch", json={"events": batch})
    assert [r["status"] for r in answer.json()["results"]] == ["created"] * 3
    assert state(client, issue_id)["status"] == "open"
    assert regression_alerts(database) == [issue_id]


def test_without_a_fixed_version_any_report_reopens(client: TestClient, database: Database) -> None:
    issue_id = report(client, "2.0")
    answer = client.patch(f"/api/v1/issues/{issue_id}", json={"status": "resolved"}, headers=ADMIN)
    assert answer.status_code == 200
    report(client, "1.0")
    assert state(client, issue_id)["status"] == "open"
    assert regression_alerts(database) == [issue_id]


def test_removing_the_fixed_version_restores_the_old_rule(client: TestClient, database: Database) -> None:
    issue_id = report(client, "1.0")
    resolve(client, issue_id, "2.0")
    report(client, "1.0")
    assert state(client, issue_id)["status"] == "resolved"
    client.patch(f"/api/v1/issues/{issue_id}", json={"fixed_in_version": None}, headers=ADMIN)
    report(client, "1.0")
    assert state(client, issue_id)["status"] == "open"
    assert regression_alerts(database) == [issue_id]
