"""The author's notes on a notebook's issues, as a client shows them under a failing cell (pure).

The server lists them at ``GET /api/v1/notebooks/{notebook}/notes``. A note is still text from a
server: ``parse_notes`` keeps only well-formed entries (a 64-hex fingerprint, a note capped at
``MAX_NOTE_CHARS``, a link only when it is http or https), and ``as_html`` escapes everything, so
that the one link is the only markup a note can ever produce.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional
from urllib.parse import urlsplit

from .versions import is_older, pep440_key

MAX_NOTES = 1000
MAX_NOTE_CHARS = 500
MAX_URL_CHARS = 500
MAX_VERSION_CHARS = 64
MAX_NOTE_LINES = 10

_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
# Control characters and bidirectional overrides: a note must read as what it says.
_UNSHOWN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BLANKS = re.compile(r"\s+")
_LINE_BREAKS = re.compile(r"\r\n|\r|\n|\u2028|\u2029")


@dataclass(frozen=True)
class Note:
    """What the author says about one issue of the notebook."""

    fingerprint: str
    note: Optional[str] = None
    note_url: Optional[str] = None
    fixed_in_version: Optional[str] = None

    def as_json(self) -> Dict[str, Optional[str]]:
        return {
            "fingerprint": self.fingerprint,
            "note": self.note,
            "note_url": self.note_url,
            "fixed_in_version": self.fixed_in_version,
        }


@dataclass(frozen=True)
class NoteMessage:
    """What a failing cell shows: the note, the version that fixes it, the link (any may be None)."""

    note: Optional[str]
    fixed_in_version: Optional[str]
    this_version: Optional[str]
    url: Optional[str]


def _capped(text: str, limit: int) -> Optional[str]:
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or None


def clean_text(value: Any, limit: int) -> Optional[str]:
    """``value`` as one line of plain text of at most ``limit`` characters; None if empty or not text."""
    if not isinstance(value, str):
        return None
    return _capped(_BLANKS.sub(" ", _UNSHOWN.sub(" ", value)).strip(), limit)


def clean_note(value: Any) -> Optional[str]:
    """The author's note as plain text: its line breaks kept (at most ``MAX_NOTE_LINES`` lines, no
    blank ones), every other control character a space, at most ``MAX_NOTE_CHARS`` characters."""
    if not isinstance(value, str):
        return None
    lines = [clean_text(line, MAX_NOTE_CHARS) for line in _LINE_BREAKS.split(value[: 4 * MAX_NOTE_CHARS])]
    kept = [line for line in lines if line is not None]
    if len(kept) > MAX_NOTE_LINES:
        kept[MAX_NOTE_LINES - 1 :] = [" ".join(kept[MAX_NOTE_LINES - 1 :])]
    return _capped("\n".join(kept), MAX_NOTE_CHARS)


def clean_url(value: Any) -> Optional[str]:
    """``value`` if it is an absolute http(s) URL of at most ``MAX_URL_CHARS``; else None."""
    if not isinstance(value, str) or len(value) > MAX_URL_CHARS or _UNSHOWN.search(value):
        return None
    url = value.strip()
    if any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def parse_note(entry: Any) -> Optional[Note]:
    """One entry of the server's list, cleaned; None if it is not a usable note."""
    if not isinstance(entry, Mapping):
        return None
    fingerprint = entry.get("fingerprint")
    if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
        return None
    note = Note(
        fingerprint=fingerprint,
        note=clean_note(entry.get("note")),
        note_url=clean_url(entry.get("note_url")),
        fixed_in_version=clean_text(entry.get("fixed_in_version"), MAX_VERSION_CHARS),
    )
    if note.note is None and note.note_url is None and note.fixed_in_version is None:
        return None
    return note


def parse_notes(data: Any) -> Optional[Dict[str, Note]]:
    """The notes of a ``GET .../notes`` answer (or of the cache) by fingerprint; None if malformed."""
    entries = data.get("notes") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        return None
    notes: Dict[str, Note] = {}
    for entry in entries[:MAX_NOTES]:
        note = parse_note(entry)
        if note is not None:
            notes[note.fingerprint] = note
    return notes


def message_for(note: Optional[Note], this_version: Optional[str]) -> Optional[NoteMessage]:
    """What to show for an issue with ``note`` in a copy of version ``this_version``; None: nothing.

    "Fixed in version X (this copy is version Y)" is said to a copy older than X by PEP 440
    (``versions.is_older``). Where either version is not PEP 440 (dates such as ``2026-12-01``)
    only the server knows the order (it saw the versions arrive), so the line is said whenever Y
    differs from X: both versions are named and the user can tell. A copy without a version, or
    as new as X, sees only the note and its link.
    """
    if note is None:
        return None
    fixed = note.fixed_in_version
    if fixed is not None and not _may_be_older(this_version, fixed):
        fixed = None
    if note.note is None and fixed is None:
        return None
    return NoteMessage(note=note.note, fixed_in_version=fixed, this_version=this_version, url=note.note_url)


def _may_be_older(this_version: Optional[str], fixed: str) -> bool:
    if this_version is None or this_version == fixed:
        return False
    if pep440_key(this_version) is None or pep440_key(fixed) is None:
        return True
    return is_older(this_version, fixed)


def _fixed_line(message: NoteMessage) -> str:
    return f"Fixed in version {message.fixed_in_version} (this copy is version {message.this_version})."


def as_text(message: NoteMessage) -> str:
    """The message as plain text, for a terminal or a front end without HTML."""
    lines = ["notebook-error-reporter: the notebook's author says about this error:"]
    if message.note is not None:
        lines.extend(f"  {line}" for line in message.note.split("\n"))
    if message.fixed_in_version is not None:
        lines.append(f"  {_fixed_line(message)}")
    if message.url is not None:
        lines.append(f"  {message.url}")
    return "\n".join(lines)


def as_html(message: NoteMessage) -> str:
    """The message as HTML: every text escaped, the link (http/https only) the one element."""
    parts = ["<b>The notebook's author says about this error:</b>"]
    if message.note is not None:
        parts.extend(html.escape(line) for line in message.note.split("\n"))
    if message.fixed_in_version is not None:
        parts.append(html.escape(_fixed_line(message)))
    if message.url is not None:
        url = html.escape(message.url, quote=True)
        parts.append(f'<a href="{url}" target="_blank" rel="noopener noreferrer nofollow">{url}</a>')
    body = "<br>".join(parts)
    return (
        '<div class="notebook-error-reporter-note" '
        'style="border-left:3px solid #2a7ae2;padding:4px 8px;margin:4px 0">' + body + "</div>"
    )
