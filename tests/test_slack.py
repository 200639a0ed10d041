"""ErrorSlack end to end: a real IPython shell, the real client, and a fake Slack on 127.0.0.1."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import threading
import time
from contextlib import redirect_stderr, redirect_stdout
from typing import Any, Dict, Iterator, List, Set

import pytest
from IPython.core.interactiveshell import InteractiveShell
from slack_server import WEBHOOK_PATH, Received, SlackServer, mrkdwn_texts, outside_code

from notebook_error_reporter import ErrorSlack, ErrorStore
from notebook_error_reporter.backends.slack import _WORKER
from notebook_error_reporter.slack_message import (
    duration,
    error_message,
    escape,
    fingerprint,
    storm_message,
)
from notebook_error_reporter.types import EventMessageType

pytestmark = pytest.mark.usefixtures("fail_on_internal_errors")
METHODS = ["events", "showtraceback"]
WIRE_KEYS = set(EventMessageType.__required_keys__)


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    with SlackServer() as server:
        yield server
    _WORKER.flush(10)  # nothing of this test may still be posting during the next one


def run(shell: InteractiveShell, cell: str) -> str:
    """Run a cell as a kernel would; return what the user saw (their traceback, nothing of ours)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        shell.run_cell(cell, store_history=True)
    return out.getvalue() + err.getvalue()


def reporter_for(slack: SlackServer, **options: Any) -> ErrorSlack:
    options.setdefault("quiet", True)
    options.setdefault("backoff", 0.01)
    return ErrorSlack(notebook="protein-design", slack_webhook=slack.webhook, **options)


def block_texts(payload: Dict[str, Any]) -> str:
    """All the mrkdwn a channel would render, joined, to search in."""
    texts: List[str] = []
    for block in payload["blocks"]:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts.extend(item["text"] for item in block.get("fields", []) + block.get("elements", []))
    return "\n".join(texts)


def storm_counts(posts: List[Received]) -> List[int]:
    counts = []
    for post in posts:
        text = post.json["text"]
        if text.startswith("…and "):
            counts.append(int(text.split()[1]))
    return counts


# -- set-up: the author's mistakes show at once --------------------------------------------------


def test_a_missing_webhook_is_a_clear_error_when_the_setup_cell_runs() -> None:
    with pytest.raises(ValueError, match="slack_webhook"):
        ErrorSlack(notebook="nb")
    with pytest.raises(ValueError, match="slack_webhook"):
        ErrorSlack(notebook="nb", slack_webhook="  ")
    with pytest.raises(ValueError, match="http"):
        ErrorSlack(notebook="nb", slack_webhook="hooks.slack.com/services/x")


def test_version_0_1_arguments_work_as_keywords_and_positionally(slack: SlackServer) -> None:
    by_keyword = ErrorSlack(notebook="nb", slack_webhook=slack.webhook)
    by_position = ErrorSlack("nb", slack.webhook)
    assert (by_keyword.notebook, by_keyword.slack_webhook) == ("nb", slack.webhook)
    assert by_keyword.target_key() == by_position.target_key()


def test_the_notice_and_repr_never_show_the_secret_webhook(
    shell: InteractiveShell, slack: SlackServer
) -> None:
    reporter = reporter_for(slack, quiet=False)
    with redirect_stdout(io.StringIO()) as out:
        reporter.enable(shell)
    assert "a Slack channel" in out.getvalue()
    assert "secretwebhooktoken" not in out.getvalue() + repr(reporter)


