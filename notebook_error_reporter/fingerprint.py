"""Which reports are the same problem: the fingerprint of an issue (pure, standard library only).

An issue is "this failure at this place in this notebook". Two reports are one issue when they
come from the same notebook, raise the same exception class and pass through the same place:

* Frames count by file and function, never by line number (an edit above the failing line must
  not split an issue). IPython's machinery on top of a traceback and the ``<omitted>`` marker of
  a cut traceback say nothing about the code and are left out.
* A cell counts by its scrubbed first line, not by its number: re-running or re-numbering cells
  keeps the issue, an edit of the first line may start a new one. A report carries the first
  line of one cell only, the one that ran (``execution_count``), so that cell's frames are
  ``<cell: first line>``. A frame of another cell (a function defined in an earlier cell) is
  ``<cell>`` with its function's name: its first line is not in the report, and its number
  changes whenever that cell is re-run. When the numbers say nothing (a cell without a number, a
  report without ``execution_count``, or no frame with the report's number, as when ``%%capture``
  or ``%%time`` runs the cell's body under a number of its own), the outermost frame is the cell
  that ran.
* The message is data (``KeyError: 'row 17'`` and ``'row 18'`` from one cell are one problem), so
  it is left out while a cell frame names the place. Without one (no frames, or only library
  frames) the frames cannot tell two problems apart, and the message joins the fingerprint,
  normalised: numbers, hex, ids, quoted values and paths replaced (``normalise_message``).
* A missing module is code, not data: ``No module named 'x'`` and ``'y'`` are two issues even
  from one cell (each is fixed by installing something else), so the module's name always joins.

A report may carry its own fingerprint (``custom``, set by ``before_send`` as with sentry-python):
a list of strings, where ``"{{ default }}"`` stands for ours; it replaces the rule above, within
the report's notebook. ``["{{ default }}"]`` alone is exactly ours.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Mapping, Optional, Sequence, Tuple

OMITTED = "<omitted>"
MAX_PARTS = 10
MAX_PART_CHARS = 200
MAX_MESSAGE_KEY_CHARS = 300

Place = Tuple[Tuple[str, str], ...]

_CELL = re.compile(r"<cell(?: (\d+))?>|<ipython-input-(\d+)-[0-9a-f]+>")
_MACHINERY_PREFIXES = ("IPython/core/", "IPython/utils/", "ipykernel/", "asyncio/", "<frozen ")
_DEFAULT = re.compile(r"\{\{\s*default\s*\}\}")
_MISSING_MODULE = re.compile(r"No module named '([^']{1,200})'")
_IMPORT_ERRORS = frozenset({"ModuleNotFoundError", "ImportError"})
# Applied in this order: a quoted value may hold a path or a number, a path may hold ids and numbers.
_MESSAGE_RULES = (
    (re.compile(r"<cell \d+>"), "<cell>"),
    (re.compile(r"'[^'\n]{0,500}'|\"[^\"\n]{0,500}\""), "<value>"),
    (re.compile(r"(?:[A-Za-z]:)?[~.\w-]*(?:[\\/][\w.-]+)+[\\/]?"), "<path>"),
    (re.compile(r"\b[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b"), "<id>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"), "<id>"),
    (re.compile(r"\b\d+(?:\.\d+)*\b"), "<n>"),
    (re.compile(r"\s+"), " "),
)
# json.dumps with arguments builds an encoder per call; the key's text must never change.
_KEY_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _cell_number(filename: str) -> Tuple[bool, Optional[int]]:
    """Whether ``filename`` is a cell, and its number when it has one."""
    match = _CELL.fullmatch(filename)
    if match is None:
        return False, None
    number = match.group(1) or match.group(2)
    return True, int(number) if number is not None else None


def place(frames: Sequence[Mapping[str, Any]], first_line: str, execution_count: int) -> Place:
    """The (file, function) pairs that name the place, cells as described in the module docstring."""
    kept = [frame for frame in frames if frame.get("filename") != OMITTED]
    start = 0
    while start < len(kept) - 1 and str(kept[start].get("filename", "")).startswith(_MACHINERY_PREFIXES):
        start += 1
    files = [str(frame.get("filename", "")) for frame in kept[start:]]
    cells = [_cell_number(name) for name in files]
    ran = execution_count if execution_count >= 0 and any(n == execution_count for _, n in cells) else None
    return tuple(
        (_frame_file(name, cell, index == 0, first_line, ran), str(frame.get("fun_name", "")))
        for index, (name, cell, frame) in enumerate(zip(files, cells, kept[start:]))
    )


def _frame_file(
    filename: str, cell: Tuple[bool, Optional[int]], outermost: bool, first_line: str, ran: Optional[int]
) -> str:
    """A frame's file for the place: a cell as ``<cell: first line>`` if it is the one that ran
    (numbered ``ran``, or the outermost when no frame has the report's number), else ``<cell>``."""
    is_cell, number = cell
    if not is_cell:
        return filename
    that_ran = number == ran if number is not None and ran is not None else outermost
    return f"<cell: {first_line}>" if that_ran else "<cell>"


def has_cell(place_: Place) -> bool:
    """Whether a cell frame names the place (then the message is data and stays out)."""
    return any(filename.startswith("<cell") for filename, _ in place_)


def normalise_message(message: str) -> str:
    """The message with what varies between runs replaced: numbers, hex, ids, quoted values, paths."""
    text = message[: MAX_MESSAGE_KEY_CHARS * 4]
    for pattern, replacement in _MESSAGE_RULES:
        text = pattern.sub(replacement, text)
    return text.strip()[:MAX_MESSAGE_KEY_CHARS]


def message_key(error_name: str, error_message: str, cell_named: bool) -> str:
    """What of the message joins the fingerprint: a missing module's name, the normalised message
    unless a cell frame names the place (``cell_named``, see ``has_cell``), else nothing."""
    if error_name in _IMPORT_ERRORS:
        missing = _MISSING_MODULE.search(error_message)
        if missing is not None:
            return "module " + missing.group(1)
    return "" if cell_named else normalise_message(error_message)


def _digest(parts: Any) -> str:
    return hashlib.sha256(_KEY_ENCODER.encode(parts).encode("utf-8")).hexdigest()


def combine(
    notebook: str,
    error_name: str,
    place_: Place,
    message: str,
    custom: Optional[Sequence[str]] = None,
) -> str:
    """A stable 64-hex-digit key from the parts above, or from ``custom`` where the report set one."""
    default = _digest([notebook, error_name, place_, message])
    if not custom:
        return default
    parts = [default if _DEFAULT.fullmatch(part) else part for part in custom]
    if parts == [default]:
        return default
    return _digest([notebook, "custom", parts])


def fingerprint(
    *,
    notebook: str,
    error_name: str,
    error_message: str,
    frames: Sequence[Mapping[str, Any]],
    first_line: str,
    execution_count: int,
    custom: Optional[Sequence[str]] = None,
) -> str:
    """The issue key of one report (see the module docstring)."""
    where = place(frames, first_line, execution_count)
    return combine(
        notebook, error_name, where, message_key(error_name, error_message, has_cell(where)), custom
    )


def of_report(report: Mapping[str, Any]) -> str:
    """The fingerprint of a wire-format report (a dict as the client sends it)."""
    frames = report.get("traceback")
    count = report.get("execution_count")
    return fingerprint(
        notebook=str(report.get("notebook", "")),
        error_name=str(report.get("error_name", "")),
        error_message=str(report.get("error_message", "")),
        frames=[f for f in frames if isinstance(f, Mapping)] if isinstance(frames, list) else [],
        first_line=str(report.get("first_line", "")),
        execution_count=count if isinstance(count, int) else -1,
        custom=checked_custom(report.get("fingerprint")),
    )


def checked_custom(value: Any) -> Optional[Tuple[str, ...]]:
    """A report's own fingerprint as a tuple, None when it has none; ValueError saying what is wrong."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"fingerprint must be a list of strings, not {type(value).__name__}")
    if not 1 <= len(value) <= MAX_PARTS:
        raise ValueError(f"fingerprint must have 1 to {MAX_PARTS} parts, not {len(value)}")
    for part in value:
        if not isinstance(part, str):
            raise ValueError(f"fingerprint parts must be strings, not {type(part).__name__}")
        if len(part) > MAX_PART_CHARS:
            raise ValueError(f"fingerprint parts must be at most {MAX_PART_CHARS} characters")
    return tuple(value)
