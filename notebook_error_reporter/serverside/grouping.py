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
# Places met lately, by traceback object: ``scrub`` hands out one tuple for the same frames (while
# it remembers them), so a repeated traceback costs a dict lookup. Each entry holds its traceback,
# so the object's id cannot stand for another one while the entry lives.
_places: Dict[Tuple[int, str, int], Tuple[Any, rule.Place, bool]] = {}
# Fingerprints met lately, by what they are made of: under a crowd tracebacks differ in their line
# numbers (which the place leaves out) while their issues repeat.
_keys: Dict[Tuple[Any, ...], str] = {}


def fingerprints(events: Mapping[str, CleanEvent]) -> Dict[str, str]:
    """Each report's fingerprint, by event id (``notebook_error_reporter.fingerprint``).

    The place is worked out once per traceback object, first line and count, and the digest once per
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
        key = (where, e.notebook, e.error_name, message, e.fingerprint)
        digest = _keys.get(key)
        if digest is None:
            digest = rule.combine(e.notebook, e.error_name, where, message, e.fingerprint)
            remember(_keys, key, digest)
        prints[event_id] = digest
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
