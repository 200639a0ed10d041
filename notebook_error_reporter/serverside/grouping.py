"""The server's side of grouping: many stored reports' fingerprints at once, and an issue's culprit.

What makes two reports one issue is ``notebook_error_reporter.fingerprint`` (shared with the
client); this module applies it to the server's reports cheaply and names where an issue broke.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Sequence, Tuple

from .. import fingerprint as rule
from ..fingerprint import OMITTED
from .scrub import CleanEvent

MEMO_SIZE = 4096
# Places and keys met lately, by traceback object: ``scrub`` hands out one tuple for the same frames
# (while it remembers them), so repeated reports cost two dict lookups. Each entry holds its
# traceback, so the object's id cannot stand for another one while the entry lives.
_places: Dict[Tuple[int, str, int], Tuple[Any, rule.Place, bool]] = {}
_keys: Dict[Tuple[Any, ...], Tuple[Any, str]] = {}


def fingerprints(events: Mapping[str, CleanEvent]) -> Dict[str, str]:
    """Each report's fingerprint, by event id (``notebook_error_reporter.fingerprint``).

    The place is worked out once per traceback object, first line and count, and the key once per
    place, notebook, error, message part and own fingerprint (remembered across calls, see above).
    """
    prints: Dict[str, str] = {}
    for event_id, e in events.items():
        place_key = (id(e.traceback), e.first_line, e.execution_count)
        known_place = _places.get(place_key)
        if known_place is None or known_place[0] is not e.traceback:
            where = rule.place(e.traceback, e.first_line, e.execution_count)
            known_place = remember(_places, place_key, (e.traceback, where, rule.has_cell(where)))
        _, where, cell_named = known_place
        message = rule.message_key(e.error_name, e.error_message, cell_named)
        key = (place_key, e.notebook, e.error_name, message, e.fingerprint)
        known_key = _keys.get(key)
        if known_key is None or known_key[0] is not e.traceback:
            digest = rule.combine(e.notebook, e.error_name, where, message, e.fingerprint)
            known_key = remember(_keys, key, (e.traceback, digest))
        prints[event_id] = known_key[1]
    return prints


def remember(memo: Dict[Any, Any], key: Any, value: Any, limit: int = MEMO_SIZE) -> Any:
    """``memo[key] = value``, returned; a memo at ``limit`` entries is emptied first (a bounded cache)."""
    if len(memo) >= limit:
        memo.clear()
    memo[key] = value
    return value


def culprit(frames: Sequence[Mapping[str, Any]]) -> str:
    """Where it broke, for people: the innermost frame as ``file in function`` (empty without frames)."""
    for frame in reversed(frames):
        if frame.get("filename") != OMITTED:
            return f"{frame.get('filename', '')} in {frame.get('fun_name', '')}"
    return ""