# -- what is posted --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_a_failing_cell_posts_one_readable_message(
    shell: InteractiveShell, slack: SlackServer, method: str
) -> None:
    reporter = reporter_for(slack)
    reporter.enable(shell, method=method)
    run(shell, "def fold(n):\n    raise ValueError(f'cannot fold {n} proteins')")
    run(shell, "# Fold the proteins\nfold(3)")
    count = shell.execution_count - 1
    assert reporter.flush(5)

    [post] = slack.posts()
    assert post.path == WEBHOOK_PATH
    assert post.headers["Content-Type"].startswith("application/json")
    payload = post.json
    assert "`ValueError` in notebook `protein-design`" in payload["text"]
    assert "cannot fold 3 proteins" in payload["text"]
    shown = block_texts(payload)
    assert "`ValueError` in notebook `protein-design`" in shown
    assert "```cannot fold 3 proteins```" in shown
    assert "`# Fold the proteins`" in shown
    assert f"[{count}]" in shown
    # Slack renders &lt; as "<": the frames read "<cell 2>, line 2, in <module>" in the channel.
    frames = f"&lt;cell {count}&gt;, line 2, in &lt;module&gt;\n&lt;cell {count - 1}&gt;, line 2, in fold"
    assert f"```{frames}```" in shown
    assert reporter.stats.as_dict() == {"captured": 1, "dropped": 0, "sent": 1, "failed": 0}
    [event] = reporter.retrieve_errors()
    assert set(event) == WIRE_KEYS
    assert event["error_name"] == "ValueError" and event["execution_count"] == count


def test_no_home_directory_or_secret_leaves_in_the_post(shell: InteractiveShell, slack: SlackServer) -> None:
    home = os.path.expanduser("~")
    reporter = reporter_for(slack)
    reporter.enable(shell)
    run(shell, f"raise OSError('cannot open {home}/projects/data.csv with token=s3cr3tTOKENvalue42')")
    assert reporter.flush(5)
    [post] = slack.posts()
    assert "data.csv" in post.text  # the message stays useful...
    assert home + "/" not in post.text  # ...without the home directory
    assert "s3cr3tTOKENvalue42" not in post.text
    assert "secretwebhooktoken" not in post.text


def test_slack_control_characters_are_escaped_so_nobody_gets_pinged(
    shell: InteractiveShell, slack: SlackServer
) -> None:
    reporter = reporter_for(slack)
    reporter.enable(shell)
    run(shell, "# a < b & c > d\nraise RuntimeError('<!channel> look & see <http://x|y> naïve ✓')")
    assert reporter.flush(5)
    payload = slack.posts()[0].json
    shown = block_texts(payload) + payload["text"]
    assert "<!channel>" not in shown and "<http" not in shown
    assert "&lt;!channel&gt; look &amp; see &lt;http[:]//x|y&gt; naïve ✓" in shown
    assert "`# a &lt; b &amp; c &gt; d`" in shown


FAKE_LINE = "\n*please re-authenticate: https://evil.example/login*"


def test_a_stranger_cannot_write_a_line_of_its_own_into_the_message(
    shell: InteractiveShell, slack: SlackServer
) -> None:
    reporter = ErrorSlack(notebook="protein-design" + FAKE_LINE, slack_webhook=slack.webhook)
    reporter.enable(shell)
    hostile = "x" + FAKE_LINE.replace("\n", "\\n")
    run(shell, f"# {hostile} `x` \u202e\nraise RuntimeError({hostile!r})")
    assert reporter.flush(5)
    post = slack.posts()[0]
    assert "https://evil" not in post.text and "\u202e" not in post.json["text"]
    for text in mrkdwn_texts(post.json):
        assert "please" not in outside_code(text), text
        assert "evil" not in outside_code(text), text
    assert "`protein-design *please re-authenticate: https[:]//evil.example/login*`" in block_texts(post.json)
    assert "[U+202E]" in block_texts(post.json)


def test_the_cell_returns_long_before_a_slow_slack_answers(
    shell: InteractiveShell, slack: SlackServer
) -> None:
    slack.delay = 1.0
    reporter = reporter_for(slack)
    reporter.enable(shell)
    started = time.perf_counter()
    run(shell, "1/0")
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5, f"the failing cell took {elapsed:.3f} s: it waited for Slack"
    assert slack.posts() == []  # the post is still on its way
    assert reporter.flush(5)
    assert len(slack.posts()) == 1 and reporter.stats.sent == 1


