"""Hooking IPython: find out which cells failed, with their execution count and source.

Two ways in, chosen by feature detection (never by version number):

* ``events``: IPython >= 6 hands ``post_run_cell`` an ``ExecutionResult`` carrying the error
  (``error_in_exec``/``error_before_exec``), the execution count and the raw cell. Errors that
  IPython catches and *shows* without failing the cell (``%run`` of a failing script) are found
  through ``sys.last_value``, which ``showtraceback`` sets.
* ``showtraceback``: older shells (early Colab) give ``post_run_cell`` nothing; there we wrap the
  shell instance's ``showtraceback``/``showsyntaxerror`` and read the count and the cell from the
  shell's history. The wrapper calls the original first and unchanged, so the user's traceback
  looks exactly as it would without us.

Both call ``on_error(error, raw_cell, execution_count)`` once per top-level cell (runs nested in a
cell, as under ``%%capture``, are part of it: ``_runs.py``), only for errors raised or shown after
``install()``; both undo exactly what they did.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Optional

from ._events import EventsCapture
from ._history import cell_files
from ._registry import Registry, registry_for
from ._showtraceback import ShowTracebackCapture
from ._types import Capture, ErrorCallback

METHODS = ("auto", "events", "showtraceback")


def events_supported(shell: Any) -> bool:
    """True when ``post_run_cell`` exists and passes its callbacks an execution result."""
    events = getattr(shell, "events", None)
    if events is None or "post_run_cell" not in getattr(events, "callbacks", {}):
        return False
    try:
        from IPython.core import events as event_specs

        spec: Optional[Callable[..., Any]] = getattr(event_specs, "post_run_cell", None)
        return spec is not None and len(inspect.signature(spec).parameters) >= 1
    except Exception:
        return False


def resolve_method(shell: Any, method: str) -> str:
    """Turn ``auto`` into the method this shell supports; reject unknown names early and clearly."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if method == "auto":
        return "events" if events_supported(shell) else "showtraceback"
    return method


def install(shell: Any, on_error: ErrorCallback, method: str = "auto") -> Capture:
    """Start capturing on ``shell``; the returned object's ``uninstall()`` undoes it exactly."""
    resolved = resolve_method(shell, method)
    capture: Capture = (
        EventsCapture(shell, on_error) if resolved == "events" else ShowTracebackCapture(shell, on_error)
    )
    capture.install()
    return capture


__all__ = [
    "METHODS",
    "Capture",
    "ErrorCallback",
    "Registry",
    "cell_files",
    "events_supported",
    "install",
    "registry_for",
    "resolve_method",
]
