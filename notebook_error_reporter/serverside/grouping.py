"""Which reports are the same problem: the fingerprint of an issue (pure functions, no database).

Two reports are one issue when they come from the same notebook, raise the same exception class,
and pass through the same code: the frames' file and function names. Line numbers are left out (an
edit above the failing line must not split an issue), and so is the message (``KeyError: 'a'`` and
``KeyError: 'b'`` from the same line are one problem with different data).

A few names vary between runs of the same code and are normalised first: a cell is ``<cell 7>``
in one run and ``<cell 12>`` in the next, so every cell is ``<cell>``; IPython's own machinery at
the top of a traceback differs between IPython versions and between the 0.1 client (which sent it)
and ours (which strips it), so it is dropped; the ``<omitted>`` marker of a cut traceback says
nothing about the code.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, List, Mapping, Sequence, Tuple

_CELL = re.compile(r"<cell(?: \d+)?>|<ipython-input-\d+-[0-9a-f]+>")
_MACHINERY_PREFIXES = ("IPython/core/", "IPython/utils/", "ipykernel/", "asyncio/", "<frozen ")
OMITTED = "<omitted>"
# json.dumps with arguments builds an encoder per call; the key's text must never change.
_KEY_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def normalise_filename(filename: str) -> str:
    """``<cell 7>`` and ``<ipython-input-7-abc>`` become ``<cell>``; anything else stays."""
    return _CELL.sub("<cell>", filename)


def grouping_frames(frames: Sequence[Mapping[str, Any]]) -> List[Tuple[str, str]]:
    """The (file, function) pairs that decide the issue, machinery and markers left out."""
    pairs = [
        (normalise_filename(str(frame.get("filename", ""))), str(frame.get("fun_name", "")))
        for frame in frames
        if frame.get("filename") != OMITTED
    ]
    start = 0
    while start < len(pairs) - 1 and pairs[start][0].startswith(_MACHINERY_PREFIXES):
        start += 1
    return pairs[start:]


def fingerprint(notebook: str, error_name: str, frames: Sequence[Mapping[str, Any]]) -> str:
    """A stable 64-hex-digit key: notebook + error name + frames' (file, function), in order."""
    key = _KEY_ENCODER.encode([notebook, error_name, grouping_frames(frames)])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def culprit(frames: Sequence[Mapping[str, Any]]) -> str:
    """Where it broke, for people: the innermost frame as ``file in function`` (empty without frames)."""
    for frame in reversed(frames):
        if frame.get("filename") != OMITTED:
            return f"{frame.get('filename', '')} in {frame.get('fun_name', '')}"
    return ""
