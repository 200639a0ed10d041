"""The reporter base class: enable/disable capture, build each report, hand it to a backend.

``Reporter`` (``ErrorEvent`` in version 0.1, a name kept) is the base of the backends in
``backends/``: ``ErrorStore``, ``ErrorSlack`` and ``ErrorServer`` only implement ``_deliver`` (and
say where reports go).
Everything on a failing cell's path runs inside one guard: the reporter's own failures are
logged and counted, never raised into the user's cell.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Callable, Hashable, Optional, Tuple, Type

from . import notice
from .capture import Capture, cell_files, install, registry_for, resolve_method
from .environment import client_info, opt_out_variable, privacy_context
from .event import MAX_FRAMES, build_event
from .fingerprint import checked_custom
from .stats import ReporterStats
from .types import EventMessageType

logger = logging.getLogger("notebook_error_reporter")

BeforeSend = Callable[[EventMessageType], Optional[EventMessageType]]
DEFAULT_IGNORE: Tuple[Type[BaseException], ...] = (KeyboardInterrupt,)


def _current_shell() -> Any:
    try:
        from IPython import get_ipython
    except Exception:  # pragma: no cover - IPython is a dependency
        return None
    return get_ipython()


def _is_clean_exit(error: BaseException) -> bool:
    return isinstance(error, SystemExit) and error.code in (0, None)


class Reporter:
    """Base of every reporter: capture in an IPython shell, scrub, ``before_send``, deliver.

    :param notebook: the name the author gives the notebook; reports are grouped by it.
    :param before_send: called with each scrubbed report; return it (changed or not) to send
        it, or None to drop it. If it raises, the report is dropped and counted.
    :param ignore: exception classes not to report (``KeyboardInterrupt`` by default).
    :param quiet: don't print the one-line notice on ``enable()``.
    :param max_frames: traceback frames kept per report (first and last halves of longer ones).
    """

    def __init__(
        self,
        notebook: str = "unknown",
        *,
        before_send: Optional[BeforeSend] = None,
        ignore: Tuple[Type[BaseException], ...] = DEFAULT_IGNORE,
        quiet: bool = False,
        max_frames: int = MAX_FRAMES,
    ) -> None:
        self.notebook = str(notebook)
        self.session_id = uuid.uuid4().hex
        self.before_send = before_send
        self.ignore = tuple(ignore)
        self.quiet = quiet
        self.max_frames = max_frames
        self.stats = ReporterStats()
        self._capture: Optional[Capture] = None
        self._shell: Any = None

    # -- what a backend says about itself ------------------------------------------------------
    def target_key(self) -> Hashable:
        """Two reporters with the same key would report the same errors to the same place."""
        return (type(self).__name__, self.notebook)

    def destination(self) -> str:
        """Where reports go, in words, for the one-line notice."""
        return "this notebook's memory"

    def _deliver(self, event: EventMessageType) -> None:
        """Hand one finished report to the backend. Must be fast: it runs on the cell's path."""
        raise NotImplementedError

    def _on_enable(self) -> None:
        """Hook for backends that start something (a sender thread) when capture starts."""

    def _on_disable(self) -> None:
        """Hook for backends to stop what ``_on_enable`` started."""

    def _after_report(self, event: EventMessageType) -> None:
        """Hook run on the cell's path after ``event`` was delivered (e.g. to show the author's note)."""

    # -- enable / disable ----------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return self._capture is not None

    @property
    def method(self) -> Optional[str]:
        """The capture method in use (``events`` or ``showtraceback``), None when disabled."""
        return self._capture.method if self._capture is not None else None

    def enable(self, shell: Any = None, *, method: str = "auto") -> None:
        """Start reporting this shell's failing cells. Idempotent; makes no network call.

        A reporter enabled earlier for the same backend and target (the set-up cell run again)
        is disabled first, so an error is never reported twice.
        """
        variable = opt_out_variable()
        if variable is not None:
            notice.say_opted_out_once(variable)
            return
        shell = shell if shell is not None else _current_shell()
        if shell is None:
            logger.warning("notebook_error_reporter: not running in IPython; nothing to capture")
            return
        resolved = resolve_method(shell, method)
        if self._capture is not None:
            if self._shell is shell and self._capture.method == resolved:
                return
            self.disable()
        try:
            registry = registry_for(shell)
            self.session_id = registry.session_for(self.target_key(), self.session_id)
            registry.replace(self.target_key(), self)
            self._capture = install(shell, self._handle_error, resolved)
            self._shell = shell
            self._on_enable()
        except Exception:
            self.stats.add("failed")
            logger.exception("notebook_error_reporter: could not enable reporting")
            return
        if not self.quiet:
            notice.say(notice.enabled_line(self.notebook, self.destination()))

    def disable(self) -> None:
        """Stop reporting and restore everything ``enable`` changed. Idempotent."""
        capture, shell = self._capture, self._shell
        self._capture, self._shell = None, None
        if capture is None:
            return
        try:
            capture.uninstall()
            registry_for(shell).remove(self.target_key(), self)
            self._on_disable()
        except Exception:
            self.stats.add("failed")
            logger.exception("notebook_error_reporter: could not disable reporting cleanly")

    # -- the failing cell's path ---------------------------------------------------------------
    def _handle_error(self, error: BaseException, raw_cell: str, execution_count: int) -> None:
        try:
            # Read for every report, so that `%env NOTEBOOK_ERROR_REPORTER_DISABLE=1` in the middle
            # of a session stops reporting at once (two dict lookups, about a microsecond).
            if opt_out_variable() is not None:
                return
            if isinstance(error, self.ignore) or _is_clean_exit(error):
                return
            self.stats.add("captured")
            event = self.make_event(error, raw_cell, execution_count)
            final = self._apply_before_send(event)
            if final is not None:
                self._deliver(final)
                self._after_report(final)
        except Exception:
            self.stats.add("failed")
            logger.exception("notebook_error_reporter: could not report an error")

    def make_event(
        self, error: BaseException, raw_cell: str = "", execution_count: int = -1
    ) -> EventMessageType:
        """The scrubbed report for ``error`` (what would be sent), without sending it."""
        return build_event(
            error,
            raw_cell=raw_cell,
            execution_count=execution_count,
            notebook=self.notebook,
            session_id=self.session_id,
            context=privacy_context(),
            client=client_info(),
            cell_filenames=cell_files(self._shell, raw_cell, execution_count),
            max_frames=self.max_frames,
        )

    def _apply_before_send(self, event: EventMessageType) -> Optional[EventMessageType]:
        if self.before_send is None:
            return event
        try:
            result = self.before_send(event)
        except Exception:
            self.stats.add("dropped")
            logger.exception("notebook_error_reporter: before_send raised; the report was dropped")
            return None
        if result is None:
            self.stats.add("dropped")
            return None
        if not isinstance(result, dict):
            self.stats.add("dropped")
            logger.error(
                "notebook_error_reporter: before_send returned %s, not a dict; dropped", type(result)
            )
            return None
        return _with_valid_fingerprint(result)

    def __repr__(self) -> str:
        state = f"enabled ({self.method})" if self.enabled else "disabled"
        return f"<{type(self).__name__} notebook={self.notebook!r} {state}>"


def _with_valid_fingerprint(event: EventMessageType) -> EventMessageType:
    """The report with a fingerprint ``before_send`` set, if it is a valid one; else without it
    (a server would refuse the whole report for it)."""
    if "fingerprint" not in event:
        return event
    try:
        checked_custom(event.get("fingerprint"))
    except ValueError as error:
        logger.warning("notebook_error_reporter: before_send set an invalid fingerprint, left out: %s", error)
        event = dict(event)  # type: ignore[assignment]
        event.pop("fingerprint", None)
    return event


# Version 0.1's name of the base class.
ErrorEvent = Reporter
