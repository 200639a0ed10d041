"""Reading a ``Retry-After`` header (pure): how long a server or Slack asked us to wait.

One reading for every sender: the collection server's (sender.py), Slack's (slack.py) and the
server's own alert deliveries (serverside/alerts/transport.py).
"""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Optional


def retry_after_seconds(value: Optional[str], now: Optional[datetime] = None) -> Optional[float]:
    """Seconds from ``now`` (default: this moment) that ``value`` asks for: delta-seconds or an HTTP
    date (RFC 9110), never negative; None if the header is absent or says neither."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:  # what Python 3.9's parser answers for a malformed date
        return None
    if when.tzinfo is None:  # "-0000": RFC 5322's "UTC, source zone unknown"
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
