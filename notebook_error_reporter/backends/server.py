"""ErrorServer: report to a self-hosted collection server, without ever blocking the notebook.

Version 0.1 called the server in the constructor (a down server raised into the set-up cell) and
posted on the failing cell's path with no timeout (a slow server froze the notebook). Here the
constructor only makes ids, a failing cell only writes to the local spool, and the process's
background sender (``sender.py``) delivers, retries and survives restarts.

>>> es = ErrorServer("https://errors.example.org", notebook="protein-design", version="2026-12-01")
>>> es.enable()            # also sends what earlier kernels left in the spool
>>> es.retrieve_errors()   # this session's reports: delivered, and still waiting

The author's notes on the notebook's issues are fetched in the background (``notes_fetch.py``)
and shown under a failing cell's traceback (``_after_report``).
"""

from __future__ import annotations

import logging
from typing import Any, Hashable, Optional, Tuple, Type
from urllib.parse import urlsplit, urlunsplit

from .. import note_display, notice
from ..environment import MAX_TAG_CHARS, notebook_version
from ..fingerprint import of_report
from ..notes import message_for
from ..notes_fetch import NotesFetcher, spool_directory
from ..reporter import DEFAULT_IGNORE, BeforeSend, Reporter
from ..retrieved import RetrievedErrors
from ..sender import Sender, SenderConfig, submit_background
from ..session_reports import RetrieveError, fetch_session_reports, merge
from ..transport import HttpTransport, Timeout, Transport
from ..types import EventMessageType

logger = logging.getLogger("notebook_error_reporter")


def _checked_url(url: str) -> str:
    text = str(url).strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"ErrorServer needs an http(s) URL, not {url!r}")
    return text


def _checked_version(version: Optional[str]) -> Optional[str]:
    if version is None:
        return notebook_version()
    text = str(version).strip()
    if not 1 <= len(text) <= MAX_TAG_CHARS or not text.isprintable():
        raise ValueError(f"version must be 1 to {MAX_TAG_CHARS} printable characters, not {version!r}")
    return text


