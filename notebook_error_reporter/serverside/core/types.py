"""Column types shared by the models and the migrations."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes in, timezone-aware UTC datetimes out, on every database.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so UTC is stored without an offset
    and given back as UTC. A naive datetime is refused: its meaning would depend on the server's zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: Any) -> Optional[Callable[[Any], Any]]:
        """On SQLite, straight to the stored text (``sqlite_utc_text``); elsewhere the usual chain.

        The usual chain (``process_bind_param``, then the SQLite type's own formatting) costs three
        times as much, and ingest binds a handful of timestamps per report.
        """
        if dialect.name == "sqlite":
            return sqlite_utc_text
        return super().bind_processor(dialect)

    def process_bind_param(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        utc_offset(value)
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utc_offset(value: datetime) -> timedelta:
    """``value``'s offset from UTC; a naive datetime is refused (its meaning would depend on the
    server's zone)."""
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("naive datetime: timestamps must carry a time zone")
    return offset


# SQLAlchemy's SQLite DATETIME storage format (its default): what SQLite rows hold and compare as text.
SQLITE_DATETIME_FORMAT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def sqlite_utc_text(value: Optional[datetime]) -> Optional[str]:
    """A timezone-aware datetime as the UTC text SQLAlchemy's SQLite DATETIME stores (pure)."""
    if value is None:
        return None
    offset = utc_offset(value)
    if offset:
        value = value - offset  # the same instant's UTC wall-clock fields
    return SQLITE_DATETIME_FORMAT % (
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
    )


def utc_iso(value: datetime) -> str:
    """A timezone-aware datetime as ISO 8601 text in UTC (pure); a naive one is refused."""
    utc_offset(value)
    return value.astimezone(timezone.utc).isoformat()


# Row ids that may pass 2**31 on PostgreSQL; SQLite needs plain INTEGER for an auto-incremented key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
