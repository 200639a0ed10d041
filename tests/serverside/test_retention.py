"""Retention: reports older than N days go; issues, their counts and daily counts stay."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi.testclient import TestClient

from notebook_error_reporter.serverside.cli import main
from notebook_error_reporter.serverside.crud import retention

from .helpers import ADMIN, make_event


def _post_old_and_new(client: TestClient) -> int:
    now = datetime.now(timezone.utc)
    old = [make_event(occurred_at=now - timedelta(days=20), notebook_version="1.0") for _ in range(3)]
    events = old + [make_event()]
    results = client.post("/api/v1/events/batch", json={"events": events}).json()["results"]
    issue_id: int = results[0]["issue_id"]
    return issue_id


def _check_after_purge(client: TestClient, issue_id: int) -> None:
    issue = client.get(f"/api/v1/issues/{issue_id}", headers=ADMIN).json()
    assert issue["event_count"] == 4, "issue counts are kept"
    assert sum(d["count"] for d in issue["daily"]) == 4, "daily counts are kept"
    events = client.get(f"/api/v1/issues/{issue_id}/events", headers=ADMIN).json()
    assert events["total"] == 1
    assert client.get("/api/v1/notebooks", headers=ADMIN).json()[0]["event_count"] == 4
    reported_from = client.get("/api/v1/issues", params={"version": "1.0"}, headers=ADMIN).json()
    assert [issue["id"] for issue in reported_from["items"]] == [issue_id], "its versions are kept"


def test_admin_route_purges_old_reports(client: TestClient) -> None:
    issue_id = _post_old_and_new(client)
    answer = client.post("/api/v1/admin/purge", params={"older_than_days": 10}, headers=ADMIN)
    assert answer.status_code == 200 and answer.json()["deleted"] == 3
    _check_after_purge(client, issue_id)
    assert (
        client.post("/api/v1/admin/purge", params={"older_than_days": 10}, headers=ADMIN).json()["deleted"]
        == 0
    )
    assert client.post("/api/v1/admin/purge", params={"older_than_days": 0}, headers=ADMIN).status_code == 422
    assert client.post("/api/v1/admin/purge", headers=ADMIN).status_code == 422


def test_purge_works_in_chunks(client: TestClient, monkeypatch: Any) -> None:
    monkeypatch.setattr(retention, "PURGE_CHUNK", 2)
    issue_id = _post_old_and_new(client)
    assert (
        client.post("/api/v1/admin/purge", params={"older_than_days": 10}, headers=ADMIN).json()["deleted"]
        == 3
    )
    _check_after_purge(client, issue_id)


def test_cli_purge_subcommand(client: TestClient, database_url: str, capsys: Any) -> None:
    issue_id = _post_old_and_new(client)
    assert main(["purge", "--older-than-days", "10", "--database-url", database_url]) == 0
    assert "deleted 3 report(s)" in capsys.readouterr().out
    _check_after_purge(client, issue_id)
    assert main(["purge", "--database-url", database_url]) == 2, "no N given: refuse"


def test_retention_setting_purges_at_start(make_client: Any) -> None:
    issue_id = _post_old_and_new(make_client())
    restarted = make_client(retention_days=10)
    _check_after_purge(restarted, issue_id)
