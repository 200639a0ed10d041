"""ErrorSlack: post each failing cell's report to a Slack incoming webhook, from a background thread.

The failing cell's path only records the report and queues a job (a dict append, a fingerprint
and a queue put); the HTTP post, its retries and its waits happen on a background worker, so a
slow or unreachable Slack can never hang the notebook.

An error storm (the same failing cell run 200 times in a loop) must not become 200 posts: reports
with the same fingerprint (:func:`slack_message.fingerprint`) are coalesced in a window. The first
is posted at once; the repeats within ``storm_window`` seconds are counted and summarised in one
follow-up ("…and 199 more") when the window ends. While the storm goes on, each further window
(twice as long as the one before, up to an hour) gives at most one more summary.

Delivery follows Slack's rules (``retry.py``): a 429 is retried after its ``Retry-After``; a 408,
a 5xx or a connection error is retried with exponential back-off and jitter, then dropped and
counted; any other 4xx (an invalid or revoked webhook: 403, 404, 410) is dropped, counted and logged once.
The webhook URL is a secret: it is never logged, shown in a notice or put in a ``repr``.
"""

from __future__ import annotations

import collections
import functools
import heapq
import itertools
import json
import logging
import os
import random
import threading
import time
from typing import Any, Callable, Deque, Dict, Hashable, List, NamedTuple, Optional, Set, Tuple, Type, Union

import requests

from ..reporter import DEFAULT_IGNORE, BeforeSend, Reporter
from ..retrieved import RetrievedErrors
from ..retry import retry_after_seconds, wait_seconds, worth_retrying
from ..slack_message import Fingerprint, error_message, fingerprint, storm_message
from ..types import EventMessageType
from ..worker import BackgroundWorker

logger = logging.getLogger("notebook_error_reporter")

Timeout = Union[float, Tuple[float, float]]
# One sender thread for every ErrorSlack in the process: re-running a set-up cell fifty times
# must not leave fifty idle threads behind, and Slack posts are rare enough to share one.
_WORKER = BackgroundWorker(name="notebook-error-reporter-slack")
_MAX_WINDOWS = 256
_MAX_STORM_WINDOW = 3600.0
_CLOCK_NAME = "notebook-error-reporter-slack-clock"
_MAX_BACKOFF = 60.0


class _Clock:
    """One daemon thread that calls functions at given ``time.monotonic()`` times: storms' ends.

    Scheduling is a heap push under a lock, so the failing cell's path never starts a thread (a
    ``threading.Timer`` per storm would, and ``Thread.start`` can take milliseconds on a busy
    machine); the thread itself is started by the sender thread. After a fork the child gets a
    fresh heap and thread (the parent's lock may be held by a thread that no longer exists).
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._heap: List[Tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._condition = threading.Condition()
        self._thread: Optional[threading.Thread] = None

    def call_at(self, when: float, function: Callable[[], None]) -> None:
        if self._pid != os.getpid():
            self._reset()  # forked: start from a clean slate
        with self._condition:
            heapq.heappush(self._heap, (when, next(self._order), function))
            self._condition.notify()
            running = self._thread is not None and self._thread.is_alive()
        if not running:
            _WORKER.submit(self._start)

    def _start(self) -> None:
        with self._condition:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=_CLOCK_NAME, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._condition.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                function = heapq.heappop(self._heap)[2]
            try:
                function()
            except Exception:  # an exception here would print a traceback into the notebook
                logger.error("notebook_error_reporter: a Slack storm window could not be closed")


_CLOCK = _Clock()


class _Summary(NamedTuple):
    """A storm's follow-up: ``repeats`` more reports like ``latest`` within ``seconds``."""

    latest: EventMessageType
    repeats: int
    seconds: float


class _Window:
    """One fingerprint's coalescing window: until ``ends``, repeats are only counted."""

    __slots__ = ("started", "length", "ends", "repeats", "latest", "scheduled")

    def __init__(self, now: float, length: float, latest: EventMessageType) -> None:
        self.started = now
        self.length = length
        self.ends = now + length
        self.repeats = 0
        self.latest = latest
        self.scheduled = False  # the clock will call ErrorSlack._window_ended at ``ends``

    def take(self, now: float) -> Optional[_Summary]:
        """The repeats counted so far (counting starts again from zero), or None if there were none."""
        if not self.repeats:
            return None
        summary = _Summary(self.latest, self.repeats, max(0.0, now - self.started))
        self.repeats = 0
        self.started = now
        return summary


