"""Text written by a stranger, made inert for people to read: pure functions, no I/O.

A report's notebook name, error and message reach chat messages and the dashboard. There they must
not start a new line that looks like our own, reorder what the reader sees (Unicode bidi controls,
the "Trojan Source" trick), or become a link to click. These functions keep the text readable and
show what was neutralised: a bidi control becomes ``[U+202E]``, a URL's ``://`` becomes ``[:]//``.
"""

from __future__ import annotations

import re

# Embeddings, overrides, isolates and the two marks: they reorder how the text around them shows.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_BIDI = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")
# Anything that ends a line or is a control character (tabs too): one space each.
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# A URL's scheme (``https://``, ``ftp://``) and a bare ``www.`` host, as chat apps would link them.
_SCHEME = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]{0,30}):(?=//)")
_WWW = re.compile(r"\b(www)\.", re.IGNORECASE)


def visible_bidi(text: str) -> str:
    """Each bidi control replaced by its visible code, ``[U+202E]``; all else unchanged."""
    return _BIDI.sub(lambda found: f"[U+{ord(found.group()):04X}]", text)


def one_line(text: str) -> str:
    """The text on one line: every line break and control character becomes a space."""
    return _LINE_BREAKS.sub(" ", text)


def unlinked(text: str) -> str:
    """URLs broken so that no chat app links them: ``https[:]//evil.example``, ``www[.]evil``."""
    return _WWW.sub(r"\1[.]", _SCHEME.sub(r"\1[:]", text))


def inert(text: str) -> str:
    """``one_line``, ``visible_bidi`` and ``unlinked`` together: for a name or a one-line summary."""
    return unlinked(visible_bidi(one_line(text)))
