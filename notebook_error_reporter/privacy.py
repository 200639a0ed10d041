"""Privacy rules: what of a report may leave the user's machine (pure functions, no I/O).

PLACEHOLDER VERSION - the full rule table and its tests are being written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Tuple


@dataclass(frozen=True)
class PrivacyContext:
    """What the rules need to know about this machine, gathered once by ``environment.py``."""

    home: str = ""
    user: str = ""
    hostname: str = ""
    library_roots: Tuple[str, ...] = ()


_LIBRARY_MARKERS = re.compile(r"^.*[\\/](?:site-packages|dist-packages|lib[\\/]python\d+(?:\.\d+)?)[\\/]")


def strip_filename(filename: str, context: PrivacyContext) -> str:
    """Library files keep their path below site-packages; anything else keeps its base name."""
    if filename.startswith("<") and filename.endswith(">"):
        return filename
    stripped = _LIBRARY_MARKERS.sub("", filename)
    if stripped != filename:
        return stripped
    return re.split(r"[\\/]", filename)[-1]


def scrub_text(text: str, context: PrivacyContext) -> str:
    """Replace the home directory, the user name, absolute paths and secrets by placeholders."""
    if context.home:
        text = text.replace(context.home, "~")
    return text