class ErrorServer(Reporter):
    """Report failing cells to a notebook-error-reporter server (API v1, or a 0.1 server).

    :param url: the server's base URL, e.g. ``https://errors.example.org``.
    :param version: this copy's version (any text up to 64 characters, e.g. ``"2026-12-01"`` or
        ``"1.4"``), sent with every report; default ``$NOTEBOOK_ERROR_REPORTER_VERSION``, else none.
    :param notes_interval: seconds between two background fetches of the author's notes.
    :param timeout: (connect, read) seconds for each request; both always set.
    :param spool_path: the spool file; default ``<user cache>/notebook-error-reporter/spool.sqlite3``
        (unusable? a private temp dir, then memory).
    :param max_spool_reports, max_spool_bytes: bounds of the spool (the oldest are dropped and
        counted beyond them, and the server is told how many).
    :param batch_size: reports per request (the server takes at most 100).
    :param backoff_base, backoff_cap: seconds of the first retry's ceiling and of the longest wait.
    :param flush_at_exit: seconds to keep sending at interpreter exit (0: don't).
    :param transport: how requests travel (``HttpTransport`` by default; ``MemoryTransport`` in tests).
    """

    def __init__(
        self,
        url: str,
        notebook: str = "unknown",
        *,
        version: Optional[str] = None,
        before_send: Optional[BeforeSend] = None,
        ignore: Tuple[Type[BaseException], ...] = DEFAULT_IGNORE,
        quiet: bool = False,
        timeout: Timeout = (3.0, 10.0),
        spool_path: Optional[str] = None,
        max_spool_reports: int = 1000,
        max_spool_bytes: int = 5_000_000,
        batch_size: int = 100,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        flush_at_exit: float = 2.0,
        transport: Optional[Transport] = None,
        notes_interval: float = 300.0,
        **options: Any,
    ) -> None:
        super().__init__(notebook, before_send=before_send, ignore=ignore, quiet=quiet, **options)
        self.url = _checked_url(url)
        connect, read = timeout
        positive = min(connect, read, notes_interval) > 0
        if not (0 < batch_size <= 100 and max_spool_reports >= 1 and positive):
            raise ValueError(
                "need 0 < batch_size <= 100, max_spool_reports >= 1, positive timeouts and notes_interval"
            )
        self.spool_path = spool_path
        self.transport: Transport = transport if transport is not None else HttpTransport()
        self.config = SenderConfig(
            timeout=(float(connect), float(read)),
            batch_size=batch_size,
            max_spool_reports=max_spool_reports,
            max_spool_bytes=max_spool_bytes,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            flush_at_exit=flush_at_exit,
        )
        self._sender: Optional[Sender] = None  # made (and the spool opened) on enable or first report
        self.version = _checked_version(version)
        self.notes = NotesFetcher(
            self.url,
            self.notebook,
            transport=self.transport,
            timeout=self.config.timeout,
            submit=submit_background,
            cache_directory=lambda: spool_directory(self.sender.spool.location),
            interval=notes_interval,
            min_gap=min(10.0, notes_interval),
        )

    # -- what the base class asks --------------------------------------------------------------
    def target_key(self) -> Hashable:
        return ("ErrorServer", self.url, self.notebook)

    def destination(self) -> str:
        """The URL without any user:password part (the notice is shown in the notebook)."""
        parts = urlsplit(self.url)
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit((parts.scheme, host, parts.path, "", ""))

    @property
    def sender(self) -> Sender:
        if self._sender is None:
            self._sender = Sender(
                self.url,
                spool_path=self.spool_path,
                transport=self.transport,
                stats=self.stats,
                config=self.config,
            )
            self._sender.after_delivery = self.notes.request_refresh
        return self._sender

    def _deliver(self, event: EventMessageType) -> None:
        self.sender.accept(dict(event))

    def make_event(
        self, error: BaseException, raw_cell: str = "", execution_count: int = -1
    ) -> EventMessageType:
        event = super().make_event(error, raw_cell, execution_count)
        if self.version is not None:
            event["notebook_version"] = self.version
        return event

    def _after_report(self, event: EventMessageType) -> None:
        """Show the author's note on this issue, if there is one (a dict lookup when there is not)."""
        if not self.notes.notes:
            return
        message = message_for(self.notes.note_for(of_report(event)), self.version)
        if message is not None and note_display.first_time_for(self._shell, event.get("execution_count", -1)):
            note_display.show(message)

    def _on_enable(self) -> None:
        # Reports left by earlier kernels (or written offline) go out now, exactly once.
        self.sender.nudge(reset_backoff=True)
        self.notes.start()

    def _on_disable(self) -> None:
        # Capturing stops; reports already captured were promised to the server and keep going
        # out (``close()`` stops that too). Only the notes stop being refreshed.
        self.notes.stop()

    def close(self, timeout: float = 0.0) -> None:
        """Flush for up to ``timeout`` s, then stop capturing and sending and drop connections.

        What is still spooled stays there: the next ``enable()`` (here or in another kernel) sends it.
        """
        if timeout > 0:
            self.flush(timeout)
        self.disable()
        self.notes.stop()
        if self._sender is not None:
            self._sender.close()
        self.transport.close()

    # -- for the author and the curious --------------------------------------------------------
    @property
    def spool_location(self) -> str:
        """The spool file in use (``:memory:`` when no directory would take it)."""
        return self.sender.spool.location

    @property
    def pending(self) -> int:
        """Reports for this server still waiting in the spool (from any session or kernel)."""
        return self.sender.spool.count(self.url)

    def flush(self, timeout: float = 5.0) -> bool:
        """Send what is spooled now, waiting at most ``timeout`` s; True if nothing is left."""
        try:
            return self.sender.flush(timeout)
        except Exception:
            self.stats.add("failed")
            logger.exception("notebook_error_reporter: flush failed")
            return False

    def retrieve_errors(self) -> RetrievedErrors:
        """This session's reports: the server's (``delivered: True``) and the spool's (False).

        If the server cannot be asked, the local ones are returned and one plain line says why.
        """
        local = []
        try:
            local = self.sender.spool.pending(self.url, self.session_id)
            usage = self.sender.spool.legacy_usage(self.url, self.session_id)
            remote = fetch_session_reports(
                self.transport, self.url, self.session_id, usage, self.config.timeout, self.destination()
            )
        except RetrieveError as error:
            problem = str(error)
            stop = "" if problem.endswith(("?", ".")) else "."
            notice.say(
                f"notebook-error-reporter: {problem}{stop} "
                f"Showing the {len(local)} report(s) of this session not yet delivered."
            )
            return merge([], local)
        except Exception:
            self.stats.add("failed")
            logger.exception("notebook_error_reporter: could not list this session's reports")
            return merge([], local)
        return merge(remote, local)
