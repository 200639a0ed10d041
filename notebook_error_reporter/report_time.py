"""When a report happened: its time parsed, ordered, and written in the reader's local time zone."""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from typing import Any, Mapping, Optional

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def occurred_at(report: Mapping[str, Any]) -> Optional[datetime]:
    """The report's ``occurred_at`` (or 0.1's ``timestamp``), aware; None if absent or unreadable.

    A time without an offset is UTC: that is what the client and the servers write.
    """
    text = report.get("occurred_at") or report.get("timestamp")
    if not isinstance(text, str):
        return None
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def sort_key(report: Mapping[str, Any]) -> float:
    """Seconds since the epoch, for sorting; reports without a readable time come before all others."""
    when = occurred_at(report)
    return when.timestamp() if when is not None else float("-inf")


def local_text(when: datetime, zone: Optional[tzinfo] = None) -> str:
    """``2026-11-24 07:31:48 CET``: to the second, in ``zone`` (default: this machine's local zone)."""
    local = when.astimezone(zone)
    name = local.tzname() or local.strftime("%z")
    return f"{local.strftime(TIME_FORMAT)} {name}".rstrip()
