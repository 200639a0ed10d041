"""The server's side of grouping: many stored reports' fingerprints at once, and an issue's culprit.

What makes two reports one issue is ``notebook_error_reporter.fingerprint`` (shared with the
client); this module applies it to the server's reports cheaply and names where an issue broke.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from .. import fingerprint as rule
from ..fingerprint import OMITTED
from .scrub import CleanEvent


def fingerprints(events: Mapping[str, CleanEvent]) -> Dict[str, str]:
    """Each report's fingerprint, by event id.

    The place is worked out once per traceback object, first line and count: reports with the
    same frames share one traceback tuple (``scrub``) and are all alive here, so an id stands for
    one traceback. The key is then made once per distinct place and message part.
    """
    places: Dict[Tuple[int, str, int], rule.Place] = {}
    keys: Dict[Tuple[str, str, rule.Place, str, Optional[Tuple[str, ...]]], str] = {}
    prints: Dict[str, str] = {}
    for event_id, e in events.items():
        place_key = (id(e.traceback), e.first_line, e.execution_count)
        where = places.get(place_key)
        if where is None:
            where = places[place_key] = rule.place(e.traceback, e.first_line, e.execution_count)
        parts = (
            e.notebook,
            e.error_name,
            where,
            rule.message_key(e.error_name, e.error_message, where),
            e.fingerprint,
        )
        found = keys.get(parts)
        if found is None:
            found = keys[parts] = rule.combine(*parts)
        prints[event_id] = found
    return prints


def culprit(frames: Sequence[Mapping[str, Any]]) -> str:
    """Where it broke, for people: the innermost frame as ``file in function`` (empty without frames)."""
    for frame in reversed(frames):
        if frame.get("filename") != OMITTED:
            return f"{frame.get('filename', '')} in {frame.get('fun_name', '')}"
    return ""
