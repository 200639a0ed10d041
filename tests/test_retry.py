"""The one retry policy of every sender (server, Slack, alert deliveries): statuses worth another try,
back-off with jitter, and reading Retry-After."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notebook_error_reporter.retry import backoff_seconds, retry_after_seconds, wait_seconds, worth_retrying

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


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 599, 302, 101])
def test_timeouts_limits_server_errors_and_odd_answers_are_worth_another_try(status: int) -> None:
    assert worth_retrying(status)


@pytest.mark.parametrize("status", [200, 201, 400, 401, 403, 404, 410, 413, 422])
def test_successes_and_final_refusals_are_not(status: int) -> None:
    assert not worth_retrying(status)


@given(
    failures=st.integers(min_value=1, max_value=200),
    base=st.floats(min_value=0.001, max_value=10),
    cap=st.floats(min_value=0.01, max_value=3600),
    rand=st.floats(min_value=0, max_value=1),
)
def test_the_back_off_stays_between_half_and_all_of_the_capped_exponential(
    failures: int, base: float, cap: float, rand: float
) -> None:
    delay = backoff_seconds(failures, base, cap, rand)
    ceiling = min(cap, base * 2 ** min(failures - 1, 60))
    assert ceiling / 2 - 1e-9 <= delay <= ceiling + 1e-9
    assert backoff_seconds(failures, base, cap, 0.0) == pytest.approx(ceiling / 2)
    assert backoff_seconds(failures, base, cap, 1.0) == pytest.approx(ceiling)


def test_the_back_off_doubles_up_to_the_cap() -> None:
    assert [backoff_seconds(n, 2.0, 60.0, 1.0) for n in (1, 2, 3, 4, 5, 6)] == [2, 4, 8, 16, 32, 60]


def test_a_retry_after_is_waited_for_but_capped_and_never_shortens_the_back_off() -> None:
    assert wait_seconds(1, 2.0, 60.0, 1.0, None, 3600) == 2.0
    assert wait_seconds(1, 2.0, 60.0, 1.0, 30.0, 3600) == 30.0
    assert wait_seconds(1, 2.0, 60.0, 1.0, 7200.0, 3600) == 3600
    assert wait_seconds(3, 2.0, 60.0, 1.0, 1.0, 3600) == 8.0, "the back-off is longer"
