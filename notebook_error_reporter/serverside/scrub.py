"""The server's own privacy pass: every text field is scrubbed again before it is stored.

Our client scrubs before sending, but a 0.1 client sends raw paths and messages, and any client
could be buggy or not ours. The rules are the client's (``privacy.scrub_text``/``strip_filename``)
with an empty ``PrivacyContext``: the server does not know the user's home or name, so it relies on
the context-free rules (absolute paths to base names, secrets, e-mail and IP addresses). Scrubbing
is idempotent, so a clean report passes through unchanged.

One thing the server can learn from the report itself: a raw home directory (``/home/alice/...``,
``/Users/alice/...``, ``C:\\Users\\alice\\...``) or a hosted notebook's user folder
(``/Workspace/Users/alice/...``) names its owner, and the same name then often stands alone in the
message (``Permission denied for alice``). So the owners of such folders in a report's message, first
line and frame files are that report's user names (``report_context``), hidden like our client hides
its user's. A report our client scrubbed has no such path, and costs a few substring tests.

The result is a ``CleanEvent``: what ``ingest/`` stores, whichever API the report came through.
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..event import cell_name, function_name, select_frames, truncate
from ..fingerprint import MAX_PART_CHARS
from ..privacy import HOME_OWNER, NOT_OWNERS, OWNER_HINTS, PrivacyContext, scrub_text, strip_filename
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
MAX_OWNERS = 3  # a report naming more homes than this is no ordinary report; the paths go all the same


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
    fingerprint: Optional[Tuple[str, ...]] = None  # the client's own grouping (``before_send``)
    notebook_version: Optional[str] = None


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


def home_owners(*texts: str) -> Tuple[str, ...]:
    """The owners of the home directories named in ``texts``, in order of appearance, at most a few."""
    owners: List[str] = []
    everything = "\n".join(texts).casefold()  # one look for the usual report, which names no home
    if not any(hint in everything for hint in OWNER_HINTS):
        return ()
    for text in texts:
        folded = text.casefold()
        if not any(hint in folded for hint in OWNER_HINTS):
            continue
        for match in HOME_OWNER.finditer(text):
            owner = match.group("owner")
            if owner.casefold() not in NOT_OWNERS and owner not in owners:
                owners.append(owner)
                if len(owners) == MAX_OWNERS:
                    return tuple(owners)
    return tuple(owners)


def report_context(*texts: str) -> Tuple[PrivacyContext, ...]:
    """The contexts to scrub one report's texts with: the owners of its home paths as user names.

    ``(CONTEXT,)`` for a report naming no home directory (every report our client sent).
    """
    owners = home_owners(*texts)
    return tuple(PrivacyContext(user=owner) for owner in owners) or (CONTEXT,)


def scrub_with(text: str, contexts: Sequence[PrivacyContext]) -> str:
    """``scrub_text`` under each context in turn (each one hides one more user name)."""
    for context in contexts:
        text = scrub_text(text, context)
    return text


def scrub(text: str, limit: int, contexts: Sequence[PrivacyContext] = (CONTEXT,)) -> str:
    """Scrub, then cut to ``limit`` (a placeholder can be longer than what it replaced)."""
    return truncate(scrub_with(storable(text), contexts), limit)


# A report's message and first line are remembered scrubbed up to this length, this many of them:
# cells and errors repeat from report to report and across a crowd, and scrubbing one costs about
# 10 µs; the bound keeps a hostile client's long unique texts from making the cache big (a few MB).
CACHED_TEXT_CHARS = 400
CACHED_TEXTS = 8192
_remembered_scrub = functools.lru_cache(maxsize=CACHED_TEXTS)(scrub)


def scrub_remembered(text: str, limit: int, contexts: Tuple[PrivacyContext, ...]) -> str:
    """``scrub``, remembered per distinct short text and contexts (see ``CACHED_TEXT_CHARS``)."""
    if len(text) > CACHED_TEXT_CHARS:
        return scrub(text, limit, contexts)
    return _remembered_scrub(text, limit, contexts)


@functools.lru_cache(maxsize=4096)
def scrub_repeated(text: str, limit: int) -> str:
    """``scrub`` for the fields that repeat from report to report (notebook, error name, versions)."""
    return scrub(text, limit)


def _scrub_parts(path: str, contexts: Sequence[PrivacyContext]) -> str:
    """A stripped file name with each component scrubbed as a name under ``contexts`` too."""
    if tuple(contexts) == (CONTEXT,):  # strip_filename did exactly this already
        return path
    return "/".join(scrub_with(part, contexts) for part in path.split("/"))


@functools.lru_cache(maxsize=8192)
def clean_filename(filename: str, contexts: Tuple[PrivacyContext, ...] = (CONTEXT,)) -> str:
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
        return scrub(filename, schemas.MAX_FILENAME, contexts)
    if _ABSOLUTE.match(filename):
        return truncate(_scrub_parts(strip_filename(filename, CONTEXT), contexts), schemas.MAX_FILENAME)
    # Already relative (our client's "pandas/core/frame.py"): scrub each component as a name.
    parts = [scrub_with(part, contexts) for part in _SEPARATORS.split(filename) if part]
    return truncate("/".join(parts), schemas.MAX_FILENAME)


@functools.lru_cache(maxsize=8192)
def clean_fun_name(name: str, contexts: Tuple[PrivacyContext, ...] = (CONTEXT,)) -> str:
    name = storable(name)
    for context in contexts:
        name = function_name(name, context)
    return truncate(name, schemas.MAX_FUN_NAME)


def clean_client(client: Optional[Mapping[str, str]]) -> Optional[Dict[str, str]]:
    """The scrubbed versions; one dict shared by every report with the same ones (read-only)."""
    if client is None:
        return None
    return _clean_client_items(tuple((key, str(value)) for key, value in client.items()))


@functools.lru_cache(maxsize=1024)
def _clean_client_items(items: Tuple[Tuple[str, str], ...]) -> Dict[str, str]:
    # Shared, so that storing a batch encodes it once (driver_rows encodes an object once per statement).
    return {key: scrub_repeated(value, schemas.MAX_CLIENT_FIELD) for key, value in items}


def _clean_frames(
    frames: Tuple[Tuple[str, str, int], ...], contexts: Tuple[PrivacyContext, ...]
) -> Tuple[Dict[str, Any], ...]:
    """A v1 traceback's frames made safe; one tuple shared by every report with the same frames
    (read-only), so that storing a batch encodes it once (as ``clean_client``'s dict).

    Only tracebacks as long as our client sends are remembered, and few of them: a hostile client's
    100 frames of 1,000 characters must not make the cache big.
    """
    if len(frames) > CACHED_FRAMES:
        return _frames_made_safe(frames, contexts)
    return _remembered_frames(frames, contexts)


def _frames_made_safe(
    frames: Tuple[Tuple[str, str, int], ...], contexts: Tuple[PrivacyContext, ...]
) -> Tuple[Dict[str, Any], ...]:
    return tuple(
        {
            "filename": clean_filename(filename, contexts),
            "fun_name": clean_fun_name(fun_name, contexts),
            "lineno": lineno,
        }
        for filename, fun_name, lineno in frames
    )


CACHED_FRAMES = 41  # the client keeps 40 frames and a marker
_remembered_frames = functools.lru_cache(maxsize=256)(_frames_made_safe)


def clean_event(event: schemas.EventCreate) -> CleanEvent:
    """A v1 report (already validated) made safe to store."""
    contexts = report_context(event.error_message, event.first_line, *(f.filename for f in event.traceback))
    return CleanEvent(
        event_id=event.event_id,
        session_id=event.session_id,
        notebook=scrub_repeated(event.notebook, schemas.MAX_NOTEBOOK),
        error_name=scrub_repeated(event.error_name, schemas.MAX_ERROR_NAME),
        error_message=scrub_remembered(event.error_message, schemas.MAX_MESSAGE, contexts),
        traceback=_clean_frames(tuple((f.filename, f.fun_name, f.lineno) for f in event.traceback), contexts),
        first_line=scrub_remembered(event.first_line, schemas.MAX_FIRST_LINE, contexts),
        execution_count=event.execution_count,
        occurred_at=schemas.parse_timestamp(event.occurred_at),
        fingerprint=clean_fingerprint(event.fingerprint),
        client=clean_client(event.client.model_dump(exclude_none=True) if event.client is not None else None),
        notebook_version=(
            scrub_repeated(event.notebook_version, schemas.MAX_VERSION) if event.notebook_version else None
        ),
    )


def clean_fingerprint(parts: Optional[Sequence[str]]) -> Optional[Tuple[str, ...]]:
    """A report's own fingerprint, each part scrubbed like any text it sends."""
    if parts is None:
        return None
    return tuple(scrub_repeated(part, MAX_PART_CHARS) for part in parts)


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


def clean_legacy_frames(
    frames: Sequence[Mapping[str, Any]], contexts: Tuple[PrivacyContext, ...] = (CONTEXT,)
) -> Tuple[Dict[str, Any], ...]:
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
            "filename": truncate(_scrub_parts(f["filename"], contexts), schemas.MAX_FILENAME),
            "fun_name": clean_fun_name(f["fun_name"], contexts),
            "lineno": f["lineno"],
        }
        for f in selected
    )


