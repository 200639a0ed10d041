"""Database tables and API shapes, in families: ``XBase`` (shared fields), ``X`` (the table),
``XPublic`` (what a read returns). What clients *send* is validated by ``schemas.py``.

Design points, each a promise of docs/design.md:

* Counts live on rows (``Issue.event_count``, ``IssueDay.count``, ``Notebook.event_count``) and are
  updated in the same transaction as the event insert, so listing the issues of a notebook with a
  million events reads a few hundred issue rows, never the events.
* ``Event.event_id`` is unique: the idempotency key. ``IssueSession`` makes "sessions affected" an
  exact count without a ``COUNT(DISTINCT)`` over events.
* Foreign keys have no ``ON DELETE``: nothing disappears by cascade; retention is an explicit purge.
* Timestamps are ``UTCDateTime``: aware in Python, UTC in the database.
* No table has a column for a client address or its hash.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Dict, List, Literal, Optional, cast

from pydantic import AfterValidator, field_validator
from sqlalchemy import JSON, BigInteger, Index, Table, Text, UniqueConstraint
from sqlmodel import Field

from . import note_rules
from .core.metadata import SQLModel
from .core.types import BigId, UTCDateTime

IssueStatus = Literal["open", "resolved", "ignored"]
MAX_NOTE_URL = note_rules.MAX_NOTE_URL
MAX_VERSION = note_rules.MAX_VERSION


# --- notebooks -----------------------------------------------------------------------------------------


class NotebookBase(SQLModel):
    name: str = Field(max_length=200, description="The name the notebook's author gave.")


class Notebook(NotebookBase, table=True):
    __tablename__ = "notebook"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    event_count: int = Field(default=0, sa_type=BigInteger)
    session_count: int = Field(default=0, sa_type=BigInteger)
    client_dropped: int = Field(default=0, sa_type=BigInteger)


class NotebookPublic(NotebookBase):
    created_at: datetime
    last_seen: Optional[datetime] = None
    event_count: int = Field(description="Reports received (retention purges do not lower it).")
    session_count: int = Field(description="Sessions (notebook runs) that reported or registered.")
    issue_count: int
    open_issue_count: int
    client_dropped: int = Field(description="Reports the clients' full spools had to drop, as they told us.")


# --- sessions (0.1: "usages") ----------------------------------------------------------------------------


class ReportSessionBase(SQLModel):
    session_id: str = Field(
        max_length=32, description="32 hex digits made by the client (0.1: the usage uuid)."
    )


class ReportSession(ReportSessionBase, table=True):
    """One run of a notebook; called a usage by version 0.1, and not a database session."""

    __tablename__ = "report_session"

    id: Optional[int] = Field(default=None, primary_key=True)
    session_id: str = Field(max_length=32, unique=True)
    notebook_id: int = Field(foreign_key="notebook.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    event_count: int = Field(default=0, sa_type=BigInteger)


# --- issues --------------------------------------------------------------------------------------------


class IssueBase(SQLModel):
    error_name: str = Field(max_length=200)
    message: str = Field(sa_type=Text, description="The scrubbed message of the issue's first report.")
    culprit: str = Field(sa_type=Text, description="The innermost frame: 'file in function'.")
    status: str = Field(default="open", max_length=16)
    regression: bool = Field(default=False, description="A report arrived after the issue was resolved.")
    event_count: int = Field(default=0, sa_type=BigInteger)
    session_count: int = Field(default=0, sa_type=BigInteger)
    first_seen: datetime = Field(sa_type=UTCDateTime)
    last_seen: datetime = Field(sa_type=UTCDateTime)


class Issue(IssueBase, table=True):
    __tablename__ = "issue"
    __table_args__ = (
        Index("ix_issue_notebook_last_seen", "notebook_id", "last_seen"),
        Index("ix_issue_notebook_event_count", "notebook_id", "event_count"),
        Index("ix_issue_last_seen", "last_seen"),
        Index("ix_issue_event_count", "event_count"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    notebook_id: int = Field(foreign_key="notebook.id")
    fingerprint: str = Field(max_length=64, unique=True)
    status: str = Field(default="open", max_length=16, index=True)
    regressed_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    status_changed_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    note: Optional[str] = Field(default=None, sa_type=Text)
    note_url: Optional[str] = Field(default=None, max_length=MAX_NOTE_URL)
    fixed_in_version: Optional[str] = Field(default=None, max_length=MAX_VERSION)


class IssuePublic(IssueBase):
    id: int
    notebook: str
    status: IssueStatus = "open"
    regressed_at: Optional[datetime] = None
    status_changed_at: Optional[datetime] = None
    note: Optional[str] = Field(default=None, description="The author's note for the notebook's users.")
    note_url: Optional[str] = Field(default=None, description="An http(s) link that goes with the note.")
    fixed_in_version: Optional[str] = Field(
        default=None, description="The notebook version that fixes it: older copies do not reopen it."
    )


class VersionCount(SQLModel):
    """The reports of one notebook version (null: reports that named none) among an issue's newest."""

    version: Optional[str]
    count: int
    first_seen: datetime
    last_seen: datetime
    older_copy: bool = Field(description="Older than the issue's fixed_in_version.")


