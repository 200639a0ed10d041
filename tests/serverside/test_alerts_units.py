"""The pure parts of alerts: messages, answer classification, back-off, settings; and the upgrade
of an existing 0001 database with its data to the outbox schema."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from slack_server import mrkdwn_texts, outside_code
from sqlalchemy import inspect, select

from notebook_error_reporter.serverside.alerts import messages
from notebook_error_reporter.serverside.alerts.deliverer import AlertConfig
from notebook_error_reporter.serverside.alerts.outbox import ALERT, ClaimedAlert, enqueue, expire
from notebook_error_reporter.serverside.alerts.webhook import outcome_of, safe_text
from notebook_error_reporter.serverside.core import schema
from notebook_error_reporter.serverside.core.config import Settings
from notebook_error_reporter.serverside.core.db import Database
from notebook_error_reporter.serverside.models import ISSUE, NOTEBOOK

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
BASE = "https://errors.example.org"
SECRET_URL = "https://hooks.slack.com/services/T000/B000/verysecrettoken"


def alert(issue_id: int = 7, kind: str = "new", **fields: object) -> ClaimedAlert:
    values = {
        "alert_id": issue_id,
        "kind": kind,
        "attempts": 0,
        "issue_id": issue_id,
        "notebook": "protein-design",
        "error_name": "KeyError",
        "message": "'protein_id'",
        "first_line": "df = proteins['protein_id']",
        "culprit": "<cell> in <module>",
        "event_count": 3,
        "session_count": 2,
        "first_seen": NOW,
        "last_seen": NOW,
    }
    values.update(fields)
    return ClaimedAlert(**values)  # type: ignore[arg-type]


def test_a_single_alert_names_everything_and_links_the_issue() -> None:
    payload = messages.slack_payload([alert()], BASE + "/")
    assert payload["text"] == "New issue in `protein-design`: `KeyError`"
    body = str(payload["blocks"])
    for part in ("protein-design", "KeyError", "'protein_id'", "df = proteins['protein_id']", "3 reports"):
        assert part in body
    assert f"<{BASE}/issues/7|Open issue #7>" in body and "2 sessions" in body
    regression = messages.slack_payload([alert(kind="regression")], BASE)
    assert regression["text"] == "Regression in `protein-design`: `KeyError`" and "was resolved" in str(
        regression
    )


def test_stranger_text_cannot_ping_link_or_break_the_markup() -> None:
    hostile = alert(
        notebook="<!channel>", error_name="E<b>", message="```<!here> <http://evil|x>", first_line="`rm`"
    )
    body = str(messages.slack_payload([hostile], BASE))
    assert "<!channel>" not in body and "<!here>" not in body and "<http://evil" not in body
    assert "&lt;!channel&gt;" in body and "``````" not in body and "`rm`" not in body


def test_a_fake_line_of_markup_and_a_link_stay_inside_code_marks() -> None:
    fake = "\n*please re-authenticate: https://evil.example/login* \u202e`"
    hostile = alert(notebook="nb" + fake, error_name="E" + fake, first_line="x" + fake, culprit="c" + fake)
    for payload in (
        messages.slack_payload([hostile], BASE),
        messages.slack_payload([hostile, alert(8)], BASE),
    ):
        for text in mrkdwn_texts(payload):
            assert "please" not in outside_code(text) and "evil" not in outside_code(text), text
        assert "https://evil" not in str(payload) and "\u202e" not in str(payload)
    summary = messages.webhook_payload([hostile], BASE)["text"]
    assert summary == (
        "New issue in `nb *please re-authenticate: https[:]//evil.example/login* [U+202E]'`: "
        "`E *please re-authenticate: https[:]//evil.example/login* [U+202E]'`"
    )


def test_a_digest_counts_lists_a_few_and_says_how_many_more() -> None:
    burst = [alert(issue_id=n) for n in range(1, 13)] + [alert(issue_id=99, kind="regression")]
    payload = messages.slack_payload(burst, BASE)
    assert payload["text"] == "12 new issues and 1 regression in `protein-design`"
    body = str(payload["blocks"])
    assert f"<{BASE}/issues/10|#10>" in body and f"{BASE}/issues/11" not in body and "…and 3 more" in body
    two = [alert(1), alert(2, notebook="other")]
    assert messages.headline(two) == "2 new issues in 2 notebooks"


def test_the_json_webhook_gets_plain_values() -> None:
    payload = messages.webhook_payload([alert(message="<b>", kind="regression")], BASE)
    assert payload["text"] == "Regression in `protein-design`: `KeyError`"
    (item,) = payload["alerts"]
    assert item["kind"] == "regression" and item["error_message"] == "<b>" and item["count"] == 3
    assert item["url"] == f"{BASE}/issues/7" and item["first_seen"] == NOW.isoformat()
    with pytest.raises(ValueError):
        messages.webhook_payload([], BASE)


@pytest.mark.parametrize(
    ("status", "delivered", "retry"),
    [(200, True, False), (204, True, False), (408, False, True), (429, False, True), (500, False, True),
     (503, False, True), (400, False, False), (403, False, False), (404, False, False), (410, False, False)],
)  # fmt: skip
def test_answers_are_classified(status: int, delivered: bool, retry: bool) -> None:
    outcome = outcome_of(status, None, "no_service" if status == 404 else "", SECRET_URL)
    assert (outcome.delivered, outcome.retry) == (delivered, retry)
    if not delivered:
        assert outcome.error.startswith(f"HTTP {status}")


def test_retry_after_is_read_and_errors_never_carry_the_url() -> None:
    assert outcome_of(429, "7", "", SECRET_URL).retry_after == 7.0
    echoed = outcome_of(400, None, f"bad {SECRET_URL} and /services/T000/B000/verysecrettoken", SECRET_URL)
    assert "verysecrettoken" not in echoed.error and "[webhook]" in echoed.error
    assert len(safe_text("x" * 1000, SECRET_URL)) == 100


def test_alert_settings_round_trip_and_bad_urls_are_refused_without_echo() -> None:
    settings = Settings(
        slack_webhook_url=SECRET_URL,
        alert_webhook_url="http://127.0.0.1:9/hook",
        public_base_url="https://errors.example.org/",
        alert_digest_seconds=30.5,
        alert_poll_seconds=0.25,
    )
    assert settings.public_base_url == BASE
    assert Settings.from_env(settings.to_env()) == settings
    assert Settings.from_env({"NOTEBOOK_ERROR_REPORTER_SLACK_WEBHOOK_URL": ""}).slack_webhook_url is None
    assert Settings.from_env({}, alert_digest_seconds=5).alert_digest_seconds == 5.0
    with pytest.raises(ValueError, match="slack_webhook_url") as refused:
        Settings(slack_webhook_url="hooks.slack.com/services/T/B/verysecrettoken")
    assert "verysecrettoken" not in str(refused.value)
    with pytest.raises(ValueError, match="ALERT_POLL_SECONDS"):
        Settings.from_env({"NOTEBOOK_ERROR_REPORTER_ALERT_POLL_SECONDS": "often"})
    with pytest.raises(ValueError, match="alert_poll_seconds"):
        Settings(alert_poll_seconds=0)
    config = AlertConfig.from_settings(Settings(slack_webhook_url=SECRET_URL, port=8123))
    assert config.targets == {"slack": SECRET_URL} and config.base_url == "http://127.0.0.1:8123"


def test_an_existing_database_upgrades_and_its_outbox_works(database_url: str) -> None:
    database = Database(database_url)
    try:
        schema.upgrade(database, "0001")
        assert "alert" not in inspect(database.engine).get_table_names()
        with database.write_session() as session:  # an issue stored by the old server
            notebook = session.execute(
                NOTEBOOK.insert().values(
                    name="nb", created_at=NOW, event_count=0, session_count=0, client_dropped=0
                )
            ).inserted_primary_key[0]
            issue = session.execute(
                ISSUE.insert().values(
                    notebook_id=notebook,
                    fingerprint="f" * 64,
                    error_name="E",
                    message="m",
                    culprit="",
                    status="open",
                    regression=False,
                    event_count=1,
                    session_count=1,
                    first_seen=NOW,
                    last_seen=NOW,
                )
            ).inserted_primary_key[0]
            session.commit()
        schema.upgrade(database)
        assert schema.current_revision(database) == schema.head_revision()
        with database.write_session() as session:
            assert session.execute(select(ALERT)).all() == []  # old issues are not alerted
            assert enqueue(session=session, new=[issue], regressed=[], now=NOW) == 2
            session.commit()
            assert expire(session=session, older_than=NOW, now=NOW) == 0
            assert expire(session=session, older_than=NOW + timedelta(seconds=1), now=NOW) == 2
            statuses = session.execute(select(ALERT.c.target, ALERT.c.status).order_by(ALERT.c.target)).all()
        assert [tuple(row) for row in statuses] == [("slack", "expired"), ("webhook", "expired")]
    finally:
        database.dispose()
