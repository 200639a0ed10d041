"""Capture by wrapping the shell instance's ``showtraceback`` and ``showsyntaxerror``.

For shells whose ``post_run_cell`` passes no result (IPython 5, early Colab). The wrappers live on
the instance only and call, with the very same arguments, whatever the method is at that moment
(so a method changed on the class later still takes effect); they are removed by deleting the
instance attribute, which brings back the class's method (or whatever the instance had before us).
Where the shell has ``pre_run_cell``/``post_run_cell`` events we also follow the cell runs, to
report once per top-level cell and to know the source of runs that store no history.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Dict, Optional, Tuple

from ._history import running_cell
from ._runs import CellRuns
from ._types import ErrorCallback

logger = logging.getLogger("notebook_error_reporter")
_MISSING = object()
_WRAPPED = ("showtraceback", "showsyntaxerror")
_EVENTS = ("pre_run_cell", "post_run_cell")


class ShowTracebackCapture:
    """Reports each exception IPython shows, once per cell, with the running cell's count and source."""

    method = "showtraceback"

    def __init__(self, shell: Any, on_error: ErrorCallback) -> None:
        self.shell = shell
        self.on_error = on_error
        self._saved: Dict[str, Any] = {}
        self._wrappers: Dict[str, Any] = {}
        self._runs: Optional[CellRuns] = None
        self._run_number = 0
        self._run_count = 0
        self._last_reported: Optional[Tuple[str, int]] = None

    def install(self) -> None:
        if self._saved:
            return
        for name in _WRAPPED:
            self._saved[name] = self.shell.__dict__.get(name, _MISSING)
            self._wrappers[name] = self._make_wrapper(name)
            setattr(self.shell, name, self._wrappers[name])
        self._follow_runs()

    def uninstall(self) -> None:
        for name, previous in self._saved.items():
            if self.shell.__dict__.get(name) is not self._wrappers.get(name):
                continue  # replaced since by someone else: theirs stays
            if previous is _MISSING:
                self.shell.__dict__.pop(name, None)
            else:
                setattr(self.shell, name, previous)
        self._saved.clear()
        self._wrappers.clear()
        if self._runs is not None:
            for name, callback in zip(_EVENTS, (self._pre_run_cell, self._post_run_cell)):
                try:
                    self.shell.events.unregister(name, callback)
                except ValueError:
                    pass  # someone else already removed it
            self._runs = None

    def _follow_runs(self) -> None:
        callbacks = getattr(getattr(self.shell, "events", None), "callbacks", None)
        if not isinstance(callbacks, dict) or not all(name in callbacks for name in _EVENTS):
            return
        self._runs = CellRuns()
        self.shell.events.register("pre_run_cell", self._pre_run_cell)
        self.shell.events.register("post_run_cell", self._post_run_cell)

    def _pre_run_cell(self, info: Any = None) -> None:
        if self._runs is not None and self._runs.start(info):
            self._run_number += 1
            self._run_count = int(getattr(self.shell, "execution_count", 0) or 0)

    def _post_run_cell(self, result: Any = None) -> None:
        if self._runs is not None:
            self._runs.finish(result)  # nested or not, the wrapper asks ``outermost`` when it matters

    def _original(self, name: str) -> Any:
        """What ``shell.<name>`` would be without us, looked up now."""
        previous = self._saved.get(name, _MISSING)
        if previous is not _MISSING:
            return previous
        attribute = getattr(type(self.shell), name)
        bind = getattr(type(attribute), "__get__", None)
        return bind(attribute, self.shell, type(self.shell)) if bind is not None else attribute

    def _make_wrapper(self, name: str) -> Any:
        original = getattr(self.shell, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            error = self._current_error(args, kwargs)
            try:
                return self._original(name)(*args, **kwargs)
            finally:
                if error is not None:
                    self._report(error)

        wrapper.__wrapped__ = original  # type: ignore[attr-defined]
        wrapper.__doc__ = getattr(original, "__doc__", None)
        return wrapper

    def _current_error(self, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Optional[BaseException]:
        try:
            exc_tuple = kwargs.get("exc_tuple", args[0] if args and isinstance(args[0], tuple) else None)
            if exc_tuple is not None and len(exc_tuple) == 3:
                return exc_tuple[1]
            value = sys.exc_info()[1]
            if value is None:
                value = getattr(sys, "last_value", None)
            return value
        except Exception:
            logger.exception("notebook_error_reporter: could not read the shown exception")
            return None

    def _running_cell(self) -> Tuple[Tuple[str, int], int, str]:
        """(key of the run, count, raw source) of the top-level cell running now.

        The key tells runs apart for the one-report-per-cell rule: the run's number where runs
        are followed, else the execution count (a shell without events, the cell that enabled us).
        """
        runs = self._runs
        if runs is None or not runs.running:
            count, raw_cell = running_cell(self.shell)
            return ("count", count), count, raw_cell
        key = ("run", self._run_number)
        info = runs.outermost
        if getattr(info, "store_history", True) is False:  # no history entry: the info has it
            raw_cell = getattr(info, "raw_cell", "")
            return key, self._run_count, raw_cell if isinstance(raw_cell, str) else ""
        count, raw_cell = running_cell(self.shell)
        return key, count, raw_cell

    def _report(self, error: BaseException) -> None:
        try:
            run, count, raw_cell = self._running_cell()
            # One report per cell: showtraceback hands SyntaxErrors on to showsyntaxerror, and an
            # error while formatting a traceback is shown a second time.
            if run == self._last_reported:
                return
            self._last_reported = run
            self.on_error(error, raw_cell, count)
        except Exception:
            logger.exception("notebook_error_reporter: could not report the shown exception")
