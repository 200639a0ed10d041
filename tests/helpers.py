"""What the client-side tests share: quick delivery settings, a reporter the test closes, the notes'
texts, and commands run without root's power over file permissions."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Dict, List

import pytest

from notebook_error_reporter import ErrorServer

# Delivery settings for tests: quick retries, no waiting at exit, no notice printed.
FAST: Dict[str, Any] = {"backoff_base": 0.05, "backoff_cap": 0.3, "flush_at_exit": 0.0, "quiet": True}

# The line above the author's note under a traceback, and a cell that waits until the notes came.
NOTE_HEADER = "the notebook's author says about this error"
WAIT_FOR_NOTES = (
    "import time\n"
    "deadline = time.monotonic() + 20\n"
    "while not reporter.notes.notes and time.monotonic() < deadline:\n"
    "    time.sleep(0.05)\n"
    "print('NOTES', len(reporter.notes.notes))"
)


def reporter_for(
    url: str, notebook: str, reporters: List[ErrorServer], tmp_path: Path, **options: Any
) -> ErrorServer:
    """An ``ErrorServer`` with the ``FAST`` settings (``options`` win) and its spool in ``tmp_path``,
    added to ``reporters`` (the fixture) so that it is closed after the test."""
    reporter = ErrorServer(url, notebook, spool_path=str(tmp_path / "spool.sqlite3"), **{**FAST, **options})
    reporters.append(reporter)
    return reporter


def unprivileged(command: List[str]) -> List[str]:
    """Run ``command`` so that file permissions bind it, even when the tests run as root."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return command
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a directory read-only for us")
    return [setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", *command]
