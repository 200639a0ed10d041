"""The server's log, read as an operator would: a real server, hostile reports, then the stderr it wrote.

Every line has a timestamp and a level (uvicorn's lines and ours alike), the traffic is summed up
in summary lines, a failing alert webhook is logged with its next retry, and nothing of a report,
no token, no session id and no client address is in the log. ``--log-format json``: the same, one
JSON object a line.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import httpx
import pytest

from notebook_error_reporter.serverside.core.traffic import Traffic, summary_line

from .databases import fresh_database
from .helpers import ADMIN, ADMIN_TOKEN, make_event
from .live_server import SERVER_SCRIPT, free_port, server_environment

TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+: ")
SUMMARY = re.compile(
    r"stored ([\d,]+) reports? \(([\d,]+) new issues?, ([\d,]+) regressions?, ([\d,]+) refused by limits\)"
)


def test_summary_line_words_and_thousands() -> None:
    assert summary_line(Traffic()) is None, "no traffic, no line"
    assert summary_line(Traffic(stored=1204, new_issues=3, regressions=1, refused=12)) == (
        "stored 1,204 reports (3 new issues, 1 regression, 12 refused by limits)"
    )
    assert summary_line(Traffic(stored=1, new_issues=1, refused=0)) == (
        "stored 1 report (1 new issue, 0 regressions, 0 refused by limits)"
    )
    assert (
        summary_line(Traffic(refused=4))
        == "stored 0 reports (0 new issues, 0 regressions, 4 refused by limits)"
    )


@pytest.fixture(params=["text", "json"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tuple[str, Path, Dict[str, str]]]:
    """A server whose log is a file; alerts go to a closed port behind a secret-looking path."""
    secrets = {"hook": f"hook-{uuid.uuid4().hex}", "admin": ADMIN_TOKEN}
    port = free_port()
    with fresh_database(tmp_path) as url:
        command = [
            SERVER_SCRIPT,
            "--port",
            str(port),
            "--database-url",
            url,
            "--log-format",
            request.param,
            "--log-summary-seconds",
            "0.5",
            "--rate-limit-session",
            "3/minute",
            "--alert-webhook-url",
            f"http://127.0.0.1:{free_port()}/{secrets['hook']}",
            "--alert-poll-seconds",
            "0.2",
            "--alert-digest-seconds",
            "0",
        ]
        log = tmp_path / "stderr.log"
        with open(log, "wb") as errors, open(tmp_path / "stdout.log", "wb") as output:
            process = subprocess.Popen(
                command,
                cwd=str(tmp_path),
                env=server_environment(NOTEBOOK_ERROR_REPORTER_ADMIN_TOKEN=ADMIN_TOKEN),
                stdout=output,
                stderr=errors,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, log.read_text()
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            yield base, log, secrets
        finally:
            process.terminate()
            process.wait(20)
        assert log.read_text(), "the server logged to stderr"


def _messages(log: Path) -> List[str]:
    """The log's messages, each line checked to carry a time and a level."""
    messages: List[str] = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            assert record["time"] and record["level"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
            messages.append(record["message"])
        else:
            assert TEXT_LINE.match(line), line
            messages.append(TEXT_LINE.sub("", line))
    return messages


def _totals(messages: List[str]) -> List[int]:
    totals = [0, 0, 0, 0]
    for message in messages:
        found = SUMMARY.search(message)
        if found:
            totals = [total + int(part.replace(",", "")) for total, part in zip(totals, found.groups())]
    return totals


def test_the_log_sums_up_traffic_reports_alert_retries_and_leaks_nothing(
    server: Tuple[str, Path, Dict[str, str]],
) -> None:
    base, log, secrets = server
    hostile = f"secret-{uuid.uuid4().hex}"
    session = uuid.uuid4().hex
    reports = [
        make_event(
            session_id=session,
            notebook=f"nb-{hostile}",
            error_name=name,
            error_message=f"<script>alert('{hostile}')</script> token={hostile}",
            first_line=f"# {hostile}\r\n2026-01-01 00:00:00 ERROR forged log line",
        )
        for name in ("KeyError", "ValueError", "KeyError", "KeyError", "KeyError")
    ]
    answers = [httpx.post(base + "/api/v1/events", json=report).status_code for report in reports]
    assert answers == [201, 201, 201, 429, 429]
    issue_id = httpx.post(base + "/api/v1/events", json=make_event(error_name="TypeError")).json()["issue_id"]
    resolved = httpx.patch(f"{base}/api/v1/issues/{issue_id}", json={"status": "resolved"}, headers=ADMIN)
    assert resolved.status_code == 200
    assert httpx.post(base + "/api/v1/events", json=make_event(error_name="TypeError")).status_code == 201

    expected = [5, 3, 1, 2]  # stored, new issues, regressions, refused
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        messages = _messages(log)
        if _totals(messages) == expected and any("next retry at" in m for m in messages):
            break
        time.sleep(0.2)
    messages = _messages(log)
    assert _totals(messages) == expected, messages
    retry = next(message for message in messages if "next retry at" in message)
    assert re.search(
        r"webhook delivery of \d+ alert\(s\) failed \(could not connect\); next retry at \d\d:", retry
    )

    text = log.read_text()
    for secret in (hostile, session, secrets["hook"], secrets["admin"], "forged log line"):
        assert secret not in text, secret
    addresses = [line for line in text.splitlines() if "127.0.0.1" in line]
    assert all("Uvicorn running on http://127.0.0.1:" in line for line in addresses), addresses
