"""ErrorServer in a real IPython shell: no I/O at construction, nothing on the cell's path, the
session's reports readable back (from the server and the spool), and nothing ever raised."""

from __future__ import annotations

import io
import logging
import os
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest
from delivery_servers import EventStore, FaultServer, SilentServer, free_port, v1_behaviour
from IPython.core.interactiveshell import InteractiveShell
from waiting import run, wait_until

from notebook_error_reporter import ErrorServer, sender, session_reports, spool
from notebook_error_reporter.extension import reporter_from_environment
from notebook_error_reporter.retrieved import RetrievedErrors
from notebook_error_reporter.transport import MemoryTransport, Response

pytestmark = pytest.mark.usefixtures("fail_on_internal_errors")

FAST: Dict[str, Any] = {"backoff_base": 0.05, "backoff_cap": 0.2, "flush_at_exit": 0.0, "quiet": True}


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The default spool goes to this test's own cache dir, never the real user's."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    yield cache
    spool._forget_spools_for_tests()


@pytest.fixture
def make_reporter() -> Iterator[Callable[..., ErrorServer]]:
    made: List[ErrorServer] = []

    def make(url: str = "http://memory.invalid", **options: Any) -> ErrorServer:
        reporter = ErrorServer(url, "server-test", **{**FAST, **options})
        made.append(reporter)
        return reporter

    yield make
    for reporter in made:
        reporter.close()
    sender._worker.flush(10)  # let a round in flight end before the spools are closed


def test_the_constructor_does_no_io(private_cache: Path) -> None:
    with FaultServer(lambda m, p, b: None) as server:
        reporter = ErrorServer(server.url, "nb")
        assert server.recorder.seen == []
    unreachable = ErrorServer(f"http://127.0.0.1:{free_port()}", "nb")  # 0.1 raised ConnectionError here
    assert not private_cache.exists(), "no spool before enable() or a report"
    assert len(reporter.session_id) == 32 and reporter.session_id != unreachable.session_id
    int(reporter.session_id, 16)
    with pytest.raises(ValueError):
        ErrorServer("errors.example.org", "nb")


def test_a_failing_cell_is_delivered_over_http(
    shell: InteractiveShell, make_reporter: Callable[..., ErrorServer], private_cache: Path
) -> None:
    store = EventStore()
    with FaultServer(v1_behaviour(store)) as server:
        reporter = make_reporter(server.url)
        reporter.enable(shell)
        run(shell, "# Step 3: fold\nraise ValueError('bad angle for /home/ada/x.pdb')")
        assert reporter.flush(10)
    (event,) = store.events()
    assert event["notebook"] == "server-test" and event["session_id"] == reporter.session_id
    assert event["error_name"] == "ValueError" and event["first_line"] == "# Step 3: fold"
    assert "/home/ada" not in event["error_message"]
    assert reporter.stats.as_dict() == {"captured": 1, "dropped": 0, "sent": 1, "failed": 0}
    assert reporter.spool_location == str(private_cache / "notebook-error-reporter" / "spool.sqlite3")
    assert reporter.pending == 0


@pytest.mark.parametrize("situation", ["nothing listening", "never answers"])
def test_the_cell_returns_at_once_whatever_the_server_does(
    shell: InteractiveShell, make_reporter: Callable[..., ErrorServer], situation: str
) -> None:
    silent = SilentServer() if situation == "never answers" else None
    url = silent.url if silent is not None else f"http://127.0.0.1:{free_port()}"
    try:
        reporter = make_reporter(url, timeout=(3, 10))
        reporter.enable(shell)
        run(shell, "1/0")  # warm up IPython's traceback machinery
        durations = [run(shell, f"# try {n}\n1/0") for n in range(3)]
        assert max(durations) < 0.5, durations  # a blocking client would wait 3-10 s here
        assert reporter.stats.captured == 4 and reporter.stats.sent == 0
        assert reporter.pending == 4
    finally:
        if silent is not None:
            silent.stop()


