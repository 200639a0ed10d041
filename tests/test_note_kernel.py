"""The author's note under the traceback in a real Jupyter kernel (nbclient): one display output
right after the error, with escaped HTML and the plain text beside it, from a real HTTP server
speaking the notes contract; and again in a new kernel after the server went away."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

from helpers import WAIT_FOR_NOTES
from notebook_run import display_data, run_notebook
from notes_server import NotesServer

NOTE = "<script>alert('x')</script> pandas 2.2 renamed this & more"
FAILING = "# load the structure\n{}['protein_id']"


def enable_cell(url: str, spool: Path, version: str) -> str:
    return (
        "from notebook_error_reporter import ErrorServer\n"
        f"reporter = ErrorServer({url!r}, 'kernel-notes', version={version!r}, quiet=True,\n"
        f"                       notes_interval=0.2, flush_at_exit=0.0, spool_path={str(spool)!r})\n"
        "reporter.enable()"
    )


def kinds(cell: Any) -> List[str]:
    return [output["output_type"] for output in cell.outputs]


def note_bundle(cell: Any) -> Dict[str, str]:
    (bundle,) = display_data(cell)
    return bundle


def test_a_kernel_shows_the_note_under_the_traceback_and_again_offline(
    tmp_path: Path,
    kernel_env: Dict[str, str],
) -> None:
    spool = tmp_path / "spool" / "spool.sqlite3"
    server = NotesServer()
    try:

        def author_writes_a_note() -> None:
            server.note_every_issue(NOTE, "javascript:alert(1)", "2026-12-01")

        online = run_notebook(
            [
                enable_cell(server.url, spool, "2026-11-02"),
                FAILING,
                "reporter.flush(10)",
                author_writes_a_note,
                WAIT_FOR_NOTES,
                FAILING,
                "# no note for this one\n1/0",
            ],
            tmp_path,
            kernel_env,
        )
    finally:
        server.stop()
    assert kinds(online.cells[1]) == ["error"]  # reported; no note yet
    assert "NOTES 1" in "".join(o.get("text", "") for o in online.cells[3].outputs)
    noted = online.cells[4]
    assert kinds(noted) == ["error", "display_data"]  # right under the traceback, in the same cell
    bundle = note_bundle(noted)
    html, text = bundle["text/html"], bundle["text/plain"]
    assert "<script>" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "&amp; more" in html and "<a " not in html and "javascript" not in html  # no such link
    assert NOTE in text and "Fixed in version 2026-12-01 (this copy is version 2026-11-02)." in text
    assert kinds(online.cells[5]) == ["error"]
    assert json.loads(json.dumps(server.events))[0]["notebook_version"] == "2026-11-02"

    # A new kernel of the same user; the server is gone: the note comes from the offline copy.
    offline = run_notebook(
        [enable_cell(server.url, spool, "2026-11-02"), WAIT_FOR_NOTES, FAILING], tmp_path, kernel_env
    )
    assert kinds(offline.cells[2]) == ["error", "display_data"]
    assert note_bundle(offline.cells[2])["text/plain"] == text


MEASURE = (
    "import statistics, time\n"
    "def rerun(event, count):\n"
    "    own = '<cell %d>' % event['execution_count']\n"
    "    frames = [{**f, 'filename': '<cell %d>' % count if f['filename'] == own else f['filename']}\n"
    "              for f in event['traceback']]\n"
    "    return {**event, 'execution_count': count, 'traceback': frames}\n"
    "reruns = [rerun(seen[-1], count) for count in range(1000, 1100)]\n"
    "timings = []\n"
    "for report in reruns:\n"
    "    start = time.perf_counter()\n"
    "    reporter._after_report(report)\n"
    "    timings.append(time.perf_counter() - start)\n"
    "print('MEDIAN_MS', statistics.median(timings) * 1000)"
)


def test_a_link_is_shown_as_a_link_in_the_kernel(
    tmp_path: Path,
    kernel_env: Dict[str, str],
) -> None:
    with NotesServer() as server:
        notebook = run_notebook(
            [
                enable_cell(server.url, tmp_path / "spool.sqlite3", "1.0")
                + "\nseen = []\nreporter.before_send = lambda event: seen.append(event) or event",
                FAILING,
                "reporter.flush(10)",
                lambda: server.note_every_issue("Fixed in the new copy", "https://example.org/nb?v=2&x=1"),
                WAIT_FOR_NOTES,
                FAILING,
                MEASURE,
            ],
            tmp_path,
            kernel_env,
        )
    html = note_bundle(notebook.cells[4])["text/html"]
    assert '<a href="https://example.org/nb?v=2&amp;x=1"' in html and html.count("<a ") == 1
    # The added time on a failing cell, the note displayed through the kernel's messages included: the
    # note comes from memory, with no request to the server in the cell's way. A quiet 2-core machine
    # measures about 0.25 ms; the bound leaves room for a slow machine running the suite's three parts
    # at once (1.2 ms was seen there): speed goals are the benches' to check, this is a test.
    measured = notebook.cells[5]
    assert len(display_data(measured)) == 100
    (line,) = [o["text"] for o in measured.outputs if o["output_type"] == "stream"]
    assert float(line.split()[1]) < 3.0, line
