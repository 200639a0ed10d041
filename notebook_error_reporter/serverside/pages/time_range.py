"""The issues page's time filter, pure: a named range or two days, as the ``seen_after``/``seen_before``
bounds of the issues' last report (UTC)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Dict, Literal, Optional, Tuple

TimeRange = Literal["any", "24h", "7d", "30d", "custom"]
RANGES: Dict[str, str] = {
    "any": "any time",
    "24h": "last 24 hours",
    "7d": "last 7 days",
    "30d": "last 30 days",
    "custom": "between days…",
}
_SPANS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
Bounds = Tuple[Optional[datetime], Optional[datetime]]


class BadRange(ValueError):
    """Days that make no range; the message says why, for the page."""


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


def day(text: str, name: str) -> Optional[date]:
    """A ``YYYY-MM-DD`` day from a date field (empty: none)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRange(f"{name}: not a day (YYYY-MM-DD).") from None


def bounds(choice: str, now: datetime, first_day: Optional[date], last_day: Optional[date]) -> Bounds:
    """``(seen_after, seen_before)``: a named range ends now; otherwise (``custom``, or ``any`` with
    days given) from the start of ``first_day`` to the end of ``last_day``, either may be left open."""
    if choice in _SPANS:
        return now - _SPANS[choice], None
    if first_day and last_day and first_day > last_day:
        raise BadRange(f"The range starts ({first_day}) after it ends ({last_day}).")
    after = _midnight(first_day) if first_day else None
    before = _midnight(last_day + timedelta(days=1)) if last_day and last_day < date.max else None
    return after, before