def clean_legacy_event(
    body: Mapping[str, Any], *, session_id: str, notebook: str, received_at: datetime
) -> CleanEvent:
    """A 0.1 report (``POST /errors/{uuid}/``): over-long fields are cut, not refused (see schemas.py)."""
    message = str(body.get("error_message") or "")[: schemas.MAX_MESSAGE * 2]
    first_line = str(body.get("first_line") or "")[: schemas.MAX_FIRST_LINE * 2]
    frames = body.get("traceback") or []
    filenames = (f.get("filename") for f in frames if isinstance(f, Mapping))
    contexts = report_context(
        message, first_line, *(f[: schemas.MAX_FILENAME] for f in filenames if isinstance(f, str))
    )
    return CleanEvent(
        event_id=uuid.uuid4().hex,  # 0.1 clients send no id: every post is a new report
        session_id=session_id,
        notebook=notebook,
        error_name=scrub(str(body["error_name"])[: schemas.MAX_ERROR_NAME * 2], schemas.MAX_ERROR_NAME)
        or "Error",
        error_message=scrub(message, schemas.MAX_MESSAGE, contexts),
        traceback=clean_legacy_frames(frames, contexts),
        first_line=scrub(first_line, schemas.MAX_FIRST_LINE, contexts),
        execution_count=max(-1, min(int(body.get("execution_count", -1)), schemas.INT32)),
        occurred_at=received_at,
        source="0.1",
    )
