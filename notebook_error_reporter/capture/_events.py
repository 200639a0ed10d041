"""Capture through IPython's ``pre_run_cell``/``post_run_cell`` events (IPython >= 6)."""

from __future__ import annotations

import logging
import sys
from typing import Any, Optional

from ._history import raw_cell_from_history
from ._types import ErrorCallback

logger = logging.getLogger("notebook_error_reporter")


class EventsCapture:
    """Reports ``result.error_before_exec``/``error_in_exec``, or an error IPython only showed."""

    method = "events"

    def __init__(self, shell: Any, on_error: ErrorCallback) -> None:
        self.shell = shell
        self.on_error = on_error
        self._shown_before_cell: Optional[BaseException] = None
        self._installed = False

    def install(self) -> None:
        if self._installed:
            return
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

    def _pre_run_cell(self, info: Any = None) -> None:
        # Remember what was already shown, so that only errors shown during this cell count.
        self._shown_before_cell = getattr(sys, "last_value", None)

    def _post_run_cell(self, result: Any = None) -> None:
        try:
            self._report(result)
        except Exception:  # never let IPython print "Error in callback" into the user's output
            logger.exception("notebook_error_reporter: could not inspect the cell's result")

    def _report(self, result: Any) -> None:
        if result is None:
            return
        error = getattr(result, "error_before_exec", None) or getattr(result, "error_in_exec", None)
        if error is None:
            shown = getattr(sys, "last_value", None)
            if shown is not None and shown is not self._shown_before_cell:
                error = shown  # e.g. `%run script.py` whose script raised: shown, not raised
        self._shown_before_cell = None
        if error is None:
            return
        count = getattr(result, "execution_count", None)
        if count is None:
            count = getattr(self.shell, "execution_count", 0) - 1
        info = getattr(result, "info", None)
        raw_cell = getattr(info, "raw_cell", None)
        if not isinstance(raw_cell, str):
            raw_cell = raw_cell_from_history(self.shell, int(count))
        self.on_error(error, raw_cell, int(count))
