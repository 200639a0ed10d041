"""Alerts end to end in-process: real ingest, the real deliverer thread, a recording webhook on 127.0.0.1.

Each test's app polls every 20 ms and backs off from 50 ms, so nothing waits long; waits are
poll-until (the recording server's ``wait_for``, or the outbox reaching a state), never bare sleeps
that hope. "No message" is shown with a barrier: a later new issue's message arrives, and nothing
came before it that should not have (the deliverer sends in outbox order).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Dict, Iterator, List

import pytest
from fastapi.testclient import TestClient
from slack_server import WEBHOOK_PATH, SlackServer
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from notebook_error_reporter.serverside import create_app
from notebook_error_reporter.serverside.alerts.health import webhook_failures
from notebook_error_reporter.serverside.alerts.outbox import ALERT
from notebook_error_reporter.serverside.core.db import Database

from .helpers import ADMIN, MakeClient, make_event, wait_for_value

BASE = "http://errors.example.org"
FAST: Dict[str, Any] = {
    "alert_poll_seconds": 0.02,
    "alert_retry_base_seconds": 0.05,
    "alert_retry_max_seconds": 0.2,
    "alert_digest_seconds": 0.0,
    "public_base_url": BASE + "/",
}


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    with SlackServer() as server:
        yield server


@pytest.fixture
def hook() -> Iterator[SlackServer]:
    with SlackServer() as server:
        yield server


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


def report(client: TestClient, **fields: Any) -> int:
    response = client.post("/api/v1/events", json=make_event(**fields))
    assert response.status_code in (200, 201), response.text
    return int(response.json()["issue_id"])


def rows(database: Database) -> List[Dict[str, Any]]:
    with database.session() as session:
        return [dict(row._mapping) for row in session.execute(select(ALERT).order_by(ALERT.c.id))]


def settled(database: Database, target: str = "slack") -> bool:
    return all(row["status"] != "pending" for row in rows(database) if row["target"] == target)


def test_one_message_per_new_issue_none_for_repeats(
    make_client: MakeClient, slack: SlackServer, hook: SlackServer, database: Database
) -> None:
    client = make_client(slack_webhook_url=slack.webhook, alert_webhook_url=hook.url + "/hook", **FAST)
    cell = "df = load('<b>x</b>')"
    first = report(client, error_message="'protein_id'", first_line=cell)
    post = slack.wait_for(1)[0]
    assert post.path == WEBHOOK_PATH
    text = post.text
    assert "New issue" in text and "protein-design" in text and "KeyError" in text
    assert "'protein_id'" in text and "df = load('&lt;b&gt;x&lt;/b&gt;')" in text
    assert f"{BASE}/issues/{first}" in text and "1 report in 1 session" in text
    assert post.json["text"] == "New issue in `protein-design`: `KeyError`"

    sent = make_event(first_line=cell)
    for _ in range(3):  # the same problem again, and a client's retry of one report
        assert report(client, first_line=cell) == first
    assert client.post("/api/v1/events", json=sent).status_code == 201
    assert client.post("/api/v1/events", json=sent).status_code == 200
    second = report(client, error_name="ValueError")  # the barrier
    posts = slack.wait_for(2)
    assert second != first and f"/issues/{second}" in posts[1].text and "ValueError" in posts[1].text
    wait_for_value(lambda: settled(database) and settled(database, "webhook"))
    assert len(slack.posts()) == 2
    assert [(r["issue_id"], r["kind"], r["status"]) for r in rows(database) if r["target"] == "slack"] == [
        (first, "new", "sent"),
        (second, "new", "sent"),
    ]

    hooks = hook.wait_for(2)
    assert len(hooks) == 2 and hooks[0].path == "/hook"
    alert = hooks[0].json["alerts"][0]
    assert hooks[0].json["type"] == "notebook_error_reporter.alerts"
    assert alert["kind"] == "new_issue" and alert["issue_id"] == first
    assert alert["url"] == f"{BASE}/issues/{first}"
    assert alert["notebook"] == "protein-design" and alert["error_name"] == "KeyError"
    assert alert["first_line"] == "df = load('<b>x</b>')" and alert["count"] >= 1


def test_a_regression_alerts_once(make_client: MakeClient, slack: SlackServer, database: Database) -> None:
    client = make_client(slack_webhook_url=slack.webhook, **FAST)
    issue = report(client)
    slack.wait_for(1)
    resolved = client.patch(f"/api/v1/issues/{issue}", json={"status": "resolved"}, headers=ADMIN)
    assert resolved.status_code == 200
    assert report(client) == issue  # reopens it
    regression = slack.wait_for(2)[1]
    assert "Regression" in regression.text and f"/issues/{issue}" in regression.text
    assert regression.json["text"] == "Regression in `protein-design`: `KeyError`"
    assert "2 reports" in regression.text
    report(client)  # open again: a repeat, no alert
    report(client, error_name="TypeError")  # the barrier
    assert "TypeError" in slack.wait_for(3)[2].text
    wait_for_value(lambda: settled(database))
    assert len(slack.posts()) == 3
    assert [r["kind"] for r in rows(database) if r["target"] == "slack"] == ["new", "regression", "new"]


def test_a_burst_becomes_one_digest(make_client: MakeClient, slack: SlackServer, database: Database) -> None:
    client = make_client(slack_webhook_url=slack.webhook, **FAST)
    names = ["KeyError", "ValueError", "TypeError", "IndexError", "ZeroDivisionError"]
    response = client.post("/api/v1/events/batch", json={"events": [make_event(error_name=n) for n in names]})
    assert response.status_code in (200, 201, 207), response.text
    digest = slack.wait_for(1)[0]
    wait_for_value(lambda: settled(database))
    assert len(slack.posts()) == 1
    assert digest.json["text"] == "5 new issues in `protein-design`"
    issue_ids = {r["issue_id"] for r in rows(database)}
    assert len(issue_ids) == 5
    for issue_id in issue_ids:
        assert f"{BASE}/issues/{issue_id}|#{issue_id}>" in digest.text
    for name in names:
        assert name in digest.text


def test_alerts_within_the_digest_window_wait_and_go_out_together(
    make_client: MakeClient, slack: SlackServer
) -> None:
    client = make_client(slack_webhook_url=slack.webhook, **dict(FAST, alert_digest_seconds=1.0))
    report(client, error_name="KeyError")
    first = slack.wait_for(1)[0]
    assert first.json["text"] == "New issue in `protein-design`: `KeyError`"
    for name in ("ValueError", "TypeError", "IndexError"):
        report(client, error_name=name)
    digest = slack.wait_for(2)[1]
    assert digest.json["text"] == "3 new issues in `protein-design`"
    assert digest.at - first.at >= 1.0
    assert len(slack.posts()) == 2


def test_429_is_retried_after_its_retry_after(
    make_client: MakeClient, slack: SlackServer, database: Database
) -> None:
    slack.reply(429, headers={"Retry-After": "1"})
    client = make_client(slack_webhook_url=slack.webhook, **FAST)
    report(client)
    refused, accepted = slack.wait_for(2)
    assert refused.status == 429 and accepted.status == 200
    assert accepted.at - refused.at >= 1.0  # the back-off alone would have retried after 50 ms
    assert accepted.json == refused.json
    wait_for_value(lambda: settled(database))
    assert [r["status"] for r in rows(database) if r["target"] == "slack"] == ["sent"]
    with database.session() as session:
        assert webhook_failures(session=session) == []  # healthy again after the success


def test_5xx_is_retried_with_growing_back_off(
    make_client: MakeClient, slack: SlackServer, database: Database
) -> None:
    slack.reply(500, times=3)
    client = make_client(slack_webhook_url=slack.webhook, **dict(FAST, alert_retry_base_seconds=0.1))
    report(client)
    posts = slack.wait_for(4)
    assert [p.status for p in posts] == [500, 500, 500, 200]
    gaps = [b.at - a.at for a, b in zip(posts, posts[1:])]
    # Equal jitter: retry n waits between half and all of base * 2**n (capped at 0.2 s).
    assert 0.05 <= gaps[0] and 0.1 <= gaps[1] and 0.1 <= gaps[2]
    wait_for_value(lambda: settled(database))
    assert len(slack.accepted()) == 1
    assert [r["attempts"] for r in rows(database) if r["target"] == "slack"] == [4]


def test_a_refusing_webhook_is_given_up_and_shown(
    make_client: MakeClient, slack: SlackServer, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    slack.reply(404, body="no_service")
    client = make_client(slack_webhook_url=slack.webhook, **FAST)
    with caplog.at_level(logging.INFO, logger="notebook_error_reporter"):
        report(client)
        slack.wait_for(1)
        # The deliverer logs once the row's failure is committed: wait for both.
        wait_for_value(lambda: settled(database) and "refused" in caplog.text)
    assert [r["status"] for r in rows(database) if r["target"] == "slack"] == ["failed"]
    with database.session() as session:
        (failure,) = webhook_failures(session=session)
    assert failure.target == "slack" and failure.last_error == "HTTP 404: no_service" and failure.pending == 0
    assert "refused" in caplog.text and "secretwebhooktoken" not in caplog.text
    time.sleep(0.1)  # a given-up alert is not retried: still the one post after many polls
    assert len(slack.posts()) == 1

    report(client, error_name="ValueError")  # the next alert gets through: healthy again
    slack.wait_for(2)
    wait_for_value(lambda: settled(database))
    with database.session() as session:
        assert webhook_failures(session=session) == []


def test_an_unreachable_webhook_is_retried_and_visible_without_its_secret(
    make_client: MakeClient, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with SlackServer() as gone:
        url = gone.webhook  # a port nobody listens on once this block ends
    client = make_client(slack_webhook_url=url, **FAST)
    with caplog.at_level(logging.INFO, logger="notebook_error_reporter"):
        report(client)

        def failing() -> Any:
            with database.session() as session:
                return webhook_failures(session=session)

        (failure,) = wait_for_value(failing)
        wait_for_value(lambda: rows(database)[0]["attempts"] >= 2)
    assert failure.target == "slack" and failure.last_error == "could not connect" and failure.pending == 1
    assert failure.failing_since <= rows(database)[0]["next_attempt_at"]
    assert "could not connect" in caplog.text
    assert "secretwebhooktoken" not in caplog.text and "secretwebhooktoken" not in failure.last_error


def test_a_target_configured_later_gets_what_waits_as_one_digest(
    make_client: MakeClient, slack: SlackServer, database: Database
) -> None:
    quiet = make_client(**FAST)  # no webhook: its alerts wait (another server might deliver them)
    old = report(quiet)
    new = report(quiet, error_name="ValueError")
    time.sleep(0.1)  # several polls of the quiet server's deliverer
    assert {r["status"] for r in rows(database)} == {"pending"}
    make_client(slack_webhook_url=slack.webhook, **FAST)
    wait_for_value(lambda: settled(database))
    (post,) = slack.posts()
    assert post.json["text"] == "2 new issues in `protein-design`"
    assert f"/issues/{new}|" in post.text and f"/issues/{old}|" in post.text
    assert {r["status"] for r in rows(database) if r["target"] == "webhook"} == {"pending"}


def test_two_deliverers_on_one_database_send_each_alert_once(
    make_client: MakeClient, slack: SlackServer, database: Database
) -> None:
    clients = [make_client(slack_webhook_url=slack.webhook, **FAST) for _ in range(2)]
    issue_ids = {report(clients[n % 2], error_name=f"Error{n}") for n in range(12)}
    wait_for_value(lambda: len(rows(database)) == 24 and settled(database))
    mentioned: List[int] = []
    for post in slack.posts():
        mentioned += [i for i in issue_ids if f"/issues/{i}>" in post.text or f"/issues/{i}|" in post.text]
    assert sorted(mentioned) == sorted(issue_ids)


def test_ingest_never_waits_for_a_slow_webhook(make_client: MakeClient, database: Database) -> None:
    # Each post takes the webhook 4 s: five new issues stored in under 3 s never waited on one, even on
    # a slow machine under the suite's load (1.3 s seen with PostgreSQL on the same two cores).
    with SlackServer(delay=4.0) as slow:
        client = make_client(slack_webhook_url=slow.webhook, **FAST)
        started = time.monotonic()
        for n in range(5):
            report(client, error_name=f"Error{n}")
        assert time.monotonic() - started < 3.0
        slow.wait_for(1)


def test_the_deliverer_lives_as_long_as_the_app(database_url: str) -> None:
    app = create_app(database_url, **FAST)
    with TestClient(app):
        thread = app.state.alerts._thread
        assert thread is not None and thread.is_alive() and thread.daemon
    thread.join(0)
    assert not thread.is_alive() and app.state.alerts._thread is None


def test_a_database_outage_is_one_warning_a_round_and_only_a_bug_gets_a_traceback(
    database_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restarting database is routine (the chaos test restarts PostgreSQL): a line, not a traceback."""

    class ConnectionRefused(Exception):
        pass

    failures: List[Exception] = [OperationalError("SELECT 1", {}, ConnectionRefused()), ValueError("a bug")]

    def failing_round() -> None:
        if failures:
            raise failures.pop(0)

    app = create_app(database_url, **FAST)
    with caplog.at_level(logging.WARNING, logger="notebook_error_reporter"), TestClient(app):
        monkeypatch.setattr(app.state.alerts, "run_once", failing_round)
        wait_for_value(lambda: "delivery round failed" in caplog.text)
    outage = [r for r in caplog.records if "database unavailable (ConnectionRefused)" in r.getMessage()]
    bug = [r for r in caplog.records if "delivery round failed" in r.getMessage()]
    assert len(outage) == 1 and outage[0].exc_info is None
    assert len(bug) == 1 and bug[0].exc_info is not None