class DayCount(SQLModel):
    day: date
    count: int


class IssueDetail(IssuePublic):
    daily: List[DayCount] = Field(
        description="Reports per day (UTC), oldest first, days without any left out."
    )
    traceback: List[Dict[str, Any]] = Field(description="The frames of the newest stored report.")
    versions: List[VersionCount] = Field(
        default=[], description="Notebook versions among the newest reports, most reports first."
    )


class IssueUpdate(SQLModel):
    """What a PATCH changes: only the fields it names (``{"note": null}`` removes the note)."""

    status: Optional[IssueStatus] = None
    note: Annotated[Optional[str], AfterValidator(note_rules.clean_note)] = Field(
        default=None,
        description="Plain text for the notebook's users, at most 500 characters; null removes it.",
    )
    note_url: Annotated[Optional[str], AfterValidator(note_rules.clean_note_url)] = Field(
        default=None, description="An http:// or https:// link shown with the note; null removes it."
    )
    fixed_in_version: Annotated[Optional[str], AfterValidator(note_rules.clean_version)] = Field(
        default=None,
        description="The notebook version that fixes it; reports from older copies do not reopen it.",
    )

    @field_validator("status")
    @classmethod
    def _status_given(cls, status: Optional[str]) -> Optional[str]:
        if status is None:  # only an explicit null gets here: an absent status keeps the issue's
            raise ValueError("must be open, resolved or ignored")
        return status

    def changes(self) -> Dict[str, Any]:
        """The note fields this update names, with their new values (None: removed)."""
        return {
            name: getattr(self, name)
            for name in note_rules.NOTE_FIELDS
            if name in self.model_fields_set
        }

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"status": "resolved", "fixed_in_version": "2026.12.1"},
                {
                    "note": "pandas 2.2 renamed this; run !pip install pandas==2.1",
                    "note_url": "https://example.org/fix",
                },
            ]
        }
    }


class IssuesPage(SQLModel):
    total: int
    limit: int
    offset: int
    items: List[IssuePublic]


class IssueDay(SQLModel, table=True):
    """Reports of one issue on one UTC day: the data of the dashboard's charts, read without events."""

    __tablename__ = "issue_day"

    issue_id: int = Field(foreign_key="issue.id", primary_key=True)
    day: date = Field(primary_key=True)
    count: int = Field(default=0, sa_type=BigInteger)


class IssueSession(SQLModel, table=True):
    """That a session met an issue; its rows are what ``Issue.session_count`` counts."""

    __tablename__ = "issue_session"

    issue_id: int = Field(foreign_key="issue.id", primary_key=True)
    session_pk: int = Field(foreign_key="report_session.id", primary_key=True)


# --- events --------------------------------------------------------------------------------------------


class EventBase(SQLModel):
    error_name: str = Field(max_length=200)
    error_message: str = Field(sa_type=Text)
    traceback: List[Dict[str, Any]] = Field(sa_type=JSON)
    first_line: str = Field(sa_type=Text)
    execution_count: int
    occurred_at: datetime = Field(sa_type=UTCDateTime)


