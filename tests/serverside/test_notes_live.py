"""Notes and versions end to end: a real IPython shell and a real Jupyter kernel report to the real
server (SQLite or PostgreSQL); the author writes a note and a fixed version by the API; the next
failure of that cell shows them under its traceback, also in a new kernel once the server is gone."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import requests
from helpers import NOTE_HEADER, WAIT_FOR_NOTES
from IPython.core.interactiveshell import InteractiveShell
from notebook_run import display_data, run_notebook
from waiting import output_of, wait_until

from notebook_error_reporter import ErrorServer

CELL = "# Load the structures\nstructures = {}\nstructures['protein_id']"


def write_note(server: Any, notebook: str, body: Dict[str, Any]) -> None:
    """The author, by the API: the note on the notebook's one issue."""
    found = requests.get(
        server.url("/api/v1/issues"), params={"limit": 100}, headers=server.admin_headers, timeout=10
    )
    found.raise_for_status()
    (issue,) = [item for item in found.json()["items"] if item["notebook"] == notebook]
    answer = requests.patch(
        server.url(f"/api/v1/issues/{issue['id']}"), json=body, headers=server.admin_headers, timeout=10
    )
    assert answer.status_code == 200, answer.text


def test_a_shell_shows_the_authors_note_from_the_real_server(
    shell: InteractiveShell,
    live_server: Any,
    reporters: List[ErrorServer],
    tmp_path: Path,
) -> None:
    reporter = ErrorServer(
        live_server.base_url,
        "notes-live",
        version="1.4",
        quiet=True,
        flush_at_exit=0.0,
        notes_interval=0.2,
        spool_path=str(tmp_path / "spool.sqlite3"),
    )
    reporters.append(reporter)
    reporter.enable(shell)
    assert NOTE_HEADER not in output_of(shell, CELL)
    assert reporter.flush(20) and reporter.stats.sent == 1
    write_note(
        live_server,
        "notes-live",
        {
            "note": "Rename: use structures['protein'] <b>now</b>",
            "note_url": "https://example.org/v1.5",
            "fixed_in_version": "1.5",
        },
    )
    assert wait_until(lambda: bool(reporter.notes.notes), 20)
    shown = output_of(shell, CELL)
    assert shown.index("KeyError") < shown.index(NOTE_HEADER)
    assert "Rename: use structures['protein'] <b>now</b>" in shown  # plain text in a shell
    assert "Fixed in version 1.5 (this copy is version 1.4)." in shown and "https://example.org/v1.5" in shown
    assert NOTE_HEADER not in output_of(shell, "# Read the config\nconfig = {}\nconfig['api_url']")


def test_a_kernel_shows_the_note_and_again_with_the_server_down(
    live_server: Any,
    tmp_path: Path,
    kernel_env: Dict[str, str],
) -> None:
    enable = (
        "from notebook_error_reporter import ErrorServer\n"
        f"reporter = ErrorServer({live_server.base_url!r}, 'kernel-notes', version='2026-11-02',\n"
        f"    quiet=True, notes_interval=0.2, spool_path={str(tmp_path / 'spool.sqlite3')!r})\n"
        "reporter.enable()"
    )
    body = {"note": "<script>alert(1)</script> see the new copy", "note_url": "https://example.org/new"}
    online = run_notebook(
        [
            enable,
            CELL,
            "assert reporter.flush(20), reporter.stats",
            lambda: write_note(live_server, "kernel-notes", body),
            WAIT_FOR_NOTES,
            CELL,
        ],
        tmp_path,
        kernel_env,
    )
    noted = online.cells[4]
    assert [output["output_type"] for output in noted.outputs] == ["error", "display_data"]
    (bundle,) = display_data(noted)
    assert (
        "<script>" not in bundle["text/html"]
        and "&lt;script&gt;alert(1)&lt;/script&gt;" in bundle["text/html"]
    )
    assert '<a href="https://example.org/new"' in bundle["text/html"]

    live_server.stop()
    offline = run_notebook([enable, WAIT_FOR_NOTES, CELL], tmp_path, kernel_env)
    assert [output["output_type"] for output in offline.cells[2].outputs] == ["error", "display_data"]
    assert display_data(offline.cells[2]) == [bundle]
