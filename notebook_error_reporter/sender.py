"""The delivery loop: spooled reports go to the server in batches, from one background thread.

A failing cell only calls :meth:`Sender.accept` (one spool insert, then a nudge to the worker);
everything that touches the network runs on the process's single ``BackgroundWorker`` thread,
starting ``linger`` (50 ms) later so the cell's traceback is drawn first and bursts share a batch:

* claim up to ``batch_size`` of this server's spooled rows (with a lease, so another kernel on the
  same spool skips them), POST them to ``/api/v1/events/batch``, delete what the server
  acknowledged (``created``/``duplicate``) or refused (``rejected``, counted as dropped); reports
  answered ``limited`` (over the server's rate limit) stay, and are sent again after its Retry-After;
* 408, 429, 5xx, a refused connection or a timeout: give the rows back, back off exponentially
  with jitter (capped, ``retry.py``), never sooner than a ``Retry-After``; a timer nudges again later;
* any other whole-request 4xx: the reports are dropped, counted and the reason logged; a 413 or
  422 on a batch is first split in halves so only the report at fault is dropped;
* 404 on the v1 route: the server speaks 0.1 (``legacy_protocol.py``), so use ``POST /usages/``
  once per session and ``POST /errors/{uuid}/`` per report;
* after every success, keep going until this server's rows (any session, any kernel) are gone.

At interpreter exit every sender gets one bounded flush (``flush_at_exit`` seconds, 2 by default).
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import random
import sqlite3
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Deque, Dict, List, Optional

from . import legacy_protocol
from .cachedir import MEMORY
from .retry import backoff_seconds, retry_after_seconds, worth_retrying
from .spool import CELL_WAIT, WORKER_WAIT, Claimed, Spool, SpoolBusy, open_spool
from .stats import ReporterStats
from .transport import Response, Timeout, Transport, TransportError
from .worker import BackgroundWorker

logger = logging.getLogger("notebook_error_reporter")

BATCH_ROUTE = "/api/v1/events/batch"
_ACKNOWLEDGED = ("created", "duplicate")

_worker = BackgroundWorker(name="notebook-error-reporter-sender")


def submit_background(job: Callable[[], None]) -> bool:
    """Run ``job`` on the sender's background thread (False if its queue is full). Never blocks."""
    return _worker.submit(job)


@dataclass
class SenderConfig:
    """The knobs of delivery; tests shrink the times, authors rarely touch any of them."""

    timeout: Timeout = (3.0, 10.0)
    batch_size: int = 100
    max_batch_bytes: int = 1_000_000
    max_spool_reports: int = 1000
    max_spool_bytes: int = 5_000_000
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    max_retry_after: float = 3600.0
    flush_at_exit: float = 2.0
    linger: float = 0.05  # seconds between a failing cell and the start of its delivery
    lease: Optional[float] = None  # default: long enough for the slowest request (see ``lease_seconds``)

    @property
    def lease_seconds(self) -> float:
        if self.lease is not None:
            return self.lease
        return max(60.0, 4 * (self.timeout[0] + self.timeout[1]))