def test_retrieve_errors_merges_delivered_and_waiting_reports(
    shell: InteractiveShell, make_reporter: Callable[..., ErrorServer]
) -> None:
    refuse = [False]

    def handler(method: str, url: str, body: Any) -> Optional[Response]:
        if refuse[0] and method == "POST":
            return Response.json(503, {"detail": "busy"})
        return None

    memory = MemoryTransport(handler)
    reporter = make_reporter(transport=memory)
    reporter.enable(shell)
    run(shell, "# first\n{}['a']")
    run(shell, "# second\n{}['b']")
    assert reporter.flush(5)
    refuse[0] = True
    run(shell, "# third\n{}['c']")
    found = reporter.retrieve_errors()
    assert isinstance(found, RetrievedErrors)
    assert [(r["first_line"], r["delivered"]) for r in found] == [
        ("# first", True),
        ("# second", True),
        ("# third", False),
    ]
    assert all(r["session_id"] == reporter.session_id for r in found)


def test_retrieve_errors_reads_every_page(
    shell: InteractiveShell, make_reporter: Callable[..., ErrorServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_reports, "PAGE", 2)
    memory = MemoryTransport()
    reporter = make_reporter(transport=memory)
    reporter.enable(shell)
    for n in range(5):
        run(shell, f"# cell {n}\n1/0")
    assert reporter.flush(5)
    assert [r["first_line"] for r in reporter.retrieve_errors()] == [f"# cell {n}" for n in range(5)]
    reads = [url for method, url, body in memory.requests if method == "GET" and "/sessions/" in url]
    assert len(reads) == 3 and reads[-1].endswith("limit=2&offset=4")


def test_retrieve_errors_with_the_server_down_says_one_line_and_returns_the_local_ones(
    shell: InteractiveShell, make_reporter: Callable[..., ErrorServer]
) -> None:
    reporter = make_reporter(f"http://127.0.0.1:{free_port()}", timeout=(1, 1))
    reporter.enable(shell)
    run(shell, "# offline\n{}['a']")
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        found = reporter.retrieve_errors()
    assert [(r["first_line"], r["delivered"]) for r in found] == [("# offline", False)]
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and "could not reach" in lines[0] and "1 report(s)" in lines[0]
    assert "Traceback" not in out.getvalue() + err.getvalue()


def test_the_table_escapes_what_the_user_wrote(
    shell: InteractiveShell, make_reporter: Callable[..., ErrorServer]
) -> None:
    reporter = make_reporter(transport=MemoryTransport())
    reporter.enable(shell)
    run(shell, "# <b>title</b>\nraise ValueError('<script>alert(1)</script> & more')")
    assert reporter.flush(5)
    table = reporter.retrieve_errors()._repr_html_()
    assert "<script>" not in table and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in table
    assert "&lt;b&gt;title&lt;/b&gt;" in table
    assert "<table" in table and table.count("<tr>") == 2
    assert "No errors" in RetrievedErrors()._repr_html_()


def test_before_send_can_change_or_drop_a_report(
    shell: InteractiveShell, make_reporter: Callable[..., ErrorServer]
) -> None:
    def before_send(event: Any) -> Any:
        if event["error_name"] == "KeyError":
            return None
        return {**event, "first_line": "[hidden by the author]"}

    memory = MemoryTransport()
    reporter = make_reporter(transport=memory, before_send=before_send)
    reporter.enable(shell)
    run(shell, "{}['secret']")
    run(shell, "# my secret title\n1/0")
    assert reporter.flush(5)
    assert [e["first_line"] for e in memory.events.values()] == ["[hidden by the author]"]
    assert (reporter.stats.dropped, reporter.stats.sent) == (1, 1)


def test_opted_out_means_nothing_spooled_nothing_sent(
    shell: InteractiveShell,
    make_reporter: Callable[..., ErrorServer],
    private_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NOTEBOOK_ERROR_REPORTER_DISABLE", "1")
    memory = MemoryTransport()
    reporter = make_reporter(transport=memory, quiet=False)
    out = io.StringIO()
    with redirect_stdout(out):
        reporter.enable(shell)
    run(shell, "1/0")
    assert not reporter.enabled and memory.requests == []
    assert not private_cache.exists()
    assert "reporting is off" in out.getvalue()


def test_the_notice_names_the_server_without_its_credentials(
    shell: InteractiveShell, make_reporter: Callable[..., ErrorServer]
) -> None:
    reporter = make_reporter(
        "https://ada:hunter2@errors.example.org/lab", transport=MemoryTransport(), quiet=False
    )
    out = io.StringIO()
    with redirect_stdout(out):
        reporter.enable(shell)
    line = out.getvalue()
    assert "https://errors.example.org/lab" in line and "hunter2" not in line
    assert len(line.strip().splitlines()) == 1


def test_running_the_set_up_cell_again_reports_each_error_once(
    shell: InteractiveShell, make_reporter: Callable[..., ErrorServer]
) -> None:
    memory = MemoryTransport()
    first = make_reporter(transport=memory)
    first.enable(shell)
    second = make_reporter(transport=memory)
    second.enable(shell)
    run(shell, "1/0")
    assert second.flush(5) and first.flush(5)
    assert len(memory.events) == 1 and not first.enabled


def test_an_unusable_spool_dir_still_reports(
    shell: InteractiveShell, make_reporter: Callable[..., ErrorServer], tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    memory = MemoryTransport()
    reporter = make_reporter(transport=memory, spool_path=str(blocker / "spool.sqlite3"))
    reporter.enable(shell)
    run(shell, "1/0")
    assert reporter.flush(5)
    assert len(memory.events) == 1
    assert not reporter.spool_location.startswith(str(blocker))


def test_a_bug_in_delivery_never_reaches_the_cell(
    shell: InteractiveShell,
    make_reporter: Callable[..., ErrorServer],
    fail_on_internal_errors: List[logging.LogRecord],
) -> None:
    def broken(method: str, url: str, body: Any) -> Optional[Response]:
        raise RuntimeError("a bug in a transport")

    reporter = make_reporter(transport=MemoryTransport(broken))
    reporter.enable(shell)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        result = shell.run_cell("1/0", store_history=True)
    assert isinstance(result.error_in_exec, ZeroDivisionError)  # the user's own error, nothing else
    assert wait_until(lambda: reporter.stats.failed == 1)
    # The notes' refresh after enable() meets the same transport; the background thread may try it
    # before or after the report, so wait for both records and compare them in either order.
    assert wait_until(lambda: len(fail_on_internal_errors) >= 2)
    assert reporter.pending == 1, "the report stays spooled for a later try"
    assert "a bug in a transport" not in out.getvalue() + err.getvalue()
    assert sorted(r.getMessage() for r in fail_on_internal_errors) == [
        "notebook_error_reporter: could not refresh the notebook's notes",
        "notebook_error_reporter: the sender failed; reports stay spooled",
    ]
    fail_on_internal_errors.clear()


def test_the_extension_builds_an_error_server_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTEBOOK_ERROR_REPORTER_URL", f"http://127.0.0.1:{free_port()}")
    reporter = reporter_from_environment()
    assert isinstance(reporter, ErrorServer)
    assert reporter._sender is None


def test_stats_and_flush_exist_for_the_curious(make_reporter: Callable[..., ErrorServer]) -> None:
    reporter = make_reporter(transport=MemoryTransport())
    assert reporter.flush(1) is True
    assert repr(reporter.stats).startswith("ReporterStats(")
    assert os.path.basename(reporter.spool_location) == "spool.sqlite3"


def test_merge_orders_by_time_and_prefers_the_servers_copy() -> None:
    server_side = [
        {"event_id": "a", "occurred_at": "2024-01-01T00:00:02.000000Z", "issue_id": 7},
        {"event_id": "b", "occurred_at": "2024-01-01T00:00:00.000000Z", "issue_id": 7},
    ]
    local = [
        {"event_id": "c", "occurred_at": "2024-01-01T00:00:01+00:00"},
        {"event_id": "a", "occurred_at": "2024-01-01T00:00:02+00:00"},  # acknowledged but not yet deleted
    ]
    merged = session_reports.merge(server_side, local)
    assert [(r["event_id"], r["delivered"]) for r in merged] == [("b", True), ("c", False), ("a", True)]
    assert merged[2]["issue_id"] == 7
