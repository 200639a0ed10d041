"""Capture by wrapping the shell instance's ``showtraceback`` and ``showsyntaxerror``.

For shells whose ``post_run_cell`` passes no result (IPython 5, early Colab). The wrappers live on
the instance only, call the original first with the very same arguments, and are removed by
deleting the instance attribute, which brings back the class's method (or whatever the instance
had before us).
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Dict, Optional, Tuple

from ._history import running_cell
from ._types import ErrorCallback

logger = logging.getLogger("notebook_error_reporter")
_MISSING = object()
_WRAPPED = ("showtraceback", "showsyntaxerror")


class ShowTracebackCapture:
    """Reports each exception IPython shows, once, with the running cell's count and source."""

    method = "showtraceback"

    def __init__(self, shell: Any, on_error: ErrorCallback) -> None:
        self.shell = shell
        self.on_error = on_error
        self._saved: Dict[str, Any] = {}
        self._last_reported_count: Optional[int] = None

    def install(self) -> None:
        if self._saved:
            return
        for name in _WRAPPED:
            self._saved[name] = self.shell.__dict__.get(name, _MISSING)
            setattr(self.shell, name, self._make_wrapper(getattr(self.shell, name)))

    def uninstall(self) -> None:
        for name, previous in self._saved.items():
            if previous is _MISSING:
                self.shell.__dict__.pop(name, None)
            else:
                setattr(self.shell, name, previous)
        self._saved.clear()

    def _make_wrapper(self, original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            error = self._current_error(args, kwargs)
            try:
                return original(*args, **kwargs)
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

    def _report(self, error: BaseException) -> None:
        try:
            count, raw_cell = running_cell(self.shell)
            # One report per cell: showtraceback hands SyntaxErrors on to showsyntaxerror, and an
            # error while formatting a traceback is shown a second time.
            if count == self._last_reported_count:
                return
            self._last_reported_count = count
            self.on_error(error, raw_cell, count)
        except Exception:
            logger.exception("notebook_error_reporter: could not report the shown exception")
