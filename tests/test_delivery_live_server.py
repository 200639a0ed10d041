"""The delivery faults again, against the real collection server (uvicorn in its own process).

``tests/serverside/live_server.py`` starts it on 127.0.0.1 with a fresh database; these
tests stop it, ``kill -9`` it and start it again on the same port and database while real IPython
shells and real Jupyter kernels report to it, then read back what it stored.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import helpers
import pytest
import requests
from IPython.core.interactiveshell import InteractiveShell
from notebook_run import printed, run_notebook
from serverside.databases import fresh_database
from serverside.live_server import start_server
from waiting import run, wait_until

from notebook_error_reporter import ErrorServer

pytestmark = pytest.mark.usefixtures("fail_on_internal_errors")

ROOT = Path(__file__).resolve().parent.parent


def stored(server: Any, session_id: str) -> List[Dict[str, Any]]:
    """What the server stored for a session ([] while it knows none, or is down)."""
    for _ in range(20):
        try:
            answer = requests.get(
                f"{server.base_url.rstrip('/')}/api/v1/sessions/{session_id}/events",
                params={"limit": 10_000},
                timeout=5,
            )
        except requests.RequestException:
            return []
        if answer.status_code != 429:  # the rate limit counts our reads too
            break
        time.sleep(float(answer.headers.get("Retry-After", "1")))
    if answer.status_code == 404:
        return []
    answer.raise_for_status()
    data = answer.json()
    return list(data["items"] if isinstance(data, dict) else data)


def restart(server: Any) -> None:
    """Start the server again on the same port and database."""
    server.restart()


@pytest.fixture
def server(live_server: Any) -> Any:
    """The real server on the suite's database (SQLite, or PostgreSQL when the suite has one)."""
    return live_server


def reporter_for(server: Any, reporters: List[ErrorServer], tmp_path: Path, **options: Any) -> ErrorServer:
    return helpers.reporter_for(server.base_url, "live-e2e", reporters, tmp_path, **options)


def test_real_server_down_at_error_time_then_up_gets_every_report_once(
    shell: InteractiveShell, server: Any, reporters: List[ErrorServer], tmp_path: Path
) -> None:
    server.stop()
    reporter = reporter_for(server, reporters, tmp_path)
    reporter.enable(shell)
    run(shell, "1/0")
    durations = [run(shell, f"# step {n}\nraise ValueError({n})") for n in range(5)]
    assert max(durations) < 0.5, durations
    assert reporter.pending == 6
    restart(server)
    assert wait_until(lambda: reporter.stats.sent == 6), reporter.stats
    events = stored(server, reporter.session_id)
    assert len(events) == len({e["event_id"] for e in events}) == 6
    found = reporter.retrieve_errors()
    assert [r["delivered"] for r in found] == [True] * 6
    assert [r["first_line"] for r in found][1:] == [f"# step {n}" for n in range(5)]


def test_real_server_kill_9_during_delivery_loses_and_duplicates_nothing(
    shell: InteractiveShell, reporters: List[ErrorServer], tmp_path: Path
) -> None:
    # 200 reports of one session: more than the default session limit (counted per report) allows
    # in a minute, so the limits are lifted; waiting out a limit is tested on its own.
    lifted = {"rate_limit_address": "100000/minute", "rate_limit_session": "100000/minute"}
    with fresh_database(tmp_path) as database_url:
        server = start_server(tmp_path, database_url=database_url, **lifted)
        try:
            _deliver_through_a_kill_9(shell, server, reporters, tmp_path)
        finally:
            server.stop()


def _deliver_through_a_kill_9(
    shell: InteractiveShell, server: Any, reporters: List[ErrorServer], tmp_path: Path
) -> None:
    server.stop()
    reporter = reporter_for(server, reporters, tmp_path, batch_size=5, timeout=(1, 5))
    reporter.enable(shell)
    for n in range(200):
        run(shell, f"# cell {n}\nraise KeyError({n})")
    assert reporter.pending == 200
    restart(server)
    assert wait_until(lambda: len(stored(server, reporter.session_id)) > 0, timeout=30)
    server.kill()
    at_kill = reporter.stats.sent
    assert at_kill < 200, "the server should have been killed while the reports were going out"
    restart(server)
    assert wait_until(lambda: reporter.stats.sent == 200, timeout=60), reporter.stats
    events = stored(server, reporter.session_id)
    assert len(events) == len({e["event_id"] for e in events}) == 200
    assert reporter.pending == 0 and reporter.stats.dropped == 0


def test_real_server_rate_limit_is_waited_out(
    tmp_path: Path, reporters: List[ErrorServer], shell: Any
) -> None:
    with fresh_database(tmp_path) as database_url:
        limited = start_server(tmp_path, database_url=database_url, rate_limit_address="2/second")
        try:
            _deliver_six_through_the_limit(limited, reporters, tmp_path, shell)
        finally:
            limited.stop()


def _deliver_six_through_the_limit(
    limited: Any, reporters: List[ErrorServer], tmp_path: Path, shell: Any
) -> None:
    reporter = reporter_for(limited, reporters, tmp_path, batch_size=1)
    reporter.enable(shell)
    start = time.monotonic()
    for n in range(6):
        run(shell, f"# cell {n}\n1/0")
    assert wait_until(lambda: reporter.stats.sent == 6, timeout=60), reporter.stats
    elapsed = time.monotonic() - start
    events = stored(limited, reporter.session_id)
    assert elapsed >= 1.5, "six requests at two per second cannot all go at once"
    assert len(events) == 6 and reporter.stats.dropped == 0


