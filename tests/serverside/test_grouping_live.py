"""What an issue is, end to end: cells of a real IPython shell, and of a notebook in a real Jupyter
kernel, report to the real server (SQLite or PostgreSQL).

The examples of the grouping rule (``notebook_error_reporter/fingerprint.py``): two cells' KeyErrors
are two issues with their own messages; one cell's KeyErrors with different data, re-run and
renumbered, are one; a division by zero in many sessions is one; ``before_send`` may group its way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Set

import helpers
import pytest
import requests
from IPython.core.interactiveshell import InteractiveShell
from notebook_run import run_notebook
from sqlalchemy import create_engine, text
from waiting import run

from notebook_error_reporter import ErrorServer
from notebook_error_reporter.capture._registry import registry_for
from notebook_error_reporter.fingerprint import of_report


@pytest.fixture
def server(live_server: Any) -> Any:
    """The real server on the suite's database (SQLite, or PostgreSQL when the suite has one)."""
    return live_server


def reporter_for(server: Any, reporters: List[ErrorServer], tmp_path: Path, **options: Any) -> ErrorServer:
    return helpers.reporter_for(server.base_url, "grouping", reporters, tmp_path, **options)


def issues(server: Any) -> List[Dict[str, Any]]:
    answer = requests.get(
        server.url("/api/v1/issues"), params={"limit": 100}, headers=server.admin_headers, timeout=10
    )
    answer.raise_for_status()
    items: List[Dict[str, Any]] = answer.json()["items"]
    return items


def by_message(server: Any) -> Dict[str, Dict[str, Any]]:
    return {issue["message"]: issue for issue in issues(server)}


@pytest.mark.usefixtures("fail_on_internal_errors")
def test_two_cells_keyerrors_are_two_issues_each_with_its_message(
    shell: InteractiveShell, server: Any, reporters: List[ErrorServer], tmp_path: Path
) -> None:
    sent: List[Dict[str, Any]] = []

    def keep(event: Dict[str, Any]) -> Dict[str, Any]:
        sent.append(dict(event))
        return event

    reporter = reporter_for(server, reporters, tmp_path, before_send=keep)
    reporter.enable(shell)
    run(shell, "# Load the structures\nstructures = {}\nstructures['protein_id']")
    run(shell, "# Read the config\nconfig = {}\nconfig['api_url']")
    assert reporter.flush(20) and reporter.stats.sent == 2
    found = by_message(server)
    assert set(found) == {"'protein_id'", "'api_url'"}
    assert [found[m]["event_count"] for m in ("'protein_id'", "'api_url'")] == [1, 1]
    # The client computes the server's key of each report (to find its issue without asking).
    assert stored_fingerprints(server) == {of_report(event) for event in sent}


def stored_fingerprints(server: Any) -> Set[str]:
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as connection:
            return set(connection.execute(text("SELECT fingerprint FROM issue")).scalars())
    finally:
        engine.dispose()


@pytest.mark.usefixtures("fail_on_internal_errors")
def test_one_cell_with_other_data_rerun_and_renumbered_is_one_issue(
    shell: InteractiveShell,
    server: Any,
    reporters: List[ErrorServer],
    tmp_path: Path,
) -> None:
    reporter = reporter_for(server, reporters, tmp_path)
    reporter.enable(shell)
    run(shell, "# Rows\nrows = {}\nrows['row 17']")
    run(shell, "x = 1")  # the next run of the cell gets another number
    run(shell, "# Rows\nrows = {}\nrows['row 18']")
    run(shell, "# Rows\n\n\nrows = {}\nrows['row 18']")  # its line moved too
    assert reporter.flush(20) and reporter.stats.sent == 3
    (issue,) = issues(server)
    assert issue["event_count"] == 3 and issue["message"] == "'row 17'"


@pytest.mark.usefixtures("fail_on_internal_errors")
def test_division_by_zero_from_one_line_in_many_sessions_is_one_issue(
    shell: InteractiveShell,
    server: Any,
    reporters: List[ErrorServer],
    tmp_path: Path,
) -> None:
    for session in range(5):
        # Five strangers: one shell keeps one session across set-up cells, so forget it as a new kernel would.
        registry_for(shell).sessions.clear()
        reporter = reporter_for(server, reporters, tmp_path / str(session))
        reporter.enable(shell)
        run(shell, "# Ratios\nratio = 1 / 0")
        assert reporter.flush(20)
        reporter.disable()
    (issue,) = issues(server)
    assert (issue["event_count"], issue["session_count"]) == (5, 5)


@pytest.mark.usefixtures("fail_on_internal_errors")
def test_before_send_fingerprint_is_honoured_and_a_bad_one_left_out(
    shell: InteractiveShell,
    server: Any,
    reporters: List[ErrorServer],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def group(event: Dict[str, Any]) -> Dict[str, Any]:
        if "database" in event["first_line"]:
            event["fingerprint"] = ["database-down"]
        if "bad" in event["first_line"]:
            event["fingerprint"] = ["too", "many"] * 6
        return event

    reporter = reporter_for(server, reporters, tmp_path, before_send=group)
    reporter.enable(shell)
    run(shell, "# Query the database\nraise ConnectionError('db1 refused')")
    run(shell, "# Save to the database\nraise TimeoutError('db2 timed out')")
    run(shell, "# A bad grouping\n{}['x']")
    assert reporter.flush(20) and (reporter.stats.sent, reporter.stats.dropped) == (3, 0)
    found = issues(server)
    assert sorted(issue["event_count"] for issue in found) == [1, 2]
    assert "invalid fingerprint, left out: fingerprint must have 1 to 10 parts" in caplog.text


def test_a_real_kernels_notebook_groups_by_cell(
    server: Any,
    tmp_path: Path,
    kernel_env: Dict[str, str],
) -> None:
    """The same through a Jupyter kernel, whose cells are temporary files until the client names them."""
    load = "# Load the structures\nstructures = {}\nstructures['protein_id']"
    run_notebook(
        [
            "from notebook_error_reporter import ErrorServer\n"
            f"reporter = ErrorServer({server.base_url!r}, 'kernel-grouping', quiet=True,"
            f" spool_path={str(tmp_path / 'spool.sqlite3')!r})\nreporter.enable()",
            load,
            "# Read the config\nconfig = {}\nconfig['api_url']",
            load,
            "assert reporter.flush(20), reporter.stats",
        ],
        tmp_path,
        kernel_env,
    )
    found = by_message(server)
    assert set(found) == {"'protein_id'", "'api_url'"}
    assert (found["'protein_id'"]["event_count"], found["'api_url'"]["event_count"]) == (2, 1)
