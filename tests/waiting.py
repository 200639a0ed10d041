"""Run a cell as a kernel would (its output swallowed, or read), and wait for what follows it."""

from __future__ import annotations

import io
import time
from contextlib import redirect_stderr, redirect_stdout
from typing import Callable

from IPython.core.interactiveshell import InteractiveShell


def run(shell: InteractiveShell, cell: str) -> float:
    """Run ``cell`` with its output swallowed; the seconds until control came back."""
    start = time.perf_counter()
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        shell.run_cell(cell, store_history=True)
    return time.perf_counter() - start


def output_of(shell: InteractiveShell, cell: str) -> str:
    """Run ``cell``; everything it printed (stdout and stderr, the traceback among it)."""
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        shell.run_cell(cell, store_history=True)
    return out.getvalue()


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` s have passed (its last answer).

    Deliveries happen on background threads and, on a loaded CI machine, can take seconds; a
    generous timeout costs nothing while tests pass.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()