class _Retry(Exception):
    """Stop this round; the rows go back to the spool and we back off (``retry_after`` if given)."""

    def __init__(self, reason: str, retry_after: Optional[float] = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Sender:
    """Delivers one server's spooled reports. Only :meth:`accept` runs on a cell's path."""

    def __init__(
        self,
        url: str,
        *,
        spool_path: Optional[str],
        transport: Transport,
        stats: ReporterStats,
        config: SenderConfig,
    ) -> None:
        self.url = url.rstrip("/")
        self.transport = transport
        self.stats = stats
        self.config = config
        self.legacy: Optional[bool] = None  # None: not known yet; True: the server speaks 0.1 only
        self.last_error: Optional[str] = None
        self.after_delivery: Optional[Callable[[], None]] = None  # on the worker, after each batch
        self.clock = time.monotonic
        self.random = random.random
        self._spool_path = spool_path
        self._spool: Optional[Spool] = None
        self._held: Deque[Dict[str, Any]] = collections.deque()
        self._closed = False
        self._reset_process_state()
        _senders.add(self)
        _register_exit_flush()

    def _reset_process_state(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._queued = False
        self._linger = False
        self._timer: Optional[threading.Timer] = None
        self._failures = 0
        self._not_before = 0.0
        self._retry_after_until = 0.0

    def _check_fork(self) -> None:
        if self._pid != os.getpid():  # threads, timers and sqlite connections do not survive a fork
            self._reset_process_state()
            self._spool = None

    @property
    def spool(self) -> Spool:
        self._check_fork()
        if self._spool is None:
            self._spool = open_spool(self._spool_path)
        return self._spool

    # -- the failing cell's path ---------------------------------------------------------------
    def accept(self, event: Dict[str, Any]) -> None:
        """Spool ``event`` (or hold it in memory if the spool is busy) and wake the sender."""
        if not isinstance(event.get("event_id"), str) or not event["event_id"]:
            event["event_id"] = uuid.uuid4().hex  # before_send took it away: the spool needs a key
        try:
            self._put(event, wait=CELL_WAIT)
        except Exception as error:  # busy or broken: keep it in memory, the worker spools it later
            logger.info("notebook_error_reporter: spool unavailable (%s); report held in memory", error)
            with self._lock:
                self._held.append(event)
                if len(self._held) > self.config.max_spool_reports:
                    self._held.popleft()
                    self.stats.add("dropped")
        self.nudge(linger=True)

    def nudge(self, reset_backoff: bool = False, linger: bool = False) -> None:
        """Ask the worker to send now (unless backing off). Cheap and idempotent; never blocks.

        ``linger``: start sending only after ``config.linger`` s, so a failing cell's traceback is
        drawn without our thread competing for the GIL, and a burst of errors goes in one batch.
        """
        self._check_fork()
        with self._lock:
            if self._closed:
                return
            self._linger = self._linger or linger
            if reset_backoff:
                self._linger = False
                self._not_before = 0.0
                self._failures = 0
            elif self._timer is not None and self.clock() < max(self._not_before, self._retry_after_until):
                return  # backing off: the timer already due will send this report too
            if self._queued:
                return
            self._queued = True
        if not _worker.submit(self._drain_job):
            with self._lock:
                self._queued = False

    # -- the worker's side ---------------------------------------------------------------------
    def _drain_job(self) -> None:
        with self._lock:
            linger, self._linger = self._linger, False
        if linger and self.config.linger > 0:
            time.sleep(self.config.linger)  # reports accepted meanwhile join this round
        with self._lock:
            self._queued = False
        try:
            self.drain()
        except Exception:
            self.stats.add("failed")
            logger.exception("notebook_error_reporter: the sender failed; reports stay spooled")

    def drain(self) -> None:
        """Send this server's spooled reports until none is left or the server needs a pause."""
        if not self._spool_held():
            self._schedule(self._backoff(None))
            return
        while not self._closed:
            wait = max(self._not_before, self._retry_after_until) - self.clock()
            if wait > 0:
                self._schedule(wait)
                return
            limit = legacy_protocol.BATCH if self.legacy else self.config.batch_size
            try:
                batch = self.spool.claim(
                    self.url,
                    limit=limit,
                    max_bytes=self.config.max_batch_bytes,
                    lease=self.config.lease_seconds,
                )
            except SpoolBusy:
                self._schedule(self._backoff(None))
                return
            if not batch:
                return
            try:
                self._send(batch)
            except SpoolBusy:  # another kernel holds the spool: rows stay claimed until their lease ends
                self._schedule(self._backoff(None))
                return
            except _Retry as retry:
                self.last_error = str(retry)
                logger.info("notebook_error_reporter: will retry %s later: %s", self.url, retry)
                self._schedule(self._backoff(retry.retry_after))
                return
            self._failures = 0
            self.last_error = None
            if self.after_delivery is not None:
                self.after_delivery()

    def _spool_held(self) -> bool:
        while True:
            with self._lock:
                if not self._held:
                    return True
                event = self._held[0]
            try:
                self._put(event, wait=WORKER_WAIT)
            except SpoolBusy:
                return False
            except sqlite3.Error as error:  # the file broke under us (disk full, deleted): use memory
                logger.warning(
                    "notebook_error_reporter: the spool failed (%s); keeping reports in memory", error
                )
                if self.spool.location == MEMORY:
                    self._drop_held(event, error)
                self._spool = open_spool(MEMORY)
                continue
            except Exception as error:  # this report cannot be stored at all
                self._drop_held(event, error)
                continue
            with self._lock:
                if self._held and self._held[0] is event:
                    self._held.popleft()

    def _put(self, event: Dict[str, Any], *, wait: float) -> None:
        """Spool ``event`` within the spool's bounds, counting the older reports that made room."""
        dropped = self.spool.put(
            event,
            self.url,
            max_reports=self.config.max_spool_reports,
            max_bytes=self.config.max_spool_bytes,
            wait=wait,
        )
        if dropped:
            self.stats.add("dropped", dropped)

    def _drop_held(self, event: Dict[str, Any], error: BaseException) -> None:
        with self._lock:
            if self._held and self._held[0] is event:
                self._held.popleft()
        self.stats.add("dropped")
        logger.warning("notebook_error_reporter: a report could not be stored and was dropped: %r", error)

    def _backoff(self, retry_after: Optional[float]) -> float:
        now = self.clock()
        self._failures += 1
        config = self.config
        delay = backoff_seconds(self._failures, config.backoff_base, config.backoff_cap, self.random())
        self._not_before = now + max(delay, 0.01)
        if retry_after is not None:
            self._retry_after_until = now + min(retry_after, self.config.max_retry_after)
        return max(self._not_before, self._retry_after_until) - now

    def _schedule(self, delay: float) -> None:
        with self._lock:
            if self._closed:
                return
            if self._timer is not None:
                self._timer.cancel()
            timer = threading.Timer(delay, self._timer_fired)
            timer.daemon = True
            self._timer = timer
        timer.start()

    def _timer_fired(self) -> None:
        with self._lock:
            self._timer = None  # so this nudge is not taken for one made while backing off
        try:
            self.nudge()
        except Exception:  # e.g. no thread could be started; the next report or enable() tries again
            logger.warning("notebook_error_reporter: could not resume sending", exc_info=True)

    def cancel_timer(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def close(self) -> None:
        """Stop for good: no more rounds or timers (a request in flight still ends normally)."""
        with self._lock:
            self._closed = True
        self.cancel_timer()
        _senders.discard(self)

    # -- one round -----------------------------------------------------------------------------
    def _send(self, batch: List[Claimed]) -> None:
        """Deliver ``batch``: on return every row is removed; ``_Retry`` gives the rest back."""
        done: List[str] = []
        try:
            if not self.legacy:
                self._send_v1(batch, done)
                if self.legacy:  # the v1 route answered 404: this server speaks 0.1
                    self._send_legacy([c for c in batch if c.event_id not in done], done)
            else:
                self._send_legacy(batch, done)
        except BaseException:
            self.spool.release(c.event_id for c in batch if c.event_id not in done)
            raise

    def _post(self, path: str, body: Any) -> Response:
        try:
            return self.transport.request("POST", self.url + path, body=body, timeout=self.config.timeout)
        except TransportError as error:
            raise _Retry(str(error)) from error

    def _send_v1(self, batch: List[Claimed], done: List[str]) -> None:
        told = self.spool.dropped(self.url)
        answer = self._post(BATCH_ROUTE, {"events": [c.event for c in batch], "client_dropped": told})
        status = answer.status
        if legacy_protocol.speaks_only_01(status) and self.legacy is None:
            self.legacy = True
            return
        _raise_if_retryable(answer)
        if status in (413, 422) and len(batch) > 1:
            middle = len(batch) // 2
            self._send_v1(batch[:middle], done)
            self._send_v1(batch[middle:], done)
            return
        if not 200 <= status < 300:
            self._drop(batch, done, f"HTTP {status}: {_reason(answer)}")
            return
        results = answer.data.get("results") if isinstance(answer.data, dict) else None
        if not isinstance(results, list):
            raise _Retry(f"HTTP {status} without per-report results: {answer.text[:200]!r}")
        self.legacy = False
        answers = _match_results(batch, results)
        acknowledged = [c for c in batch if answers[c.event_id].get("status") in _ACKNOWLEDGED]
        rejected = [c for c in batch if answers[c.event_id].get("status") == "rejected"]
        self.spool.remove(c.event_id for c in acknowledged + rejected)
        done.extend(c.event_id for c in acknowledged + rejected)
        self.spool.dropped_told(self.url, told)
        if acknowledged:
            self.stats.add("sent", len(acknowledged))
        for claimed in rejected:
            self.stats.add("dropped")
            logger.warning(
                "notebook_error_reporter: %s rejected report %s: %s",
                self.url,
                claimed.event_id,
                answers[claimed.event_id].get("detail") or "no reason given",
            )
        if len(done) < len(batch):
            # ``limited`` (over the server's rate limit) or left out: kept, sent again after the wait.
            raise _Retry(
                f"{len(batch) - len(done)} report(s) not stored yet (over the server's limit, or missing)",
                retry_after_seconds(answer.headers.get("retry-after")),
            )

    def _drop(self, batch: List[Claimed], done: List[str], reason: str) -> None:
        self.spool.remove(c.event_id for c in batch)
        done.extend(c.event_id for c in batch)
        self.stats.add("dropped", len(batch))
        logger.warning(
            "notebook_error_reporter: %s refused %d report(s), dropped: %s", self.url, len(batch), reason
        )

    def _send_legacy(self, batch: List[Claimed], done: List[str]) -> None:
        for claimed in batch:
            usage = self._legacy_usage(claimed, done)
            if usage is None:
                continue
            body = legacy_protocol.report_body(claimed.event)
            answer = self._post(legacy_protocol.report_route(usage), body)
            _raise_if_retryable(answer)
            if 200 <= answer.status < 300:
                self.spool.remove([claimed.event_id])
                done.append(claimed.event_id)
                self.stats.add("sent")
            else:
                self._drop([claimed], done, f"HTTP {answer.status} from the 0.1 route: {_reason(answer)}")

    def _legacy_usage(self, claimed: Claimed, done: List[str]) -> Optional[str]:
        """The 0.1 usage uuid of the report's session, made once per session (remembered in the spool)."""
        usage = self.spool.legacy_usage(self.url, claimed.session_id)
        if usage is not None:
            return usage
        answer = self._post(legacy_protocol.USAGES_ROUTE, legacy_protocol.usage_body(claimed.event))
        _raise_if_retryable(answer)
        usage_id = legacy_protocol.usage_uuid(answer.data)
        if not 200 <= answer.status < 300:
            if answer.status == 404:
                self.legacy = None  # neither API answered: look for v1 again next time
            self._drop([claimed], done, f"HTTP {answer.status} from POST /usages/: {_reason(answer)}")
            return None
        if usage_id is None:
            raise _Retry(f"POST /usages/ answered without a uuid: {answer.text[:200]!r}")
        self.spool.remember_legacy_usage(self.url, claimed.session_id, usage_id)
        return usage_id

    # -- for the curious -----------------------------------------------------------------------
    def flush(self, timeout: float) -> bool:
        """Try to send everything now; wait at most ``timeout`` s. True if nothing is left to send.

        A pause the server asked for (Retry-After) is respected; our own back-off is skipped.
        """
        deadline = self.clock() + max(0.0, timeout)
        self.nudge(reset_backoff=True)
        _worker.flush(max(0.0, deadline - self.clock()))
        try:
            left = self.spool.count(self.url, wait=max(0.0, min(0.5, deadline - self.clock())))
        except Exception:
            return False
        with self._lock:
            return left == 0 and not self._held


def _id_key(value: Any) -> str:
    """The server answers with ids normalised to 32 lower-case hex digits; compare in that form."""
    return str(value or "").replace("-", "").lower()


def _match_results(batch: List[Claimed], results: List[Any]) -> Dict[str, Dict[str, Any]]:
    """Each claimed report's entry in the server's ``results`` (``{}`` if the server left it out).

    Matched by event id; an entry whose id the server could not read (``null``) is matched by
    its place, which the server keeps when the answer has one entry per report.
    """
    entries = [r if isinstance(r, dict) else {} for r in results]
    by_id = {_id_key(r.get("event_id")): r for r in entries if r.get("event_id")}
    same_shape = len(entries) == len(batch)
    matched: Dict[str, Dict[str, Any]] = {}
    for index, claimed in enumerate(batch):
        entry = by_id.get(_id_key(claimed.event_id))
        if entry is None and same_shape and not entries[index].get("event_id"):
            entry = entries[index]
        matched[claimed.event_id] = entry or {}
    return matched


def _raise_if_retryable(answer: Response) -> None:
    """Anything but a 2xx or a final 4xx is worth another try: 408, 429, 5xx, and odd answers
    (a 3xx we did not follow, a captive portal's page) that are not the server speaking."""
    if worth_retrying(answer.status):
        raise _Retry(
            f"HTTP {answer.status}: {_reason(answer)}", retry_after_seconds(answer.headers.get("retry-after"))
        )


def _reason(answer: Response) -> str:
    if isinstance(answer.data, dict) and "detail" in answer.data:
        return str(answer.data["detail"])[:300]
    return answer.text[:300] or "no reason given"


# -- one bounded flush at interpreter exit -----------------------------------------------------
_senders: weakref.WeakSet[Sender] = weakref.WeakSet()
_exit_registered = False
_exit_lock = threading.Lock()


def _register_exit_flush() -> None:
    global _exit_registered
    with _exit_lock:
        if not _exit_registered:
            atexit.register(flush_all_at_exit)
            _exit_registered = True


def flush_all_at_exit() -> None:
    """Give every sender one last chance, within the longest ``flush_at_exit``; never raises."""
    try:
        senders = [s for s in list(_senders) if s.config.flush_at_exit > 0 and s._pid == os.getpid()]
        if not senders:
            return
        budget = max(s.config.flush_at_exit for s in senders)
        deadline = time.monotonic() + budget
        for sender in senders:
            sender.cancel_timer()
            sender.nudge(reset_backoff=True)
        _worker.flush(max(0.0, deadline - time.monotonic()))
    except Exception:
        logger.info("notebook_error_reporter: the flush at exit failed; reports stay spooled", exc_info=True)
