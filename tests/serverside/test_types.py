"""``UTCDateTime``'s quick SQLite path stores exactly what SQLAlchemy's own chain would; ``utc_iso``
(PostgreSQL's recordsets) names the same instant in UTC."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator

from notebook_error_reporter.serverside.core.types import UTCDateTime, sqlite_utc_text, utc_iso


class GenericUTCDateTime(TypeDecorator[datetime]):
    """``UTCDateTime`` without its quick path: ``process_bind_param``, then SQLite's DATETIME."""

    impl = DateTime(timezone=True)
    cache_ok = True
    process_bind_param = UTCDateTime.process_bind_param


ZONES = [
    timezone.utc,
    timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=-11)),
    ZoneInfo("America/New_York"),
    ZoneInfo("Australia/Lord_Howe"),  # a half-hour daylight saving shift
]


def test_the_quick_sqlite_text_is_the_generic_chains_text() -> None:
    generic = GenericUTCDateTime()._cached_bind_processor(sqlite.dialect())
    assert generic is not None
    assert UTCDateTime()._cached_bind_processor(sqlite.dialect()) is sqlite_utc_text
    rng = random.Random(4)
    start = datetime(1971, 1, 1, tzinfo=timezone.utc)
    for _ in range(5000):
        instant = start + timedelta(seconds=rng.uniform(0, 2e9), microseconds=rng.randrange(10**6))
        local = instant.astimezone(rng.choice(ZONES))
        assert sqlite_utc_text(local) == generic(local), local
    assert sqlite_utc_text(datetime(2024, 5, 1, 14, 0, tzinfo=ZONES[1])) == "2024-05-01 08:30:00.000000"
    assert sqlite_utc_text(None) is None


def test_a_naive_datetime_is_refused_on_every_database() -> None:
    naive = datetime(2024, 5, 1, 12, 0)
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        processor = UTCDateTime()._cached_bind_processor(dialect)
        with pytest.raises(ValueError, match="naive"):
            processor(naive) if processor else UTCDateTime().process_bind_param(naive, dialect)


def test_utc_iso_names_the_same_instant_in_utc_and_refuses_naive_times() -> None:
    rng = random.Random(5)
    start = datetime(1971, 1, 1, tzinfo=timezone.utc)
    for _ in range(2000):
        instant = start + timedelta(seconds=rng.uniform(0, 2e9), microseconds=rng.randrange(10**6))
        text = utc_iso(instant.astimezone(rng.choice(ZONES)))
        assert text.endswith("+00:00") and datetime.fromisoformat(text) == instant
    with pytest.raises(ValueError, match="naive"):
        utc_iso(datetime(2024, 5, 1, 12, 0))
