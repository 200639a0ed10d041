"""Capture through IPython's ``pre_run_cell``/``post_run_cell`` events (IPython >= 6)."""

from __future__ import annotations

import logging
import sys
from typing import Any, Optional

from ._history import raw_cell_from_history
from ._runs import CellRuns
from ._types import ErrorCallback

logger = logging.getLogger("notebook_error_reporter")
# A dict lookup: getattr(sys, "last_value", None) raises and catches internally, ~1 µs, when unset.
_SYS = sys.__dict__


class EventsCapture:
    """Reports ``result.error_before_exec``/``error_in_exec``, or an error IPython only showed.

    One report per top-level cell: a run nested in it (``%%capture``'s body, ``run_cell`` called
    by the cell) only hands its error on to the cell it runs in. An error counts only when it was
    raised or shown after ``install()``: ``sys.last_value`` may hold an error of a cell that ran
    before we were enabled, or while we were disabled.
    """

    method = "events"

    def __init__(self, shell: Any, on_error: ErrorCallback) -> None:
        self.shell = shell
        self.on_error = on_error
        self._runs = CellRuns()
        self._shown_before: Optional[BaseException] = None
        self._nested_error: Optional[BaseException] = None
        self._installed = False

    def install(self) -> None:
        if self._installed:
            return
        self._runs.clear()
        self._shown_before = _SYS.get("last_value")
        self._nested_error = None
        self.shell.events.register("pre_run_cell", self._pre_run_cell)
        self.shell.events.register("post_run_cell", self._post_run_cell)
        self._installed = True

    def uninstall(self) -> None:
        if not self._installed:
            return
        for name, callback in (("pre_run_cell", self._pre_run_cell), ("post_run_cell", self._post_run_cell)):
            try:
                self.shell.events.unregister(name, callback)
            except ValueError:
                pass  # someone else already removed it; nothing left to undo
        self._installed = False
        self._shown_before = self._nested_error = None

    def _pre_run_cell(self, info: Any = None) -> None:
        if self._runs.start(info):
            # Remember what was already shown, so that only errors shown during this cell count.
            self._shown_before = _SYS.get("last_value")
            self._nested_error = None

    def _post_run_cell(self, result: Any = None) -> None:
        # The common case, a successful cell, must cost well under 2 µs: plain attribute reads.
        try:
            error = result.error_before_exec or result.error_in_exec
        except AttributeError:
            error = None
        if self._runs.finish(result):  # a run inside a cell: the cell it runs in reports, once
            if self._nested_error is None:
                self._nested_error = error
            return
        shown = _SYS.get("last_value")
        shown_before, self._shown_before = self._shown_before, shown
        nested_error, self._nested_error = self._nested_error, None
        if error is None:
            error = nested_error
        if error is None:
            if shown is None or shown is shown_before or result is None:
                return
            error = shown  # e.g. `%run script.py` whose script raised: shown, not raised
        try:
            self._report(result, error)
        except Exception:  # never let IPython print "Error in callback" into the user's output
            logger.exception("notebook_error_reporter: could not inspect the cell's result")

    def _report(self, result: Any, error: BaseException) -> None:
        info = getattr(result, "info", None)
        count = getattr(result, "execution_count", None)
        if count is None:
            # IPython < 8 leaves it unset for runs that store no history; those don't advance it.
            stored = getattr(info, "store_history", True)
            count = getattr(self.shell, "execution_count", 0) - (1 if stored else 0)
        raw_cell = getattr(info, "raw_cell", None)
        if not isinstance(raw_cell, str):
            raw_cell = raw_cell_from_history(self.shell, int(count))
        self.on_error(error, raw_cell, int(count))
