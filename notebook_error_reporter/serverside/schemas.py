"""What clients send, validated strictly: the wire format of docs/design.md and the 0.1 bodies.

Strict types (a string is not a number, ``true`` is not a count) and length caps a little above what
our client ever sends: a longer field is a 422 naming it, never a silent cut, because a client that
sends it is not ours and should hear about it. Unknown extra fields are ignored, so a newer client
can add some. The 0.1 bodies are the exception: old clients send raw, uncapped messages, and losing
their reports would help nobody, so ``legacy.py`` cuts those to the caps instead.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timezone
from typing import Annotated, Any, Dict, List, Literal, Optional

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from ..fingerprint import MAX_PART_CHARS, MAX_PARTS

MAX_NOTEBOOK = 200
MAX_ERROR_NAME = 200
MAX_MESSAGE = 4000  # the client cuts at 2,000
MAX_FIRST_LINE = 1000  # the client cuts at 200
MAX_FRAMES = 100  # the client keeps 40 (and a marker)
MAX_FILENAME = 1000
MAX_FUN_NAME = 500
MAX_CLIENT_FIELD = 100
MAX_BATCH = 100
MAX_VERSION = 64
INT32 = 2**31 - 1

_UUID = re.compile(
    r"[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def normalise_uuid(value: str) -> str:
    """32 lower-case hex digits from a plain or dashed uuid; ValueError for anything else."""
    if not _UUID.fullmatch(value):
        raise ValueError("must be a uuid: 32 hex digits, dashes allowed")
    return value.replace("-", "").lower()


@functools.lru_cache(maxsize=1024)
def parse_timestamp(value: str) -> datetime:
    """An ISO 8601 timestamp with an offset, as aware UTC; a naive one is refused (whose clock?).

    Remembered for a while: validating a report parses its time, and scrubbing it needs that time.
    """
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("must be an ISO 8601 timestamp such as 2024-05-01T12:00:00+00:00") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("must carry a time zone offset (naive timestamps are ambiguous)")
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:59-01:00 is past the end of datetime in UTC
        raise ValueError("is out of range once in UTC") from None


def _check_timestamp(value: str) -> str:
    parse_timestamp(value)
    return value


Uuid = Annotated[str, Field(max_length=36), AfterValidator(normalise_uuid)]
Timestamp = Annotated[
    str,
    Field(max_length=64, json_schema_extra={"format": "date-time"}),
    AfterValidator(_check_timestamp),
]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class FrameCreate(_Strict):
    filename: str = Field(max_length=MAX_FILENAME)
    fun_name: str = Field(max_length=MAX_FUN_NAME)
    lineno: int = Field(ge=0, le=INT32)


class ClientCreate(_Strict):
    reporter: str = Field(default="", max_length=MAX_CLIENT_FIELD)
    python: str = Field(default="", max_length=MAX_CLIENT_FIELD)
    ipython: str = Field(default="", max_length=MAX_CLIENT_FIELD)
    platform: str = Field(default="", max_length=MAX_CLIENT_FIELD)
    colab: str = Field(
        default="", max_length=MAX_CLIENT_FIELD, description='"yes" in Google Colab, else "no".'
    )
    colab_release: Optional[str] = Field(
        default=None, max_length=MAX_VERSION, description="The Colab runtime's release tag."
    )
    copy_id: Optional[str] = Field(
        default=None, max_length=MAX_VERSION, description="An id of the notebook copy, where one is known."
    )

    @model_serializer(mode="wrap")
    def _colab_only_when_told(self, handler: SerializerFunctionWrapHandler) -> Dict[str, Any]:
        """Reports of clients that do not say whether they run in Colab are stored as they came."""
        data: Dict[str, Any] = handler(self)
        if not data.get("colab"):
            data.pop("colab", None)
        return data


class EventCreate(_Strict):
    """One report, exactly the wire format (``client`` may be left out)."""

    event_id: Uuid = Field(description="uuid4 made by the client: the idempotency key.")
    session_id: Uuid = Field(
        description="uuid4 made by the client once per session; the key to read it back."
    )
    notebook: str = Field(min_length=1, max_length=MAX_NOTEBOOK)
    error_name: str = Field(min_length=1, max_length=MAX_ERROR_NAME)
    error_message: str = Field(max_length=MAX_MESSAGE)
    traceback: List[FrameCreate] = Field(max_length=MAX_FRAMES)
    first_line: str = Field(max_length=MAX_FIRST_LINE)
    execution_count: int = Field(ge=-1, le=INT32, description="The cell's count; -1 when unknown.")
    occurred_at: Timestamp
    client: Optional[ClientCreate] = None
    fingerprint: Optional[List[Annotated[str, Field(max_length=MAX_PART_CHARS)]]] = Field(
        default=None,
        min_length=1,
        max_length=MAX_PARTS,
        description="The client's own grouping (set by before_send): reports with the same list are one "
        'issue of their notebook; "{{ default }}" stands for the server\'s own fingerprint.',
    )
    notebook_version: Optional[str] = Field(
        default=None,
        min_length=1,
        max_length=MAX_VERSION,
        description="The notebook's version as its author named it; null when unknown.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "2f1c9a7e8d6b4c3a9e0f1a2b3c4d5e6f",
                    "session_id": "9b8a7c6d5e4f40312a1b2c3d4e5f6a7b",
                    "notebook": "protein-design",
                    "error_name": "KeyError",
                    "error_message": "'protein_id'",
                    "traceback": [
                        {"filename": "<cell 7>", "fun_name": "<module>", "lineno": 2},
                        {"filename": "pandas/core/frame.py", "fun_name": "__getitem__", "lineno": 3761},
                    ],
                    "first_line": "# Load the proteins",
                    "execution_count": 7,
                    "occurred_at": "2024-05-01T12:00:00+00:00",
                    "client": {"reporter": "0.2.0", "python": "3.11", "ipython": "8.12", "platform": "linux"},
                }
            ]
        }
    )


class BatchCreate(_Strict):
    """Up to 100 reports in one transaction; each is checked on its own (see ``events.py``)."""

    events: List[Any] = Field(
        max_length=MAX_BATCH,
        description="Reports in the format of POST /api/v1/events; an invalid one is rejected alone.",
        json_schema_extra={"items": {"$ref": "#/components/schemas/EventCreate"}},
    )
    client_dropped: int = Field(
        default=0,
        ge=0,
        le=INT32,
        description="Reports the client's full spool dropped since it last told us.",
    )


class EventAck(BaseModel):
    event_id: str
    issue_id: int


class BatchResult(BaseModel):
    event_id: Optional[str] = Field(
        description="Exactly as the client sent it, to match answers to reports; null if it sent none."
    )
    issue_id: Optional[int] = None
    status: Literal["created", "duplicate", "rejected", "limited"] = Field(
        description="`limited`: not stored, over a rate limit; send it again after `Retry-After` seconds."
    )
    detail: Optional[str] = Field(default=None, description="Why a report was rejected or limited.")


class BatchResponse(BaseModel):
    results: List[BatchResult]


class PurgeResult(BaseModel):
    deleted: int
    older_than: datetime


class Detail(BaseModel):
    """The body of every error answer, FastAPI's shape."""

    detail: Any


# --- version 0.1 bodies: lax like the 0.1 server's pydantic, cut rather than refused -----------------------


class LegacyUsageCreate(BaseModel):
    notebook: str = Field(
        description="Cut to 200 characters; an empty name becomes 'unknown' (0.1's default)."
    )


class LegacyErrorCreate(BaseModel):
    error_name: str
    error_message: Optional[str] = None
    traceback: List[Dict[str, Any]] = Field(default_factory=list, max_length=10_000)
    execution_count: int
    first_line: str