# -- Slack's answers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_429_is_retried_after_retry_after_and_posted_once(
    shell: InteractiveShell, slack: SlackServer, method: str
) -> None:
    slack.reply(429, "rate_limited", headers={"Retry-After": "1"})
    reporter = reporter_for(slack)
    reporter.enable(shell, method=method)
    run(shell, "1/0")
    limited, accepted = slack.wait_for(2)
    assert (limited.status, accepted.status) == (429, 200)
    assert accepted.at - limited.at >= 0.95
    assert accepted.body == limited.body  # the same message, retried
    assert reporter.flush(5)
    assert len(slack.accepted()) == 1
    assert reporter.stats.as_dict() == {"captured": 1, "dropped": 0, "sent": 1, "failed": 0}


def test_a_long_retry_after_is_capped(shell: InteractiveShell, slack: SlackServer) -> None:
    slack.reply(429, headers={"Retry-After": "3600"})
    reporter = reporter_for(slack, max_retry_after=0.2)
    reporter.enable(shell)
    run(shell, "1/0")
    assert reporter.flush(5)
    limited, accepted = slack.posts()
    assert 0.15 <= accepted.at - limited.at < 2
    assert reporter.stats.sent == 1


def test_5xx_is_retried_with_backoff_then_dropped_and_counted(
    shell: InteractiveShell, slack: SlackServer, caplog: pytest.LogCaptureFixture
) -> None:
    slack.reply(500, "internal_error", times=10)
    reporter = reporter_for(slack, retries=2, backoff=0.1)
    reporter.enable(shell)
    shown = run(shell, "1/0")
    assert "ZeroDivisionError" in shown and "notebook_error_reporter" not in shown
    with caplog.at_level(logging.DEBUG, logger="notebook_error_reporter"):
        assert reporter.flush(5)
    posts = slack.posts()
    assert [post.status for post in posts] == [500, 500, 500]
    assert posts[1].at - posts[0].at >= 0.04 and posts[2].at - posts[1].at >= 0.09  # backing off
    assert reporter.stats.as_dict() == {"captured": 1, "dropped": 1, "sent": 0, "failed": 0}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "HTTP 500" in warnings[0].getMessage()
    assert all(record.exc_info is None for record in caplog.records)  # no traceback anywhere


def test_a_4xx_is_dropped_at_once_counted_and_logged_once(
    shell: InteractiveShell, slack: SlackServer, caplog: pytest.LogCaptureFixture
) -> None:
    slack.reply(404, "no_service", times=2)
    reporter = reporter_for(slack)
    reporter.enable(shell)
    with caplog.at_level(logging.WARNING, logger="notebook_error_reporter"):
        run(shell, "1/0")
        run(shell, "int('x')")
        assert reporter.flush(5)
    assert [post.status for post in slack.posts()] == [404, 404]  # no retry of a 4xx
    assert reporter.stats.as_dict() == {"captured": 2, "dropped": 2, "sent": 0, "failed": 0}
    [warning] = caplog.records
    assert "404" in warning.getMessage() and "no_service" in warning.getMessage()
    assert "secretwebhooktoken" not in warning.getMessage()


def test_an_unreachable_slack_is_retried_then_dropped_without_leaking_the_webhook(
    shell: InteractiveShell, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    reporter = ErrorSlack(
        "nb", f"http://127.0.0.1:{port}{WEBHOOK_PATH}", quiet=True, retries=1, backoff=0.01, timeout=2
    )
    reporter.enable(shell)
    with caplog.at_level(logging.DEBUG, logger="notebook_error_reporter"):
        run(shell, "1/0")
        assert reporter.flush(10)
    assert reporter.stats.as_dict() == {"captured": 1, "dropped": 1, "sent": 0, "failed": 0}
    assert "ConnectionError" in caplog.text
    assert "secretwebhooktoken" not in caplog.text


# -- error storms ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_a_storm_of_200_becomes_a_handful_of_posts_with_the_count(
    shell: InteractiveShell, slack: SlackServer, method: str
) -> None:
    # Windows of 4, 8, 16 s: 200 cells fit in a few of them even at 140 ms a cell (a loaded 2-core
    # machine takes ~100 ms; with windows of 2 s it needed a fifth post there).
    reporter = reporter_for(slack, storm_window=4.0)
    reporter.enable(shell, method=method)
    for _ in range(200):
        run(shell, "1/0")
    # No flush: the windows' own timers must post the summaries (the last window ends within 28 s).
    deadline = time.monotonic() + 40

    # The stats count a post once its answer is read, a moment after the server recorded it.
    def settled() -> bool:
        return sum(storm_counts(slack.posts())) >= 199 and reporter.stats.sent >= 200

    while not settled() and time.monotonic() < deadline:
        time.sleep(0.05)
    posts = slack.posts()
    assert 2 <= len(posts) <= 4, [post.json["text"] for post in posts]
    assert posts[0].json["text"].startswith("`ZeroDivisionError` in notebook `protein-design`")
    assert sum(storm_counts(posts)) == 199
    if len(posts) == 2:
        assert "…and 199 more" in posts[1].json["text"]
        assert "199 more times" in block_texts(posts[1].json)
    assert len(reporter.retrieve_errors()) == 200
    assert reporter.stats.as_dict() == {"captured": 200, "dropped": 0, "sent": 200, "failed": 0}


