"""When to send again (pure): which answers are worth another try, how long to back off, and how
long a ``Retry-After`` asks for.

One policy for every sender: the collection server's (``sender.py``), Slack's (``backends/slack.py``) and
the server's own alert deliveries (``serverside/alerts/``). See docs/design.md.
"""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Optional

# 4xx answers that are not a refusal: the request timed out, or came too soon.
RETRYABLE_4XX = (408, 429)


def worth_retrying(status: int) -> bool:
    """Whether an HTTP answer that is not a success is worth another try: 408, 429, a 5xx, and any
    other answer that is not a final 4xx refusal (a captive portal's redirect, say)."""
    final_refusal = 400 <= status < 500 and status not in RETRYABLE_4XX
    return not (200 <= status < 300 or final_refusal)


def backoff_seconds(failures: int, base: float, cap: float, rand: float) -> float:
    """Seconds to wait after ``failures`` (1 or more) failures in a row: doubling from ``base`` up to
    ``cap``, with "equal jitter" (between half and all of it, as ``rand`` goes from 0 to 1), so that
    senders that failed together spread out yet each waits a while."""
    ceiling = min(cap, base * 2 ** max(0, min(failures - 1, 60)))
    return ceiling / 2 + rand * ceiling / 2


def wait_seconds(
    failures: int, base: float, cap: float, rand: float, retry_after: Optional[float], max_retry_after: float
) -> float:
    """The back-off (``backoff_seconds``), but never sooner than a ``retry_after`` the other side
    asked for, itself at most ``max_retry_after``."""
    delay = backoff_seconds(failures, base, cap, rand)
    return delay if retry_after is None else max(delay, min(retry_after, max_retry_after))


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
