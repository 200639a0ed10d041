"""What ``retrieve_errors()`` shows: one kind of object from every backend, a table in a notebook
(real kernels) and text in a terminal, escaped, newest first, in the user's local time zone."""

from __future__ import annotations

import io
import json
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from IPython.core.interactiveshell import InteractiveShell
from notebook_run import display_data, run_notebook, stream_text
from serverside.live_server import LiveServer
from slack_server import SlackServer
from waiting import run

from notebook_error_reporter import (
    ErrorEvent,
    ErrorServer,
    ErrorSlack,
    ErrorStore,
    RetrievedErrors,
    sender,
    spool,
)
from notebook_error_reporter.report_table import MAX_ROWS, to_html, to_text

pytestmark = pytest.mark.usefixtures("fail_on_internal_errors")

CELLS = [
    "# Load the structures\n{}['protein_id']",
    "# <b>Read</b> the config\nraise ValueError('<script>alert(1)</script> & \\x1b[31mred')",
]
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; \\x1b[31mred"
PLUS_THREE = timezone(timedelta(hours=3), "NER")  # what TZ=NER-3 (POSIX: 3 h east of UTC) means


@pytest.fixture
def kernel_env(monkeypatch: pytest.MonkeyPatch) -> Dict[str, str]:
    """The kernel's environment: no opt-out or reporter settings, a time zone 3 h east of UTC."""
    for variable in ("NOTEBOOK_ERROR_REPORTER_DISABLE", "DO_NOT_TRACK", "NOTEBOOK_ERROR_REPORTER_URL"):
        monkeypatch.delenv(variable, raising=False)
    return dict(os.environ, TZ="NER-3")


@pytest.fixture
def closing() -> Iterator[List[ErrorEvent]]:
    made: List[ErrorEvent] = []
    yield made
    for reporter in made:
        if isinstance(reporter, ErrorServer):
            reporter.close()
        else:
            reporter.disable()
    sender._worker.flush(10)
    spool._forget_spools_for_tests()


def report(n: int, **fields: Any) -> Dict[str, Any]:
    return {
        "event_id": f"e{n}",
        "error_name": "KeyError",
        "error_message": repr(f"row {n}"),
        "traceback": [{"filename": f"<cell {n}>", "fun_name": "<module>", "lineno": 2}],
        "first_line": f"# step {n}",
        "execution_count": n,
        "occurred_at": f"2026-11-24T06:3{n}:48+00:00",
        **fields,
    }


def row_texts(table_html: str) -> List[str]:
    """The body rows of a table (not its heading)."""
    body = re.search(r"<tbody>(.*)</tbody>", table_html, flags=re.S)
    return re.findall(r"<tr>(.*?)</tr>", body.group(1) if body else "", flags=re.S)


# -- the same object from every backend, in a real IPython shell ------------------------------------


def test_every_backend_returns_the_same_readable_list(
    shell: InteractiveShell,
    live_server: LiveServer,
    closing: List[ErrorEvent],
    tmp_path: Path,
) -> None:
    with SlackServer() as slack:
        store = ErrorStore("same-table", quiet=True)
        slack_reporter = ErrorSlack("same-table", slack.webhook, quiet=True, storm_window=0)
        server_reporter = ErrorServer(
            live_server.base_url, "same-table", quiet=True, spool_path=str(tmp_path / "spool.sqlite3")
        )
        closing.extend([store, slack_reporter, server_reporter])
        for reporter in closing:
            reporter.enable(shell)
        for cell in CELLS:
            run(shell, cell)
        assert server_reporter.flush(10) and slack_reporter.flush(10)
        found = {type(r).__name__: r.retrieve_errors() for r in closing}
    for name, reports in found.items():
        assert type(reports) is RetrievedErrors, name
        # A list of the reports as they happened: what 0.1's code indexed and iterated.
        assert len(reports) == 2 and isinstance(reports, list), name
        assert [r["error_name"] for r in reports] == ["KeyError", "ValueError"], name
        assert reports[0]["first_line"] == "# Load the structures", name
        assert json.loads(json.dumps(reports))[1]["error_message"].startswith("<script>"), name
        table = reports._repr_html_()
        first, second = row_texts(table)
        assert "ValueError" in first and "KeyError" in second, f"{name}: newest first"
        assert ESCAPED in first and "<script>" not in table, name
        assert "# &lt;b&gt;Read&lt;/b&gt; the config" in first, name
        assert "2 errors in this session, newest first" in table and "2 errors" in repr(reports), name
    heads = {name: re.findall(r"<th(?: [^>]*)?>(.*?)</th>", r._repr_html_()) for name, r in found.items()}
    assert heads["ErrorStore"] == heads["ErrorSlack"] == ["when", "cell", "error", "first line", "where"]
    assert heads["ErrorServer"] == heads["ErrorStore"] + ["delivered"]
    assert store.error_details == store.retrieve_errors() and type(store.error_details) is RetrievedErrors
    assert type(slack_reporter.error_details) is RetrievedErrors


def test_in_a_terminal_it_prints_as_aligned_text(shell: InteractiveShell, closing: List[ErrorEvent]) -> None:
    store = ErrorStore("terminal", quiet=True)
    closing.append(store)
    store.enable(shell)
    for cell in CELLS:
        run(shell, cell)
    reports = store.retrieve_errors()
    out = io.StringIO()
    out.write(f"{reports}\n")  # what print() writes
    lines = out.getvalue().splitlines()
    assert lines[0] == "2 errors in this session, newest first:"
    assert lines[1].split() == ["when", "cell", "error", "first", "line", "where"]
    assert "ValueError: <script>alert(1)</script> & \\x1b[31mred" in lines[2]
    assert re.search(r"\w  \[\d+\]  ", lines[2]), "a time, then the cell's number as Jupyter shows it"
    assert "KeyError: 'protein_id'" in lines[3] and "# Load the structures" in lines[3]
    assert lines[2].index("ValueError") == lines[3].index("KeyError"), "columns are aligned"
    assert "\x1b" not in out.getvalue(), "a terminal escape from a message is shown, not obeyed"
    assert str(reports) == repr(reports) == out.getvalue().rstrip("\n")
    assert repr(ErrorStore("empty").retrieve_errors()) == "No errors reported in this session."


# -- the table itself (pure) --------------------------------------------------------------------------


def test_times_are_in_one_format_in_the_given_zone_whatever_the_report_wrote() -> None:
    reports = [
        report(1, occurred_at="2026-11-24T06:31:48+00:00"),
        report(2, occurred_at="2026-11-24T06:32:48.123456Z"),  # the server's spelling
        report(3, occurred_at="2026-11-24T07:33:48+01:00"),
        report(4, occurred_at=None, timestamp="2026-11-24T06:34:48"),  # a 0.1 server's, naive UTC
        report(5, occurred_at="yesterday"),
    ]
    table = to_html(reports, PLUS_THREE)
    for minute in (31, 32, 33, 34):
        assert f"2026-11-24 09:{minute}:48 NER" in table
    assert "yesterday" in table
    texts = [row for row in row_texts(table)]
    assert [re.search(r"# step (\d)", row).group(1) for row in texts] == ["4", "3", "2", "1", "5"]  # type: ignore[union-attr]


def test_the_local_zone_is_the_machines_by_default() -> None:
    when = datetime(2026, 11, 24, 6, 31, 48, tzinfo=timezone.utc)
    local = when.astimezone()
    expected = f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"
    assert expected in to_text([report(1, occurred_at=when.isoformat())])


def test_control_and_bidi_characters_are_shown_not_obeyed() -> None:
    sneaky = report(1, error_message="ok\u202egnp.exe\x07\n  second line", first_line="# \x1b]0;title\x07")
    table, text = to_html([sneaky]), to_text([sneaky])
    for form in (table, text):
        assert "\u202e" not in form and "\x07" not in form and "\x1b" not in form
        assert "ok\\u202egnp.exe\\x07" in form and "# \\x1b]0;title\\x07" in form
    assert "\\x07\n  second line" in table, "a message keeps its lines in the table"
    assert "\\x07↵  second line" in text, "and is one line in the terminal"


def test_long_values_and_long_lists_are_cut_in_the_table_not_in_the_list() -> None:
    many = [report(n % 10, event_id=f"e{n}", error_message="x" * 5000) for n in range(MAX_ROWS + 5)]
    table = to_html(many)
    assert len(row_texts(table)) == MAX_ROWS and "…and 5 older (all are in the list)." in table
    assert "x" * 300 not in table and "x" * 299 + "…" in table
    assert "…and 5 older" in to_text(many)
    assert len(RetrievedErrors(many)) == MAX_ROWS + 5


def test_a_report_missing_fields_still_makes_a_tidy_row() -> None:
    sparse = {"error_message": "boom", "traceback": [{"filename": "<cell 3>"}], "execution_count": None}
    [line] = to_text([sparse]).splitlines()[2:]
    assert line.split() == ["boom", "<cell", "3>"]
    table = to_html([sparse])
    assert ">boom</td>" in table and ">&lt;cell 3&gt;</td>" in table and "<b>" not in table


def test_a_slice_is_a_table_too_and_an_index_a_report() -> None:
    reports = RetrievedErrors([report(1), report(2), report(3)])
    last_two = reports[-2:]
    assert type(last_two) is RetrievedErrors and [r["event_id"] for r in last_two] == ["e2", "e3"]
    assert "2 errors in this session" in last_two._repr_html_()
    assert reports[0] == report(1) and reports[-1]["event_id"] == "e3"
    assert [r["event_id"] for r in reports] == ["e1", "e2", "e3"]
    assert reports == [report(n) for n in (1, 2, 3)]


# -- in a real Jupyter kernel ----------------------------------------------------------------------------


def test_a_kernel_shows_the_table_as_the_cells_html(tmp_path: Path, kernel_env: Dict[str, str]) -> None:
    notebook = run_notebook(
        [
            "from notebook_error_reporter import ErrorStore\n"
            "reporter = ErrorStore(notebook='kernel-table', quiet=True)\nreporter.enable()",
            *CELLS,
            "reporter.retrieve_errors()",
            "errors = reporter.error_details\n"
            "print(len(errors), errors[0]['error_name'], [e['execution_count'] for e in errors])",
        ],
        tmp_path,
        kernel_env,
    )
    [data] = display_data(notebook.cells[3])
    table, text = data["text/html"], data["text/plain"]
    first, second = row_texts(table)
    assert "<script>" not in table and ESCAPED in first and "KeyError" in second
    assert "style=" in table and "<table" in table
    # The kernel runs 3 h east of UTC (TZ=NER-3): the times are shown in its zone.
    shown = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d NER", table)
    assert len(shown) == 2, table
    now_there = datetime.now(PLUS_THREE)
    for text_time in shown:
        when = datetime.strptime(text_time[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=PLUS_THREE)
        assert abs((now_there - when).total_seconds()) < 600, (text_time, now_there)
    assert text.startswith("2 errors in this session, newest first:") and "NER" in text
    assert stream_text(notebook.cells[4]) == "2 KeyError [2, 3]\n"


def test_a_kernel_reads_a_real_server_up_then_says_one_plain_line_when_it_is_down(
    tmp_path: Path,
    kernel_env: Dict[str, str],
    live_server: LiveServer,
) -> None:
    spool_path = tmp_path / "kernel-spool.sqlite3"
    notebook = run_notebook(
        [
            "from notebook_error_reporter import ErrorServer\n"
            f"reporter = ErrorServer({live_server.base_url!r}, notebook='kernel-server', quiet=True,\n"
            f"    spool_path={str(spool_path)!r}, timeout=(2, 5))\nreporter.enable()",
            *CELLS,
            "assert reporter.flush(20), reporter.stats\nreporter.retrieve_errors()",
            live_server.stop,
            "raise KeyError('offline')",
            "reporter.retrieve_errors()",
        ],
        tmp_path,
        kernel_env,
    )
    [up] = display_data(notebook.cells[3])
    assert stream_text(notebook.cells[3]) == ""
    assert ESCAPED in up["text/html"] and up["text/html"].count(">yes</td>") == 2
    [down] = display_data(notebook.cells[5])
    said = stream_text(notebook.cells[5])
    address = live_server.base_url
    assert said == (
        f"notebook-error-reporter: could not reach {address} — is the server running? (connection refused). "
        "Showing the 1 report(s) of this session not yet delivered.\n"
    )
    assert "&#x27;offline&#x27;" in down["text/html"] and ">not yet</td>" in down["text/html"]
    for internal in ("HTTPConnectionPool", "NewConnectionError", "Max retries", "Traceback", "Errno"):
        assert internal not in said
