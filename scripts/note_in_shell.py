"""Run a failing cell twice in a real terminal IPython shell reporting to SERVER; print JSON.

``python scripts/note_in_shell.py SERVER SPOOL_DIR VERSION`` (this repository on PYTHONPATH): the
first run reports the error, then the script waits (at most 20 s) for the author's note on it to
reach the client in the background, and runs the cell again. The JSON says what each run printed,
so ``tests/test_note_shown.py`` can check the note under the traceback on any IPython version.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from typing import Any, Dict

import IPython
from IPython.terminal.interactiveshell import TerminalInteractiveShell

from notebook_error_reporter import ErrorServer

CELL = "# load the structure\n{}['protein_id']"


def run(shell: Any, cell: str) -> str:
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        shell.run_cell(cell, store_history=True)
    return out.getvalue()


def main(server: str, spool_dir: str, version: str) -> Dict[str, Any]:
    shell = TerminalInteractiveShell.instance(colors="NoColor", term_title=False)
    reporter = ErrorServer(
        server,
        "shell-notes",
        version=version,
        quiet=True,
        notes_interval=0.2,
        flush_at_exit=0.0,
        spool_path=os.path.join(spool_dir, "spool.sqlite3"),
    )
    reporter.enable(shell)
    first = run(shell, CELL)
    deadline = time.monotonic() + 20
    while not reporter.notes.notes and time.monotonic() < deadline:
        time.sleep(0.05)
    second = run(shell, CELL)
    reporter.close()
    return {"ipython": IPython.__version__, "first": first, "second": second}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(*sys.argv[1:4])) + "\n")