class ErrorSlack(Reporter):
    """Report failing cells to a Slack channel through an incoming webhook.

    :param notebook: the name the author gives the notebook (shown in every message).
    :param slack_webhook: the incoming webhook URL (``https://hooks.slack.com/services/...``).
        Required: without it there is nowhere to post, and the author should learn that when the
        set-up cell runs, not when a stranger's cell fails. Note that a webhook written in a shared
        notebook is readable by everyone who opens it; the collection server (``ErrorServer``)
        keeps it off the notebook.
    :param timeout: ``requests`` timeout of one post, (connect, read) seconds.
    :param storm_window: seconds during which repeats of a posted error are only counted (then
        summarised in one message); 0 posts every report.
    :param retries: further attempts after a 429, 408, 5xx or connection error.
    :param backoff: the first retry's delay in seconds (doubled each time, with jitter).
    :param max_retry_after: the longest wait a ``Retry-After`` can impose on one retry.
    :param max_events: reports kept for :meth:`retrieve_errors` (the oldest are forgotten).
    """

    def __init__(
        self,
        notebook: str = "unknown",
        slack_webhook: Optional[str] = None,
        *,
        timeout: Timeout = (3, 10),
        storm_window: float = 60.0,
        retries: int = 3,
        backoff: float = 1.0,
        max_retry_after: float = 60.0,
        max_events: int = 1000,
        before_send: Optional[BeforeSend] = None,
        ignore: Tuple[Type[BaseException], ...] = DEFAULT_IGNORE,
        quiet: bool = False,
        **options: Any,
    ) -> None:
        if not isinstance(slack_webhook, str) or not slack_webhook.strip():
            raise ValueError(
                "ErrorSlack needs slack_webhook, the Slack incoming webhook URL to post to "
                "(ErrorSlack(notebook=..., slack_webhook='https://hooks.slack.com/services/...'))"
            )
        if not slack_webhook.strip().lower().startswith(("https://", "http://")):
            raise ValueError("slack_webhook must be an http(s) URL (Slack's start with https://hooks.slack.com/)")
        if retries < 0 or backoff < 0 or max_retry_after < 0 or storm_window < 0:
            raise ValueError("retries, backoff, max_retry_after and storm_window must not be negative")
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        super().__init__(notebook, before_send=before_send, ignore=ignore, quiet=quiet, **options)
        self.slack_webhook = slack_webhook.strip()
        self.timeout = timeout
        self.storm_window = float(storm_window)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.max_retry_after = float(max_retry_after)
        self._handled: Deque[EventMessageType] = collections.deque(maxlen=max_events)
        self._windows: Dict[Fingerprint, _Window] = {}
        self._lock = threading.Lock()
        self._warned: Set[str] = set()

    # -- what the base class asks of a backend -------------------------------------------------
    def target_key(self) -> Hashable:
        return ("ErrorSlack", self.slack_webhook, self.notebook)

    def destination(self) -> str:
        return "a Slack channel"

    def _deliver(self, event: EventMessageType) -> None:
        """Record the report and queue its post (or count it into a storm). No I/O here."""
        event = dict(event)  # type: ignore[assignment]  # before_send's caller may keep the original
        if self.storm_window <= 0:
            with self._lock:
                self._handled.append(event)
            self._submit(functools.partial(self._send_error, event))
            return
        key = fingerprint(event)
        now = time.monotonic()
        summary: Optional[_Summary] = None
        post_now = False
        with self._lock:
            self._handled.append(event)
            window = self._windows.get(key)
            if window is not None and now >= window.ends:  # its timer did not run (e.g. after a fork)
                summary = self._close_locked(key, window, now)
                window = self._windows.get(key)
            if window is None:
                self._prune_locked(now)
                self._windows[key] = _Window(now, self.storm_window, event)
                post_now = True
            else:
                window.repeats += 1
                window.latest = event
                if not window.scheduled:
                    window.scheduled = True
                    closer = functools.partial(self._window_ended, key, window, window.ends)
                    _CLOCK.call_at(window.ends, closer)
        if summary is not None:
            self._submit_summary(summary)
        if post_now:
            self._submit(functools.partial(self._send_error, event))

    def _on_disable(self) -> None:
        """Post the counts of storms still open (nothing is lost); their clock calls become no-ops."""
        now = time.monotonic()
        with self._lock:
            windows, self._windows = self._windows, {}
        for window in windows.values():
            summary = window.take(now)
            if summary is not None:
                self._submit_summary(summary)

    # -- for tests and the curious --------------------------------------------------------------
    def flush(self, timeout: float = 5.0) -> bool:
        """Post the counts of open storms now and wait up to ``timeout`` s for every queued post.

        True when everything queued was handled (posted, or dropped after its retries).
        """
        try:
            now = time.monotonic()
            with self._lock:
                pending = [window.take(now) for window in self._windows.values()]
            for summary in pending:
                if summary is not None:
                    self._submit_summary(summary)
            return _WORKER.flush(timeout)
        except Exception:
            self.stats.add("failed")
            logger.error("notebook_error_reporter: flushing Slack reports failed")
            return False

    def retrieve_errors(self) -> RetrievedErrors:
        """Every report this reporter handled (posted or coalesced), as wire-format dicts."""
        with self._lock:
            return RetrievedErrors(dict(event) for event in self._handled)

    @property
    def error_details(self) -> RetrievedErrors:
        """The 0.1 name for :meth:`retrieve_errors`."""
        return self.retrieve_errors()

    # -- storm windows -----------------------------------------------------------------------------
    def _close_locked(self, key: Fingerprint, window: _Window, now: float) -> Optional[_Summary]:
        """End ``window``. If it counted repeats the storm may go on: count on, in a window twice as long.

        Doubling keeps a storm that lasts hours to a few dozen messages, not one per window.
        """
        window.scheduled = False
        summary = window.take(now)
        if summary is None:
            del self._windows[key]
            return None
        window.length = min(window.length * 2, max(self.storm_window, _MAX_STORM_WINDOW))
        window.ends = now + window.length
        return summary

    def _window_ended(self, key: Fingerprint, window: _Window, ends: float) -> None:
        """Called by the clock at ``ends``: post the storm's count, if it counted any."""
        with self._lock:
            if self._windows.get(key) is not window or not window.scheduled or window.ends != ends:
                return  # closed by a later report (and maybe reopened), or forgotten by disable()
            summary = self._close_locked(key, window, time.monotonic())
        if summary is not None:
            self._submit_summary(summary)

    def _prune_locked(self, now: float) -> None:
        """Forget finished windows with nothing counted, so many distinct errors cost bounded memory."""
        if len(self._windows) < _MAX_WINDOWS:
            return
        for key, window in list(self._windows.items()):
            if now >= window.ends and not window.repeats and not window.scheduled:
                del self._windows[key]

    # -- the sender thread -----------------------------------------------------------------------
    def _submit(self, job: Callable[[], None], reports: int = 1) -> None:
        if not _WORKER.submit(job):
            self.stats.add("dropped", reports)
            self._warn_once("queue", "the Slack sending queue is full; reports were dropped")

    def _submit_summary(self, summary: _Summary) -> None:
        self._submit(functools.partial(self._send_storm, summary), reports=summary.repeats)

    def _send_error(self, event: EventMessageType) -> None:
        self._send(error_message(event), reports=1)

    def _send_storm(self, summary: _Summary) -> None:
        message = storm_message(summary.latest, summary.repeats, summary.seconds)
        self._send(message, reports=summary.repeats)

    def _send(self, payload: Dict[str, Any], reports: int) -> None:
        """Post one message, counting the reports it stands for as sent or dropped. Never raises."""
        try:
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            delivered = self._post(body)
        except Exception as error:
            self.stats.add("failed")
            self.stats.add("dropped", reports)
            logger.error("notebook_error_reporter: could not post to Slack (%s)", type(error).__name__)
            logger.debug("notebook_error_reporter: Slack post failure", exc_info=True)
            return
        self.stats.add("sent" if delivered else "dropped", reports)

    def _post(self, body: bytes) -> bool:
        """POST ``body`` with Slack's retry rules; True once Slack accepted it."""
        headers = {"Content-Type": "application/json; charset=utf-8"}
        reason = ""
        for attempt in range(self.retries + 1):
            delay: Optional[float] = None
            try:
                with requests.post(
                    self.slack_webhook,
                    data=body,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                ) as response:
                    status = response.status_code
                    if 200 <= status < 300:
                        return True
                    if not worth_retrying(status):
                        self._warn_once(
                            "rejected",
                            f"Slack rejected a report with HTTP {status} "
                            f"({response.text[:80]!r}); is the webhook valid? Reports are dropped",
                        )
                        return False
                    delay = retry_after_seconds(response.headers.get("Retry-After"))
                    reason = f"HTTP {status}"
            except requests.RequestException as error:
                # Only the class name: the exception's text holds the webhook's secret path.
                reason = type(error).__name__
            if attempt == self.retries:
                break
            time.sleep(self._retry_delay(attempt, delay))
        attempts = self.retries + 1
        self._warn_once("gave-up", f"Slack did not accept a report after {attempts} attempts ({reason})")
        return False

    def _retry_delay(self, attempt: int, retry_after: Optional[float]) -> float:
        return wait_seconds(
            attempt + 1, self.backoff, _MAX_BACKOFF, random.random(), retry_after, self.max_retry_after
        )

    def _warn_once(self, kind: str, message: str) -> None:
        """Tell the author once per kind of trouble; after that, only at debug level."""
        with self._lock:
            first = kind not in self._warned
            self._warned.add(kind)
        logger.log(logging.WARNING if first else logging.DEBUG, "notebook_error_reporter: %s", message)
