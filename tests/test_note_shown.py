"""The author's note under the failing cell's traceback, in real IPython shells (this one, and
IPython 7.34 and 9 terminal shells in their own venvs), from a real HTTP server speaking the notes
contract; nothing when there is no note, when reporting is off, or twice in one cell."""

from __future__ import annotations

import io
import json
import statistics
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest
from helpers import NOTE_HEADER
from IPython.core.interactiveshell import InteractiveShell
from notes_server import NotesServer
from waiting import output_of, wait_until

from notebook_error_reporter import ErrorServer, sender, spool
from notebook_error_reporter.environment import client_info
from notebook_error_reporter.fingerprint import of_report

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from ipython_envs import ensure_env, run_with_repo  # noqa: E402

pytestmark = pytest.mark.usefixtures("fail_on_internal_errors")

CELL = "# load the structure\n{}['protein_id']"
NOTE = "pandas 2.2 renamed this; run !pip install pandas==2.1"


@pytest.fixture
def server() -> Iterator[NotesServer]:
    with NotesServer() as running:
        yield running


@pytest.fixture
def make_reporter(tmp_path: Path) -> Iterator[Callable[..., ErrorServer]]:
    made: List[ErrorServer] = []

    def make(url: str, **options: Any) -> ErrorServer:
        settings: Dict[str, Any] = {
            "quiet": True,
            "flush_at_exit": 0.0,
            "notes_interval": 0.1,
            "spool_path": str(tmp_path / "spool.sqlite3"),
        }
        reporter = ErrorServer(url, "nb", **{**settings, **options})
        made.append(reporter)
        return reporter

    yield make
    for reporter in made:
        reporter.close()
    sender._worker.flush(10)
    spool._forget_spools_for_tests()


def noted(shell: InteractiveShell, reporter: ErrorServer, server: NotesServer, **note: Any) -> None:
    """The cell failed once and was reported; the author noted its issue; the client knows."""
    output_of(shell, CELL)
    assert reporter.flush(10)
    server.note_every_issue(note.pop("text", NOTE), **note)
    assert wait_until(lambda: bool(reporter.notes.notes), 20)


def test_the_note_is_shown_right_under_the_traceback(
    shell: InteractiveShell, server: NotesServer, make_reporter: Callable[..., ErrorServer]
) -> None:
    reporter = make_reporter(server.url)
    reporter.enable(shell)
    assert NOTE_HEADER not in output_of(shell, CELL)  # no note yet
    assert reporter.flush(10)
    server.note_every_issue(NOTE, "https://example.org/fix")
    assert wait_until(lambda: bool(reporter.notes.notes), 20)
    shown = output_of(shell, CELL)
    assert (
        shown.index("KeyError")
        < shown.index(NOTE_HEADER)
        < shown.index(NOTE)
        < shown.index("https://example.org/fix")
    )
    assert shown.count(NOTE_HEADER) == 1
    assert NOTE_HEADER not in output_of(shell, "# another cell\n1/0")  # an issue without a note


def test_the_notes_are_fetched_again_after_reports_were_delivered(
    shell: InteractiveShell, server: NotesServer, make_reporter: Callable[..., ErrorServer]
) -> None:
    reporter = make_reporter(server.url, notes_interval=300.0)  # the timer stays out of this
    reporter.notes.min_gap = 0.0
    server.note_every_issue(NOTE)  # noted as soon as it arrives
    reporter.enable(shell)
    assert wait_until(lambda: len(server.note_requests()) == 1)
    output_of(shell, CELL)
    assert reporter.flush(10)
    assert wait_until(lambda: bool(reporter.notes.notes), 10)
    assert [asked.status for asked in server.note_requests()] == [200, 200]
    assert NOTE in output_of(shell, CELL)


def test_a_before_send_fingerprint_finds_its_note(
    shell: InteractiveShell, server: NotesServer, make_reporter: Callable[..., ErrorServer]
) -> None:
    def own_grouping(event: Dict[str, Any]) -> Dict[str, Any]:
        return {**event, "fingerprint": ["{{ default }}", "database"]}

    reporter = make_reporter(server.url, before_send=own_grouping)
    reporter.enable(shell)
    noted(shell, reporter, server)
    (event,) = server.events
    assert event["fingerprint"] == ["{{ default }}", "database"]
    assert set(reporter.notes.notes) == {of_report(event)}
    assert NOTE in output_of(shell, CELL)


def test_an_older_copy_reads_which_version_fixed_it(
    shell: InteractiveShell, server: NotesServer, make_reporter: Callable[..., ErrorServer]
) -> None:
    reporter = make_reporter(server.url, version="1.4")
    reporter.enable(shell)
    noted(shell, reporter, server, text=None, note_url="https://example.org/v1.5", fixed_in_version="1.5")
    shown = output_of(shell, CELL)
    assert "Fixed in version 1.5 (this copy is version 1.4)." in shown and "https://example.org/v1.5" in shown
    assert server.events[0]["notebook_version"] == "1.4"