def test_flush_posts_an_open_storm_count_and_disable_posts_the_rest(
    shell: InteractiveShell, slack: SlackServer
) -> None:
    # The window is long so that 20 failing cells fit in it on a loaded machine (~30 ms each there).
    reporter = reporter_for(slack, storm_window=3.0)
    reporter.enable(shell)
    for _ in range(20):
        run(shell, "1/0")
    assert reporter.flush(5)
    assert storm_counts(slack.posts()) == [19]
    run(shell, "1/0")  # the same storm, still inside its window: counted, not posted
    assert reporter.flush(5)
    assert len(slack.posts()) == 3 and storm_counts(slack.posts()) == [19, 1]
    run(shell, "1/0")
    reporter.disable()  # the pending count is posted, not lost...
    assert reporter.flush(5)
    assert storm_counts(slack.posts()) == [19, 1, 1]
    time.sleep(3.3)  # ...and the window's end, after disable(), posts nothing more
    assert reporter.flush(5)
    assert len(slack.posts()) == 4
    assert reporter.stats.as_dict() == {"captured": 22, "dropped": 0, "sent": 22, "failed": 0}


def ours() -> Set[threading.Thread]:
    """The reporter's threads (the fake server starts one per request; those don't count)."""
    return {t for t in threading.enumerate() if t.name.startswith("notebook-error-reporter")}


def test_the_failing_cell_path_starts_no_thread(shell: InteractiveShell, slack: SlackServer) -> None:
    """A storm's window is scheduled on one shared clock thread, not a new Timer per storm."""
    reporter = reporter_for(slack, storm_window=0.3)
    reporter.enable(shell)
    run(shell, "1/0")
    run(shell, "1/0")
    assert reporter.flush(5)
    before = ours()
    assert any(thread.name == "notebook-error-reporter-slack-clock" for thread in before)
    for cell in ("int('x')", "int('x')", "[][1]", "[][1]", "{}['k']", "{}['k']"):
        run(shell, cell)
    assert ours() <= before
    deadline = time.monotonic() + 5
    while len(storm_counts(slack.posts())) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert storm_counts(slack.posts()) == [1, 1, 1, 1]


def test_different_errors_are_not_coalesced(shell: InteractiveShell, slack: SlackServer) -> None:
    reporter = reporter_for(slack)
    reporter.enable(shell)
    run(shell, "1/0")
    run(shell, "int('x')")
    run(shell, "1/0")
    assert reporter.flush(5)
    texts = [post.json["text"] for post in slack.posts()]
    assert [text.split()[0] for text in texts] == ["`ZeroDivisionError`", "`ValueError`", "…and"]


def test_storm_window_zero_posts_every_report(shell: InteractiveShell, slack: SlackServer) -> None:
    reporter = reporter_for(slack, storm_window=0)
    reporter.enable(shell)
    for _ in range(3):
        run(shell, "1/0")
    assert reporter.flush(5)
    assert len(slack.posts()) == 3 and storm_counts(slack.posts()) == []


