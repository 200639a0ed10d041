"""The old-copy rule end to end: a real server process (uvicorn on 127.0.0.1, the suite's database)
and a fake Slack. Reports with versions go through HTTP; the admin resolves the issue as fixed in
2.0; a report from 1.5 counts but neither reopens it nor alerts; one from 2.0 reopens it and Slack
gets the regression alert."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any, Optional

import httpx
from slack_server import SlackServer

from ..helpers import ADMIN, make_event
from ..live_server import LiveServer, server_on_fresh_database

SETTINGS = {
    "alert_poll_seconds": 0.05,
    "alert_digest_seconds": 0.0,
    "public_base_url": "http://errors.example.org",
}
SESSION = uuid.uuid4().hex


def post(server: LiveServer, version: Optional[str]) -> int:
    fields = {} if version is None else {"notebook_version": version}
    answer = httpx.post(
        server.url("/api/v1/events"), json=make_event(session_id=SESSION, **fields), timeout=10
    )
    assert answer.status_code == 201, answer.text
    issue_id: int = answer.json()["issue_id"]
    return issue_id


def issue(server: LiveServer, issue_id: int) -> Any:
    return httpx.get(server.url(f"/api/v1/issues/{issue_id}"), headers=ADMIN, timeout=10).json()


def test_an_older_copy_neither_reopens_nor_alerts_and_the_fixed_version_does(tmp_path: Path) -> None:
    with SlackServer() as slack:
        with server_on_fresh_database(tmp_path, slack_webhook_url=slack.webhook, **SETTINGS) as server:
            issue_id = post(server, "1.0")
            assert "New issue" in slack.wait_for(1)[0].text
            answer = httpx.patch(
                server.url(f"/api/v1/issues/{issue_id}"),
                json={"status": "resolved", "fixed_in_version": "2.0", "note": "Fixed in the new copy"},
                headers=ADMIN,
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
            notes = httpx.get(server.url("/api/v1/notebooks/protein-design/notes"), timeout=10).json()[
                "notes"
            ]
            assert [(n["note"], n["fixed_in_version"]) for n in notes] == [("Fixed in the new copy", "2.0")]

            assert post(server, "1.5") == issue_id
            assert post(server, "1.0") == issue_id
            found = issue(server, issue_id)
            assert found["status"] == "resolved" and found["event_count"] == 3 and not found["regression"]
            time.sleep(0.5)  # ten polls of the deliverer: nothing to send
            assert len(slack.posts()) == 1

            assert post(server, "2.0") == issue_id
            found = issue(server, issue_id)
            assert found["status"] == "open" and found["regression"] and found["event_count"] == 4
            regression = slack.wait_for(2)[1]
            assert "Regression" in regression.text
            assert f"http://errors.example.org/issues/{issue_id}" in regression.text
            time.sleep(0.3)
            assert len(slack.posts()) == 2  # once per regression, not once per report
