"""The one short line a user sees when reporting starts (or is switched off).

Users of a shared notebook deserve to know that errors leave their machine, where to, and how to
stop it; one line is enough and does not clutter the set-up cell.
"""

from __future__ import annotations

import sys
import threading

from .environment import DISABLE_VARIABLE

_opt_out_said = False
_lock = threading.Lock()


def enabled_line(notebook: str, destination: str) -> str:
    return (
        f"notebook-error-reporter: errors in notebook {notebook!r} are reported to {destination} "
        f"(error, message and traceback without paths or secrets, cell's first line). "
        f"Opt out: set {DISABLE_VARIABLE}=1 (e.g. %env {DISABLE_VARIABLE}=1) or call disable()."
    )


def opted_out_line(variable: str) -> str:
    return f"notebook-error-reporter: reporting is off ({variable} is set); nothing will be sent."


def say(line: str) -> None:
    """Write one line to the cell's output without ``print`` (and without ever raising)."""
    try:
        sys.stdout.write(line + "\n")
    except Exception:
        pass


def say_opted_out_once(variable: str) -> None:
    """Say once per process that reporting is off, however many reporters the notebook enables."""
    global _opt_out_said
    with _lock:
        if _opt_out_said:
            return
        _opt_out_said = True
    say(opted_out_line(variable))


def _reset_for_tests() -> None:
    global _opt_out_said
    with _lock:
        _opt_out_said = False
