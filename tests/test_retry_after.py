"""Reading Retry-After: the one function every sender (server, Slack, alert deliveries) uses."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from notebook_error_reporter.retry_after import retry_after_seconds

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def test_delta_seconds_are_read_as_they_are_and_never_negative() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(" 1.5 ") == 1.5
    assert retry_after_seconds("-5") == 0.0


def test_http_dates_count_from_now() -> None:
    later = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(later, now=NOW) == pytest.approx(90)
    earlier = format_datetime(NOW - timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(earlier, now=NOW) == 0.0


def test_a_date_without_a_known_zone_is_utc() -> None:
    # "-0000" (RFC 5322: UTC, source zone unknown) parses to a naive datetime.
    unknown_zone = format_datetime((NOW + timedelta(seconds=30)).replace(tzinfo=None))
    assert unknown_zone.endswith("-0000")
    assert retry_after_seconds(unknown_zone, now=NOW) == pytest.approx(30)


@pytest.mark.parametrize("value", [None, "", "soon", "Mon, 99 Foo 2026 25:61:00 GMT"])
def test_anything_else_says_nothing(value: object) -> None:
    assert retry_after_seconds(value) is None  # type: ignore[arg-type]
