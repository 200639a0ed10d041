"""ErrorServer: report to a self-hosted collection server, without ever blocking the notebook.

Version 0.1 called the server in the constructor (a down server raised into the set-up cell) and
posted on the failing cell's path with no timeout (a slow server froze the notebook). Here the
constructor only makes ids, a failing cell only writes to the local spool, and the process's
background sender (``sender.py``) delivers, retries and survives restarts.

>>> es = ErrorServer("https://errors.example.org", notebook="protein-design")
>>> es.enable()            # also sends what earlier kernels left in the spool
>>> es.retrieve_errors()   # this session's reports: delivered, and still waiting
"""

from __future__ import annotations

import logging
from typing import Any, Hashable, Optional, Tuple, Type
from urllib.parse import urlsplit, urlunsplit

from .. import notice
from ..reporter import DEFAULT_IGNORE, BeforeSend, Reporter
from ..retrieved import RetrievedErrors
from ..sender import Sender, SenderConfig
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


class ErrorServer(Reporter):
    """Report failing cells to a notebook-error-reporter server (API v1, or a 0.1 server).

    :param url: the server's base URL, e.g. ``https://errors.example.org``.
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
        **options: Any,
    ) -> None:
        super().__init__(notebook, before_send=before_send, ignore=ignore, quiet=quiet, **options)
        self.url = _checked_url(url)
        connect, read = timeout
        if not (0 < batch_size <= 100 and max_spool_reports >= 1 and connect > 0 and read > 0):
            raise ValueError("need 0 < batch_size <= 100, max_spool_reports >= 1 and positive timeouts")
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
        return self._sender

    def _deliver(self, event: EventMessageType) -> None:
        self.sender.accept(dict(event))

    def _on_enable(self) -> None:
        # Reports left by earlier kernels (or written offline) go out now, exactly once.
        self.sender.nudge(reset_backoff=True)

    # No ``_on_disable``: disabling stops capturing, but reports already captured were promised
    # to the server and keep going out (``close()`` stops that too).

    def close(self, timeout: float = 0.0) -> None:
        """Flush for up to ``timeout`` s, then stop capturing and sending and drop connections.

        What is still spooled stays there: the next ``enable()`` (here or in another kernel) sends it.
        """
        if timeout > 0:
            self.flush(timeout)
        self.disable()
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