def test_reports_over_the_session_limit_stay_in_the_spool_until_they_fit(
    tmp_path: Path, reporters: List[ErrorServer], shell: Any
) -> None:
    """One batch of ten against a limit of four a second: four are stored at once, the six answered
    `limited` stay in the spool and go after the server's Retry-After; none is lost or dropped."""
    with fresh_database(tmp_path) as database_url:
        limited = start_server(tmp_path, database_url=database_url, rate_limit_session="4/second")
        try:
            reporter = reporter_for(limited, reporters, tmp_path)
            reporter.enable(shell)
            for n in range(10):
                run(shell, f"# cell {n}\n1/0")
            assert wait_until(lambda: 0 < reporter.stats.sent < 10, timeout=20), reporter.stats
            assert reporter.pending >= 6 - (reporter.stats.sent - 4)
            assert wait_until(lambda: reporter.stats.sent == 10, timeout=60), reporter.stats
            events = stored(limited, reporter.session_id)
            assert len(events) == len({e["event_id"] for e in events}) == 10
            assert reporter.pending == 0 and reporter.stats.dropped == 0
        finally:
            limited.stop()


def test_real_server_rejects_an_invalid_report_and_keeps_the_rest(
    shell: InteractiveShell, server: Any, reporters: List[ErrorServer], tmp_path: Path
) -> None:
    def spoil(event: Any) -> Any:
        return {**event, "execution_count": "seven"} if "spoil" in event["first_line"] else event

    reporter = reporter_for(server, reporters, tmp_path, before_send=spoil)
    reporter.enable(shell)
    for cell in ("# fine 1\n1/0", "# spoil me\n1/0", "# fine 2\n1/0"):
        run(shell, cell)
    assert reporter.flush(20)
    assert (reporter.stats.sent, reporter.stats.dropped) == (2, 1)
    assert sorted(e["first_line"] for e in stored(server, reporter.session_id)) == ["# fine 1", "# fine 2"]


_KERNEL_CLIENT = r"""
import io, json, sys, time
from contextlib import redirect_stderr, redirect_stdout
from IPython.core.interactiveshell import InteractiveShell
from notebook_error_reporter import ErrorServer
url, spool_path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
shell = InteractiveShell.instance()
es = ErrorServer(url, "two-kernels", spool_path=spool_path, batch_size=5, quiet=True,
                 backoff_base=0.05, backoff_cap=0.3, flush_at_exit=0)
es.enable(shell)
for n in range(count):
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        shell.run_cell(f"# k{n}\nraise ValueError({n})", store_history=True)
deadline = time.monotonic() + 60
while es.pending and time.monotonic() < deadline:
    es.flush(1)
outcome = {"session": es.session_id, "stats": es.stats.as_dict(), "pending": es.pending}
sys.__stdout__.write(json.dumps(outcome))
"""


def test_two_kernels_on_one_spool_with_the_real_server(server: Any, tmp_path: Path) -> None:
    import subprocess

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    shared = str(tmp_path / "shared.sqlite3")
    kernels = [
        subprocess.Popen(
            [sys.executable, "-c", _KERNEL_CLIENT, server.base_url, shared, "40"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    outputs = [kernel.communicate(timeout=120) for kernel in kernels]
    results = [json.loads(out) for out, _ in outputs]
    assert all("Traceback" not in err for _, err in outputs)
    assert sum(r["stats"]["sent"] for r in results) == 80
    for result in results:
        events = stored(server, result["session"])
        assert len(events) == len({e["event_id"] for e in events}) == 40
        assert result["pending"] == 0


def test_a_restarted_jupyter_kernel_delivers_to_the_real_server(
    server: Any, tmp_path: Path, kernel_env: Dict[str, str]
) -> None:
    shared = str(tmp_path / "kernels.sqlite3")
    setup = (
        "from notebook_error_reporter import ErrorServer\n"
        f"es = ErrorServer({server.base_url!r}, 'kernel-restart', spool_path={shared!r}, flush_at_exit=0.5,"
        " backoff_base=0.05, backoff_cap=0.3)\n"
        "es.enable()"
    )
    env = dict(kernel_env, PYTHONPATH=str(ROOT))
    server.stop()
    first = run_notebook(
        [
            setup,
            "# Step 1: load\nopen('/no/such/file.csv')",
            "import json\nprint('FIRST=' + json.dumps({'session': es.session_id, 'pending': es.pending}))",
        ],
        tmp_path,
        env,
    )
    before = printed(first, "FIRST=")
    assert before["pending"] == 1
    restart(server)
    second = run_notebook(
        [setup, "es.flush(10)\nimport json\nprint('SECOND=' + json.dumps({'sent': es.stats.sent}))"],
        tmp_path,
        env,
    )
    assert printed(second, "SECOND=") == {"sent": 1}
    (event,) = stored(server, before["session"])
    assert event["first_line"] == "# Step 1: load" and event["error_name"] == "FileNotFoundError"
