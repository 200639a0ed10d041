"""What an issue's note, its link and a fixed version may be (pure): plain text of bounded length,
an http(s) link only. The API's ``IssueUpdate`` and the issue page's form both check with these."""

from __future__ import annotations

import unicodedata
from typing import Optional
from urllib.parse import urlsplit

# An issue's note, its link and the version that fixed it (columns added by migration 0005).
NOTE_FIELDS = ("note", "note_url", "fixed_in_version")
MAX_NOTE = 500
MAX_NOTE_URL = 500
MAX_VERSION = 64


def _control_free(text: str, allowed: str = "") -> bool:
    return not any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed for ch in text)


def clean_note(text: Optional[str]) -> Optional[str]:
    """The note as stored: stripped, None when empty; ValueError if too long or not plain text."""
    if text is None or not text.strip():
        return None
    text = text.strip().replace("\r\n", "\n")
    if len(text) > MAX_NOTE:
        raise ValueError(f"must be at most {MAX_NOTE} characters")
    if not _control_free(text, "\n\t"):
        raise ValueError("must be plain text (no control characters)")
    return text


def clean_note_url(url: Optional[str]) -> Optional[str]:
    """The link as stored: None when empty; ValueError unless an http:// or https:// address."""
    if url is None or not url.strip():
        return None
    url = url.strip()
    if len(url) > MAX_NOTE_URL:
        raise ValueError(f"must be at most {MAX_NOTE_URL} characters")
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or any(ch.isspace() for ch in url)
        or not _control_free(url)
    ):
        raise ValueError("must be an http:// or https:// link")
    return url


def clean_version(version: Optional[str]) -> Optional[str]:
    """A fixed version as stored: stripped, None when empty; ValueError if too long or not text."""
    if version is None or not version.strip():
        return None
    version = version.strip()
    if len(version) > MAX_VERSION:
        raise ValueError(f"must be at most {MAX_VERSION} characters")
    if not _control_free(version):
        raise ValueError("must be plain text (no control characters)")
    return version
