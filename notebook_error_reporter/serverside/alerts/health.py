"""What the dashboard shows about alert delivery: which webhook is failing, since when, what waits.

A stub until the alert outbox lands: with no outbox, nothing can be failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import List

from sqlmodel import Session


@dataclass(frozen=True)
class WebhookHealth:
    """One configured alert target whose deliveries are failing."""

    target: str  # "slack" or "webhook"
    last_error: str  # short, already safe to show (no URL secrets)
    failing_since: datetime
    pending: int  # alerts waiting for this target


def webhook_failures(*, session: Session) -> List[WebhookHealth]:
    """The failing targets, for a banner on the dashboard; empty when all is well."""
    return []