def test_the_version_from_the_environment_tags_every_report(
    shell: InteractiveShell,
    server: NotesServer,
    make_reporter: Callable[..., ErrorServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NOTEBOOK_ERROR_REPORTER_VERSION", "2026-12-01")
    reporter = make_reporter(server.url)
    reporter.enable(shell)
    output_of(shell, CELL)
    assert reporter.flush(10)
    assert server.events[0]["notebook_version"] == "2026-12-01"
    assert "colab_release" not in server.events[0]["client"]  # not on Colab
    with pytest.raises(ValueError):
        ErrorServer(server.url, "nb", version="x" * 65)


def test_on_colab_the_report_names_the_runtime_release(
    shell: InteractiveShell,
    server: NotesServer,
    make_reporter: Callable[..., ErrorServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20261201-060131_RC00")
    client_info.cache_clear()
    try:
        reporter = make_reporter(server.url)
        reporter.enable(shell)
        output_of(shell, CELL)
        assert reporter.flush(10)
    finally:
        client_info.cache_clear()
    (event,) = server.events
    assert event["client"]["colab_release"] == "release-colab_20261201-060131_RC00"
    assert "notebook_version" not in event and "copy_id" not in event["client"]


def test_nothing_is_shown_when_reporting_is_off(
    shell: InteractiveShell,
    server: NotesServer,
    make_reporter: Callable[..., ErrorServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reporter = make_reporter(server.url)
    reporter.enable(shell)
    noted(shell, reporter, server)
    monkeypatch.setenv("NOTEBOOK_ERROR_REPORTER_DISABLE", "1")
    opted_out = output_of(shell, CELL)
    assert "KeyError" in opted_out and NOTE_HEADER not in opted_out
    monkeypatch.delenv("NOTEBOOK_ERROR_REPORTER_DISABLE")
    assert NOTE in output_of(shell, CELL)
    reporter.disable()
    disabled = output_of(shell, CELL)
    assert "KeyError" in disabled and NOTE_HEADER not in disabled


def test_two_reporters_of_one_notebook_show_the_note_once(
    shell: InteractiveShell, server: NotesServer, make_reporter: Callable[..., ErrorServer], tmp_path: Path
) -> None:
    first = make_reporter(server.url)
    other_name = server.url.replace("127.0.0.1", "localhost")
    second = make_reporter(other_name, spool_path=str(tmp_path / "b.sqlite3"))
    first.enable(shell)
    second.enable(shell)
    noted(shell, first, server)
    assert wait_until(lambda: bool(second.notes.notes), 20)
    assert output_of(shell, CELL).count(NOTE) == 1


def test_with_the_server_down_a_new_session_shows_the_note_it_fetched_before(
    shell: InteractiveShell, server: NotesServer, make_reporter: Callable[..., ErrorServer]
) -> None:
    before = make_reporter(server.url)
    before.enable(shell)
    noted(shell, before, server)
    before.close()
    server.stop()
    after = make_reporter(server.url)  # a restarted kernel: same spool directory, server down
    after.enable(shell)
    assert wait_until(lambda: bool(after.notes.notes), 20)
    assert NOTE in output_of(shell, CELL)


def test_showing_a_note_adds_well_under_a_millisecond(
    shell: InteractiveShell, server: NotesServer, make_reporter: Callable[..., ErrorServer]
) -> None:
    reporter = make_reporter(server.url)
    reporter.enable(shell)
    noted(shell, reporter, server)
    (event,) = server.events
    reruns = [rerun(event, count) for count in range(1000, 1300)]  # the cell run again, 300 times
    timings = []
    with redirect_stdout(io.StringIO()) as out:
        for report in reruns:
            start = time.perf_counter()
            reporter._after_report(report)  # type: ignore[arg-type]
            timings.append(time.perf_counter() - start)
    assert out.getvalue().count(NOTE) == 300
    assert statistics.median(timings) < 0.001, statistics.median(timings)


def rerun(event: Dict[str, Any], count: int) -> Dict[str, Any]:
    """``event`` as the same cell would report it when run again as cell ``count``."""
    own = f"<cell {event['execution_count']}>"
    frames = [
        {**f, "filename": f"<cell {count}>" if f["filename"] == own else f["filename"]}
        for f in event["traceback"]
    ]
    return {**event, "execution_count": count, "traceback": frames}


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("version", ["7.34", "9"])
def test_a_terminal_shell_prints_the_note_as_text(version: str, server: NotesServer, tmp_path: Path) -> None:
    python = ensure_env(version)
    server.note_every_issue("<b>pin</b> pandas", "javascript:alert(1)", "1.5")
    result = run_with_repo(python, "scripts/note_in_shell.py", server.url, str(tmp_path), "1.4", timeout=120)
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown["ipython"].startswith(version)
    assert NOTE_HEADER not in shown["first"] and "KeyError" in shown["first"]
    second = shown["second"]
    assert second.index("KeyError") < second.index(NOTE_HEADER)
    assert "<b>pin</b> pandas" in second and "Fixed in version 1.5 (this copy is version 1.4)." in second
    assert "javascript" not in second and "text/html" not in second
