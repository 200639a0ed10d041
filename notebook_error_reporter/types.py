"""The wire format of a report, as typed dictionaries.

These are plain dicts on purpose: a report is JSON on the wire, in the spool and on the server,
and ``TypedDict`` lets every layer agree on the keys without a serialisation step. The field
names of version 0.1 (``error_name``, ``error_message``, ``traceback``, ``first_line``,
``execution_count``, ``notebook``) are kept so old servers and old readers keep working.
"""

from __future__ import annotations

from typing import List, NotRequired, TypedDict


class TracebackDetailsType(TypedDict):
    """One frame of a scrubbed traceback: never a full path, never local variables."""

    filename: str
    fun_name: str
    lineno: int


class ClientInfoType(TypedDict):
    """Versions of the reporting side, so an author can tell a Colab IPython 7 from a laptop."""

    reporter: str
    python: str
    ipython: str
    platform: str
    colab: NotRequired[str]  # "yes" in Google Colab, else "no"
    colab_release: NotRequired[str]  # the Colab runtime's release tag, only on Colab


class _EventFields(TypedDict):
    """The fields every report has."""

    event_id: str
    session_id: str
    notebook: str
    error_name: str
    error_message: str
    traceback: List[TracebackDetailsType]
    first_line: str
    execution_count: int
    occurred_at: str
    client: ClientInfoType


class EventMessageType(_EventFields, total=False):
    """One error report, exactly as it is spooled and sent (see docs/design.md, wire format).

    ``fingerprint`` is optional: ``before_send`` may set it to group reports its own way (a list
    of up to 10 strings; ``"{{ default }}"`` stands for the usual fingerprint).
    ``notebook_version`` is the version the author gave the notebook, when it has one.
    """

    fingerprint: List[str]
    notebook_version: str


__all__ = ["ClientInfoType", "EventMessageType", "TracebackDetailsType"]
