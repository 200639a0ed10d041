"""Alerts from a REAL server process (uvicorn on 127.0.0.1): pending alerts survive a restart, and
what a reporter wrote reaches Slack and the JSON webhook as inert text.

The webhook is down (nothing listens on its port) while the server stores a new issue and tries;
the server is stopped with the alert pending, the webhook comes up on the same port, the server
starts again, and the alert arrives exactly once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from slack_server import WEBHOOK_PATH, SlackServer, mrkdwn_texts, outside_code
from sqlalchemy import select

from notebook_error_reporter.serverside.alerts.health import webhook_failures
from notebook_error_reporter.serverside.alerts.outbox import ALERT
from notebook_error_reporter.serverside.core.db import Database

from .databases import fresh_database
from .helpers import make_event, wait_for_value
from .live_server import free_port, server_on_fresh_database, start_server

SETTINGS = {
    "alert_poll_seconds": 0.05,
    "alert_retry_base_seconds": 0.1,
    "alert_retry_max_seconds": 0.3,
    "alert_digest_seconds": 0.0,
    "public_base_url": "http://errors.example.org",
}


def test_an_alert_pending_at_shutdown_is_delivered_once_after_the_restart(tmp_path: Path) -> None:
    port = free_port()
    webhook = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    with fresh_database(tmp_path) as url:
        server = start_server(tmp_path, database_url=url, slack_webhook_url=webhook, **SETTINGS)
        database = Database(url)
        try:
            answer = httpx.post(server.url("/api/v1/events"), json=make_event(), timeout=10)
            assert answer.status_code == 201
            issue_id = answer.json()["issue_id"]

            def failing() -> Any:
                with database.session() as session:
                    return webhook_failures(session=session)

            (failure,) = wait_for_value(failing)
            assert failure.last_error == "could not connect" and failure.pending == 1
            server.stop()
            assert server.process.returncode is not None
            assert "secretwebhooktoken" not in server.log()

            with SlackServer(port=port) as slack:
                server.restart()
                post = slack.wait_for(1)[0]
                assert f"http://errors.example.org/issues/{issue_id}" in post.text

                def statuses() -> Any:
                    with database.session() as session:
                        found = session.execute(select(ALERT.c.status).where(ALERT.c.target == "slack"))
                        return [status for (status,) in found]

                wait_for_value(lambda: statuses() == ["sent"])
                repeat = httpx.post(server.url("/api/v1/events"), json=make_event(), timeout=10)
                assert repeat.json()["issue_id"] == issue_id
                barrier = httpx.post(
                    server.url("/api/v1/events"), json=make_event(error_name="ValueError"), timeout=10
                )
                assert "ValueError" in slack.wait_for(2)[1].text
                wait_for_value(lambda: statuses() == ["sent", "sent"])
                assert len(slack.posts()) == 2, "the restarted server sent the old alert again"
                assert f"/issues/{barrier.json()['issue_id']}" in slack.posts()[1].text
                assert failing() == []
        finally:
            server.stop()
            database.dispose()


FAKE_LINE = "\n*please re-authenticate: https://evil.example/login* <!channel>"


def test_a_reporter_cannot_shape_the_alerts_text(tmp_path: Path) -> None:
    with SlackServer() as slack, SlackServer() as hook:
        settings = dict(SETTINGS, slack_webhook_url=slack.webhook, alert_webhook_url=hook.url + "/hook")
        with server_on_fresh_database(tmp_path, **settings) as server:
            event = make_event(
                notebook="protein-design" + FAKE_LINE,
                error_name="KeyError" + FAKE_LINE,
                error_message="'id'" + FAKE_LINE + " ``` `",
                first_line="x = 1" + FAKE_LINE + " \u202e",
            )
            answer = httpx.post(server.url("/api/v1/events"), json=event, timeout=10)
            assert answer.status_code == 201, answer.text
            post, sent = slack.wait_for(1)[0], hook.wait_for(1)[0]
    assert "https://evil" not in post.text and "<!channel>" not in post.text and "\\u202e" not in post.text
    for text in mrkdwn_texts(post.json):
        assert "please" not in outside_code(text) and "evil" not in outside_code(text), text
    assert (
        "`protein-design *please re-authenticate: https[:]//evil.example/login* &lt;!channel&gt;`"
        in post.text
    )
    summary = sent.json["text"]
    assert "\n" not in summary and "https://evil" not in summary and "please" not in outside_code(summary)
    assert sent.json["alerts"][0]["notebook"] == event["notebook"], "the fields keep the plain values"
