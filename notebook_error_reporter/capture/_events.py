"""Capture through IPython's ``pre_run_cell``/``post_run_cell`` events (IPython >= 6)."""

from __future__ import annotations

import logging
import sys
from typing import Any, Optional

from ._history import raw_cell_from_history
from ._types import ErrorCallback

logger = logging.getLogger("notebook_error_reporter")
# A dict lookup: getattr(sys, "last_value", None) raises and catches internally, ~1 µs, when unset.
_SYS = sys.__dict__


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
        self._shown_before_cell = _SYS.get("last_value")

    def _post_run_cell(self, result: Any = None) -> None:
        # The common case, a successful cell, must cost well under 2 µs: plain attribute reads.
        try:
            error = result.error_before_exec or result.error_in_exec
        except AttributeError:
            error = None
        shown_before, self._shown_before_cell = self._shown_before_cell, None
        if error is None:
            shown = _SYS.get("last_value")
            if shown is None or shown is shown_before or result is None:
                return
            error = shown  # e.g. `%run script.py` whose script raised: shown, not raised
        try:
            self._report(result, error)
        except Exception:  # never let IPython print "Error in callback" into the user's output
            logger.exception("notebook_error_reporter: could not inspect the cell's result")

    def _report(self, result: Any, error: BaseException) -> None:
        count = getattr(result, "execution_count", None)
        if count is None:
            count = getattr(self.shell, "execution_count", 0) - 1
        info = getattr(result, "info", None)
        raw_cell = getattr(info, "raw_cell", None)
        if not isinstance(raw_cell, str):
            raw_cell = raw_cell_from_history(self.shell, int(count))
        self.on_error(error, raw_cell, int(count))