# -- living in the notebook ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_disable_restores_the_shell_and_stops_posting(
    shell: InteractiveShell, slack: SlackServer, method: str
) -> None:
    callbacks = {name: list(cbs) for name, cbs in shell.events.callbacks.items()}
    reporter = reporter_for(slack)
    reporter.enable(shell, method=method)
    reporter.disable()
    reporter.disable()
    assert {name: list(cbs) for name, cbs in shell.events.callbacks.items()} == callbacks
    assert "showtraceback" not in shell.__dict__
    run(shell, "1/0")
    assert reporter.flush(5)
    assert slack.posts() == [] and reporter.retrieve_errors() == []


def test_rerunning_the_setup_cell_replaces_the_reporter(shell: InteractiveShell, slack: SlackServer) -> None:
    first, second = reporter_for(slack), reporter_for(slack)
    first.enable(shell)
    second.enable(shell)
    store = ErrorStore(notebook="protein-design", quiet=True)
    store.enable(shell)  # another backend for the same notebook: both report
    run(shell, "1/0")
    assert second.flush(5)
    assert len(slack.posts()) == 1 and not first.enabled
    assert len(store.retrieve_errors()) == 1


def test_before_send_can_drop_a_report_before_it_is_posted(
    shell: InteractiveShell, slack: SlackServer
) -> None:
    reporter = reporter_for(slack, before_send=lambda event: None)
    reporter.enable(shell)
    run(shell, "1/0")
    assert reporter.flush(5)
    assert slack.posts() == [] and reporter.stats.dropped == 1


# -- the pure parts ------------------------------------------------------------------------------------


def event(**changes: Any) -> EventMessageType:
    base: Dict[str, Any] = {
        "event_id": "e" * 32,
        "session_id": "s" * 32,
        "notebook": "nb",
        "error_name": "KeyError",
        "error_message": "'protein_id'",
        "traceback": [{"filename": "<cell 3>", "fun_name": "<module>", "lineno": 1}],
        "first_line": "df['protein_id']",
        "execution_count": 3,
        "occurred_at": "2026-01-01T00:00:00+00:00",
        "client": {"reporter": "1.0", "python": "3.11", "ipython": "9.0", "platform": "linux"},
    }
    base.update(changes)
    return base  # type: ignore[return-value]


def test_a_payload_is_valid_json_within_slack_limits_even_for_hostile_text() -> None:
    frames = [{"filename": f"lib{i}.py", "fun_name": "f", "lineno": i} for i in range(40)]
    hostile = event(error_message='```"\\\n\x00' + "x" * 10_000, first_line="`rm -rf`", traceback=frames)
    payload = json.loads(json.dumps(error_message(hostile)))
    for block in payload["blocks"]:
        assert len(json.dumps(block)) < 3000
    shown = block_texts(payload)
    assert shown.count("```") % 2 == 0  # the message cannot close its code block early
    assert "… 32 more frames …" in shown and "lib0.py, line 0, in f" in shown and "lib39.py" in shown
    assert "`'rm -rf'`" in shown


def test_a_report_changed_by_before_send_still_formats() -> None:
    payload = error_message({"error_name": None, "traceback": "nonsense"})  # type: ignore[typeddict-item]
    assert payload["text"].startswith("`Error` in notebook `unknown`")


def test_fingerprint_ignores_cell_and_line_numbers_but_not_the_error() -> None:
    again = event(
        execution_count=9, traceback=[{"filename": "<cell 9>", "fun_name": "<module>", "lineno": 4}]
    )
    assert fingerprint(event()) == fingerprint(again)
    assert fingerprint(event()) != fingerprint(event(error_message="'gene_id'"))
    assert fingerprint(event()) != fingerprint(event(error_name="IndexError"))


def test_escape_and_storm_wording() -> None:
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"
    payload = storm_message(event(), 180, 60)
    assert payload["text"].startswith("…and 180 more: `KeyError` in notebook `nb`")
    assert "180 more times within 60 s" in block_texts(payload)
    assert "1 more time within 0.4 s" in block_texts(storm_message(event(), 1, 0.4))
    assert [duration(s) for s in (0.0, 2.0, 45.4, 600, 10_800)] == ["0 s", "2 s", "45 s", "10 min", "3 h"]
