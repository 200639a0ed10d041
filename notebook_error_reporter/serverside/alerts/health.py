"""What the dashboard shows about alert delivery: which webhook is failing, since when, what waits.

Read from the database (``alert_target`` and the pending ``alert`` rows), not from a deliverer's
memory, so every worker and every machine on the database shows the same banner. A target is
failing from its first failed post after a success until its next success (see ``SHOWN_FOR`` for
one that nobody retries any more); the error text was made safe by the transport (no URL, which
is the webhook's secret).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import List

from sqlalchemy import select
from sqlmodel import Session

from ..core.types import utcnow
from . import outbox
from .outbox import TARGET

# A target that failed and has nothing waiting (it refused for good, or is no longer configured
# anywhere) is shown this long after its last failure; one with alerts waiting, while they wait.
SHOWN_FOR = timedelta(days=1)


@dataclass(frozen=True)
class WebhookHealth:
    """One configured alert target whose deliveries are failing."""

    target: str  # "slack" or "webhook"
    last_error: str  # short, already safe to show (no URL secrets)
    failing_since: datetime
    pending: int  # alerts waiting for this target


def webhook_failures(*, session: Session) -> List[WebhookHealth]:
    """The failing targets, for a banner on the dashboard; empty when all is well."""
    failing = session.execute(
        select(TARGET.c.target, TARGET.c.last_error, TARGET.c.failing_since, TARGET.c.last_failure_at)
        .where(TARGET.c.failing_since.is_not(None))
        .order_by(TARGET.c.target)
    ).all()
    if not failing:
        return []
    waiting = outbox.pending_counts(session=session)
    recent = utcnow() - SHOWN_FOR
    return [
        WebhookHealth(str(target), error or "", since, waiting.get(str(target), 0))
        for target, error, since, last in failing
        if waiting.get(str(target)) or (last is not None and last > recent)
    ]
