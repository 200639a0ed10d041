"""The background deliverer: one daemon thread per app that drains the alert outbox.

Each round it reads which targets have pending alerts (one indexed query), expires any pending
for over a day, and for each configured target whose earliest alert is due and whose
digest window is over, claims *all* its due alerts and posts them as one message (a single alert
or a digest). Then it sleeps until the next thing is due, at most the poll interval.

Digest rule: a target gets at most one message per ``alert_digest_seconds``. The first new issue
goes out at once; whatever arrives within the window after it waits and goes out together when
the window ends. Alerts stored in one ingest transaction (a batch) go out together anyway.

Retries (``retry.py``): a retryable failure (connection, timeout, 408, 429, 5xx) puts the claimed
alerts back with ``next_attempt_at`` after an exponential back-off with jitter, never sooner than
a ``Retry-After`` (capped); any other 4xx gives up on them. Both are recorded on the target, for
``health.webhook_failures``. Delivery is at least once: if the database cannot record a success,
the lease runs out and the alerts are posted again. The thread is started by the app's lifespan,
so each uvicorn worker has its own, after any fork.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Dict, List, Optional

from ...retry import wait_seconds
from ..core.config import Settings
from ..core.db import UNAVAILABLE_ERRORS, Database
from ..core.types import utcnow
from . import messages, outbox
from .outbox import ClaimedAlert
from .webhook import HttpWebhookPoster, Outcome, WebhookPoster

logger = logging.getLogger("notebook_error_reporter.server.alerts")

# A claim outlives the slowest post (webhook.TIMEOUT) by far; a dead deliverer's claim runs out.
LEASE = timedelta(seconds=60)
MAX_RETRY_AFTER = 3600.0  # a server asking for a longer pause gets an hour
STOP_TIMEOUT = 15.0
MAX_AGE = timedelta(days=1)  # pending longer than this (target down, or configured nowhere): expired


@dataclass(frozen=True)
class AlertConfig:
    """The part of the settings the deliverer uses; ``targets`` maps "slack"/"webhook" to URLs."""

    targets: Dict[str, str]
    base_url: str
    digest: timedelta = timedelta(seconds=60)
    poll_seconds: float = 2.0
    retry_base: float = 2.0
    retry_max: float = 600.0
    lease: timedelta = LEASE

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertConfig:
        targets = {
            name: url
            for name, url in (("slack", settings.slack_webhook_url), ("webhook", settings.alert_webhook_url))
            if url
        }
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        return cls(
            targets=targets,
            base_url=settings.public_base_url or f"http://{host}:{settings.port}",
            digest=timedelta(seconds=settings.alert_digest_seconds),
            poll_seconds=settings.alert_poll_seconds,
            retry_base=settings.alert_retry_base_seconds,
            retry_max=settings.alert_retry_max_seconds,
        )


@dataclass
class Deliverer:
    """Drains the outbox of one database; ``run_once`` is the unit tests may call directly."""

    database: Database
    config: AlertConfig
    poster: WebhookPoster = field(default_factory=HttpWebhookPoster)
    clock: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)
    _wake: threading.Event = field(default_factory=threading.Event, init=False)
    _stopping: bool = field(default=False, init=False)
    _thread: Optional[threading.Thread] = field(default=None, init=False)

    def start(self) -> None:
        """Start the thread (idempotent). An in-memory SQLite database has one connection, shared
        with the requests: a second thread's transactions would interleave with theirs, so alerts
        need a database file or PostgreSQL there."""
        if self._thread is not None:
            return
        url = self.database.url
        if self.database.is_sqlite and (url in ("sqlite://", "sqlite:///") or ":memory:" in url):
            if self.config.targets:
                logger.warning("alerts: not delivered from an in-memory database; use a file or PostgreSQL")
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="notebook-error-alerts", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Ask the thread to end after the post in flight (bounded by the poster's timeout)."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.poster.close()

    def _run(self) -> None:
        while not self._stopping:
            wait = self.config.poll_seconds
            try:
                due_in = self.run_once()
                if due_in is not None:
                    wait = min(wait, max(due_in, 0.01))
            except UNAVAILABLE_ERRORS as error:  # an outage: expected, one line, the next round retries
                cause = getattr(error, "orig", None) or error
                logger.warning("alerts: database unavailable (%s): retrying next round", type(cause).__name__)
            except Exception:  # anything else is a bug, with its traceback; the loop survives it
                logger.exception("alerts: delivery round failed")
            self._wake.wait(wait)
            self._wake.clear()

    def run_once(self) -> Optional[float]:
        """One round; returns the seconds until the next alert is due, if any waits."""
        now = self.clock()
        with self.database.session() as session:
            waiting = outbox.pending(session=session)
        if any(item.oldest_created_at < now - MAX_AGE for item in waiting):
            with self.database.write_session() as session:
                expired = outbox.expire(session=session, older_than=now - MAX_AGE, now=now)
            if expired:
                logger.warning("alerts: %d alert(s) pending for over a day expired undelivered", expired)
        next_due: Optional[datetime] = None
        for item in waiting:
            url = self.config.targets.get(item.target)
            if url is None or self._stopping:
                continue
            due = item.next_attempt_at
            with self.database.session() as session:
                last = outbox.last_sent_at(session=session, target=item.target)
            if last is not None:
                due = max(due, last + self.config.digest)
            if due > now:
                next_due = due if next_due is None else min(next_due, due)
                continue
            with self.database.write_session() as session:
                claimed = outbox.claim(session=session, target=item.target, now=now, lease=self.config.lease)
            if claimed:
                self._deliver(item.target, url, claimed)
        return None if next_due is None else (next_due - self.clock()).total_seconds()

    def _deliver(self, target: str, url: str, claimed: List[ClaimedAlert]) -> None:
        if target == "slack":
            payload = messages.slack_payload(claimed, self.config.base_url)
        else:
            payload = messages.webhook_payload(claimed, self.config.base_url)
        outcome = self.poster.post(url, payload)
        now = self.clock()
        ids = [alert.alert_id for alert in claimed]
        with self.database.write_session() as session:
            if outcome.delivered:
                outbox.mark_sent(session=session, target=target, alert_ids=ids, now=now)
                return
            retry_at = self._retry_at(outcome, claimed, now)
            outbox.mark_failed(
                session=session, target=target, alert_ids=ids, now=now, error=outcome.error, retry_at=retry_at
            )
        if retry_at is None:
            logger.warning("alerts: %s refused %d alert(s), giving up: %s", target, len(ids), outcome.error)
        else:
            logger.warning(
                "alerts: %s delivery of %d alert(s) failed (%s); next retry at %s (in %.1f s)",
                target,
                len(ids),
                outcome.error,
                retry_at.strftime("%H:%M:%S UTC"),
                (retry_at - now).total_seconds(),
            )

    def _retry_at(self, outcome: Outcome, claimed: List[ClaimedAlert], now: datetime) -> Optional[datetime]:
        if not outcome.retry:
            return None
        failures = max(alert.attempts for alert in claimed) + 1
        delay = wait_seconds(
            failures,
            self.config.retry_base,
            self.config.retry_max,
            self.rng.random(),
            outcome.retry_after,
            MAX_RETRY_AFTER,
        )
        return now + timedelta(seconds=delay)
