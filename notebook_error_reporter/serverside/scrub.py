"""The server's own privacy pass: every text field is scrubbed again before it is stored.

Our client scrubs before sending, but a 0.1 client sends raw paths and messages, and any client
could be buggy or not ours. The rules are the client's (``privacy.scrub_text``/``strip_filename``)
with an empty ``PrivacyContext``: the server does not know the user's home or name, so it relies on
the context-free rules (absolute paths to base names, secrets, e-mail and IP addresses). Scrubbing
is idempotent, so a clean report passes through unchanged.

The result is a ``CleanEvent``: what ``ingest.py`` stores, whichever API the report came through.
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..event import cell_name, function_name, select_frames, truncate
from ..privacy import PrivacyContext, scrub_text, strip_filename
from . import schemas

CONTEXT = PrivacyContext()
_ABSOLUTE = re.compile(r"^(?:[\\/~]|[A-Za-z]:[\\/]|file:)")
_SEPARATORS = re.compile(r"[\\/]+")
# Version 0.1 cut the site-packages directory off library paths and left the leading slash
# ("/pandas/core/frame.py"). A leading component that is a usual top-level directory means a real
# absolute path (reduced to its base name); anything else is taken as such a library path.
_ROOT_DIRECTORIES = frozenset(
    "app bin boot code content data dev etc gdrive home kaggle lib lib64 media mnt nix opt private proc "
    "root run sbin snap srv sys tmp users usr var volumes workspace workspaces".split()
)
_PACKAGE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class CleanEvent:
    """A validated, scrubbed report with normalised ids, ready to store."""

    event_id: str
    session_id: str
    notebook: str
    error_name: str
    error_message: str
    traceback: Tuple[Dict[str, Any], ...]
    first_line: str
    execution_count: int
    occurred_at: datetime
    client: Optional[Dict[str, str]] = None
    source: str = "v1"


def storable(text: str) -> str:
    """Text every database can hold: NUL (PostgreSQL refuses it) and lone surrogates (not UTF-8)
    become U+FFFD, the replacement character."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return text


def scrub(text: str, limit: int) -> str:
    """Scrub, then cut to ``limit`` (a placeholder can be longer than what it replaced)."""
    return truncate(scrub_text(storable(text), CONTEXT), limit)


@functools.lru_cache(maxsize=4096)
def scrub_repeated(text: str, limit: int) -> str:
    """``scrub`` for the fields that repeat from report to report (notebook, error name, versions)."""
    return scrub(text, limit)


@functools.lru_cache(maxsize=8192)
def clean_filename(filename: str) -> str:
    """A frame's file as our client would name it: a cell, a library path, or a base name.

    Cached: the same library files appear in report after report.
    """
    if not filename:
        return ""
    filename = storable(filename)
    cell = cell_name(filename, {})
    if cell is not None:
        return cell
    if filename.startswith("<"):
        return scrub(filename, schemas.MAX_FILENAME)
    if _ABSOLUTE.match(filename):
        return truncate(strip_filename(filename, CONTEXT), schemas.MAX_FILENAME)
    # Already relative (our client's "pandas/core/frame.py"): scrub each component as a name.
    parts = [scrub_text(part, CONTEXT) for part in _SEPARATORS.split(filename) if part]
    return truncate("/".join(parts), schemas.MAX_FILENAME)


@functools.lru_cache(maxsize=8192)
def clean_fun_name(name: str) -> str:
    return truncate(function_name(storable(name), CONTEXT), schemas.MAX_FUN_NAME)


def clean_client(client: Optional[Mapping[str, str]]) -> Optional[Dict[str, str]]:
    if client is None:
        return None
    return {key: scrub_repeated(str(value), schemas.MAX_CLIENT_FIELD) for key, value in client.items()}


def clean_event(event: schemas.EventCreate) -> CleanEvent:
    """A v1 report (already validated) made safe to store."""
    return CleanEvent(
        event_id=event.event_id,
        session_id=event.session_id,
        notebook=scrub_repeated(event.notebook, schemas.MAX_NOTEBOOK),
        error_name=scrub_repeated(event.error_name, schemas.MAX_ERROR_NAME),
        error_message=scrub(event.error_message, schemas.MAX_MESSAGE),
        traceback=tuple(
            {
                "filename": clean_filename(f.filename),
                "fun_name": clean_fun_name(f.fun_name),
                "lineno": f.lineno,
            }
            for f in event.traceback
        ),
        first_line=scrub(event.first_line, schemas.MAX_FIRST_LINE),
        execution_count=event.execution_count,
        occurred_at=schemas.parse_timestamp(event.occurred_at),
        client=clean_client(event.client.model_dump() if event.client is not None else None),
    )


def legacy_library_path(filename: str) -> str:
    """``/pandas/core/frame.py`` (0.1's site-packages-less path) as a site-packages path; else unchanged."""
    parts = [p for p in _SEPARATORS.split(filename) if p]
    if (
        filename[:1] in ("/", "\\")
        and len(parts) >= 2
        and parts[0].lower() not in _ROOT_DIRECTORIES
        and _PACKAGE.fullmatch(parts[0])
    ):
        return "/site-packages/" + "/".join(parts)
    return filename


def clean_legacy_frames(frames: Sequence[Mapping[str, Any]]) -> Tuple[Dict[str, Any], ...]:
    """0.1 frames (raw, with IPython's machinery on top) cleaned exactly as our client would."""
    raw: List[Tuple[str, str, int]] = []
    for frame in frames:
        filename = frame.get("filename")
        fun_name = frame.get("fun_name")
        lineno = frame.get("lineno")
        raw.append(
            (
                legacy_library_path(storable(filename[: schemas.MAX_FILENAME]))
                if isinstance(filename, str)
                else "",
                storable(fun_name[: schemas.MAX_FUN_NAME]) if isinstance(fun_name, str) else "",
                lineno
                if isinstance(lineno, int) and not isinstance(lineno, bool) and 0 <= lineno <= schemas.INT32
                else 0,
            )
        )
    selected = select_frames(raw, context=CONTEXT, cell_filenames={})
    return tuple(
        {
            "filename": truncate(f["filename"], schemas.MAX_FILENAME),
            "fun_name": truncate(f["fun_name"], schemas.MAX_FUN_NAME),
            "lineno": f["lineno"],
        }
        for f in selected
    )


def clean_legacy_event(
    body: Mapping[str, Any], *, session_id: str, notebook: str, received_at: datetime
) -> CleanEvent:
    """A 0.1 report (``POST /errors/{uuid}/``): over-long fields are cut, not refused (see schemas.py)."""
    return CleanEvent(
        event_id=uuid.uuid4().hex,  # 0.1 clients send no id: every post is a new report
        session_id=session_id,
        notebook=notebook,
        error_name=scrub(str(body["error_name"])[: schemas.MAX_ERROR_NAME * 2], schemas.MAX_ERROR_NAME)
        or "Error",
        error_message=scrub(
            str(body.get("error_message") or "")[: schemas.MAX_MESSAGE * 2], schemas.MAX_MESSAGE
        ),
        traceback=clean_legacy_frames(body.get("traceback") or []),
        first_line=scrub(
            str(body.get("first_line") or "")[: schemas.MAX_FIRST_LINE * 2], schemas.MAX_FIRST_LINE
        ),
        execution_count=max(-1, min(int(body.get("execution_count", -1)), schemas.INT32)),
        occurred_at=received_at,
        source="0.1",
    )
