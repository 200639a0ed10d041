"""The alert tables: the outbox ingest writes to, and each target's delivery health.

``Alert`` is a durable outbox: ingest inserts a row per target in its own transaction (so an alert
exists exactly when its issue does, and survives a restart); the deliverer claims rows with a lease
(``claimed_until``), so several workers or machines on one database send each alert once.

``AlertTarget`` holds what must be shared between those workers: when the target last got a
message (the digest window starts there) and since when it has been failing, with the last error
(already stripped of the URL, it is shown on the dashboard).

Every target gets its rows whether configured or not (ingest does not know the settings, and two
servers on one database might differ); rows nobody delivers expire after a day.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Index
from sqlmodel import Field

from ..core.metadata import SQLModel
from ..core.types import UTCDateTime

TARGETS = ("slack", "webhook")
MAX_ERROR_CHARS = 300


class Alert(SQLModel, table=True):
    """One thing to tell one target: an issue was born, or a resolved issue happened again."""

    __tablename__ = "alert"
    __table_args__ = (Index("ix_alert_status_target_id", "status", "target", "id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    issue_id: int = Field(foreign_key="issue.id", index=True)
    kind: str = Field(max_length=16, description="'new' or 'regression'.")
    target: str = Field(max_length=16, description="'slack' or 'webhook'.")
    status: str = Field(
        default="pending", max_length=16, description="'pending', 'sent', 'failed' or 'expired'."
    )
    created_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    claimed_until: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    claim_token: Optional[str] = Field(default=None, max_length=32)
    last_error: Optional[str] = Field(default=None, max_length=MAX_ERROR_CHARS)
    finished_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)


class AlertTarget(SQLModel, table=True):
    """One target's shared state; a row appears at its first delivery attempt."""

    __tablename__ = "alert_target"

    target: str = Field(primary_key=True, max_length=16)
    last_sent_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    failing_since: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    last_failure_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    last_error: Optional[str] = Field(default=None, max_length=MAX_ERROR_CHARS)