class Event(EventBase, table=True):
    __tablename__ = "event"
    __table_args__ = (
        # Every index here is paid by every stored report: only those some read needs within its goal
        # (docs/performance.md, "The event table's indexes").
        Index("ix_event_issue_id_occurred_at_id", "issue_id", "occurred_at", "id"),
        Index("ix_event_session_pk_id", "session_pk", "id"),
        Index("ix_event_notebook_id_occurred_at", "notebook_id", "occurred_at"),
        UniqueConstraint("event_id", name="uq_event_event_id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True, sa_type=BigId)
    event_id: str = Field(max_length=32)
    issue_id: int = Field(foreign_key="issue.id")
    session_pk: int = Field(foreign_key="report_session.id")
    notebook_id: int = Field(foreign_key="notebook.id")
    occurred_at: datetime = Field(sa_type=UTCDateTime, index=True)
    received_at: datetime = Field(sa_type=UTCDateTime)
    client: Optional[Dict[str, Any]] = Field(default=None, sa_type=JSON)
    source: str = Field(default="v1", max_length=8, description="'v1' or '0.1', the API it came through.")
    custom_fingerprint: Optional[List[str]] = Field(
        default=None, sa_type=JSON, description="The client's own grouping, as it sent it (scrubbed)."
    )
    notebook_version: Optional[str] = Field(default=None, max_length=MAX_VERSION)
    older_copy: bool = Field(
        default=False, description="From a version older than its issue's fixed_in_version when stored."
    )


class EventPublic(EventBase):
    event_id: str
    session_id: str = Field(
        description="The session's id for the admin; for anybody else (max_transparency) its 8-hex label."
    )
    notebook: str
    issue_id: int
    received_at: datetime
    client: Optional[Dict[str, Any]] = None
    notebook_version: Optional[str] = None
    older_copy: bool = False


class EventsPage(SQLModel):
    total: int
    limit: int
    offset: int
    items: List[EventPublic]


class NotebookVersion(SQLModel, table=True):
    """When the server first saw a version of a notebook (in a report, or named as a fix): the
    order of versions that PEP 440 cannot compare (``versions.is_older``)."""

    __tablename__ = "notebook_version"

    notebook_id: int = Field(foreign_key="notebook.id", primary_key=True)
    version: str = Field(max_length=MAX_VERSION, primary_key=True)
    first_seen: datetime = Field(sa_type=UTCDateTime)


class IssueVersion(SQLModel, table=True):
    """That an issue was reported from a notebook version: what the issues list's version filter
    reads, written once per new pair instead of an index over every report."""

    __tablename__ = "issue_version"

    issue_id: int = Field(foreign_key="issue.id", primary_key=True)
    version: str = Field(max_length=MAX_VERSION, primary_key=True)


# --- the server's own secrets ------------------------------------------------------------------------------


class ServerSecret(SQLModel, table=True):
    """Keys made once per database, shared by every worker and machine (e.g. the address-hash key)."""

    __tablename__ = "server_secret"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=200)


# --- version 0.1 shapes ------------------------------------------------------------------------------------

HIDDEN_ADDRESS = "hidden"


class LegacyError(SQLModel):
    """An event as 0.1's ``Error``."""

    id: int
    usage_uuid: str = Field(description="The session's uuid; in the public listing its 8-hex label.")
    timestamp: datetime
    error_name: str
    error_message: Optional[str] = None
    traceback: List[Dict[str, Any]] = []
    execution_count: int
    first_line: str


class LegacyUsage(SQLModel):
    """A session as 0.1's ``Usage``; ``ip`` is kept for the shape and is always ``"hidden"``."""

    id: int
    ip: str = Field(default=HIDDEN_ADDRESS, description="Never the address: this server does not store it.")
    uuid: str = Field(description="The session's uuid; in the public listing its 8-hex label.")
    notebook: str
    timestamp: datetime
    errors: List[LegacyError] = []


# --- the tables as Core handles, for statements without ORM bookkeeping (the write path) ------------------


def table_of(model: Any) -> Table:
    return cast(Table, model.__table__)


NOTEBOOK = table_of(Notebook)
SESSION = table_of(ReportSession)
ISSUE = table_of(Issue)
ISSUE_DAY = table_of(IssueDay)
ISSUE_SESSION = table_of(IssueSession)
EVENT = table_of(Event)
NOTEBOOK_VERSION = table_of(NotebookVersion)
ISSUE_VERSION = table_of(IssueVersion)
