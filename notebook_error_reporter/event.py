"""Turn an exception and its cell into one wire-format report (pure: no IPython, no HTTP, no files).

Everything that leaves the user's machine is decided here and in ``privacy.py``: which frames,
under which names, how long a message may be. Keeping it free of I/O makes the privacy promise
testable with plain function calls, and keeps the cost on a failing cell's path tiny.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from types import TracebackType
from typing import Dict, List, Mapping, Optional, Tuple

from .privacy import PrivacyContext, scrub_text, strip_filename
from .types import ClientInfoType, EventMessageType, TracebackDetailsType

MAX_MESSAGE_CHARS = 2000
MAX_FIRST_LINE_CHARS = 200
MAX_FRAMES = 40
# Scrub a little more than we keep, so a secret straddling the cut is still recognised whole.
_SCRUB_MARGIN = 512
TRUNCATION_MARK = " …[truncated]"
UNPRINTABLE_MESSAGE = "<exception str() failed>"

# Cell files: IPython's own `<ipython-input-7-abc>` and the kernels' temp files
# (ipykernel: /tmp/ipykernel_123/3456.py, xeus-python: /tmp/xpython_123/456.py).
_IPYTHON_INPUT = re.compile(r"<ipython-input-(\d+)-[0-9a-f]+>")
_KERNEL_TEMP_CELL = re.compile(r"(?:[A-Za-z]:)?[^\s'\"<>]*[\\/](?:ipykernel|xpython)_\d+[\\/]\d+\.py")
# A file's base name standing alone, as a SyntaxError's message quotes it: "(396663807.py, line 2)".
_BARE_FILE = re.compile(r"(?<![\w.\\/-])[\w-]+\.py(?![\w.])")
# IPython's execution machinery sits at the top of every cell's traceback; it says nothing
# about the user's code. Stripped names starting with these are dropped from the top.
# IPython 7.34 on Python 3.11 names a cell's top-level code "<cell line: 0>"; others say "<module>".
_CELL_CODE_NAME = re.compile(r"<cell line: \d+>")
_MACHINERY_PREFIXES = ("IPython/core/", "IPython/utils/", "ipykernel/", "asyncio/", "<frozen ")


Frame = Tuple[str, str, int]


def raw_frames(tb: Optional[TracebackType]) -> List[Frame]:
    """Walk a traceback into (filename, function, line) tuples, keeping nothing else of the frame."""
    frames: List[Frame] = []
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append((code.co_filename, code.co_name, tb.tb_lineno or 0))
        tb = tb.tb_next
    return frames


def cell_name(filename: str, cell_filenames: Mapping[str, int]) -> Optional[str]:
    """``<cell 7>`` for a notebook cell's code file, whatever the kernel called it; None otherwise."""
    count = cell_filenames.get(filename)
    if count is not None:
        return f"<cell {count}>"
    match = _IPYTHON_INPUT.fullmatch(filename)
    if match:
        return f"<cell {match.group(1)}>"
    if _KERNEL_TEMP_CELL.fullmatch(filename):
        return "<cell>"
    return None


def _frame_filename(filename: str, context: PrivacyContext, cell_filenames: Mapping[str, int]) -> str:
    return cell_name(filename, cell_filenames) or strip_filename(filename, context)


def _is_machinery(filename: str) -> bool:
    return filename.startswith(_MACHINERY_PREFIXES)


def select_frames(
    frames: List[Frame],
    *,
    context: PrivacyContext,
    cell_filenames: Mapping[str, int],
    max_frames: int = MAX_FRAMES,
) -> List[TracebackDetailsType]:
    """Name, trim and cap the frames: machinery off the top, cells as cells, long tails cut.

    Only the frames that are kept are stripped, so a 3,000-frame RecursionError costs little more
    than a short traceback.
    """
    start = 0
    while start < len(frames) - 1 and _is_machinery(
        _frame_filename(frames[start][0], context, cell_filenames)
    ):
        start += 1
    kept = frames[start:]
    omitted = 0
    if len(kept) > max_frames:
        head = max_frames // 2
        tail = max_frames - head
        omitted = len(kept) - max_frames
        kept = kept[:head] + kept[-tail:]
    details: List[TracebackDetailsType] = [
        {
            "filename": _frame_filename(filename, context, cell_filenames),
            "fun_name": function_name(fun_name, context),
            "lineno": int(lineno),
        }
        for filename, fun_name, lineno in kept
    ]
    if omitted:
        marker: TracebackDetailsType = {
            "filename": "<omitted>",
            "fun_name": f"<{omitted} frames omitted>",
            "lineno": 0,
        }
        details.insert(max_frames // 2, marker)
    return details


def function_name(name: str, context: PrivacyContext) -> str:
    """The frame's function name, the same across IPython versions, scrubbed like any text."""
    if _CELL_CODE_NAME.fullmatch(name):
        return "<module>"
    return scrub_text(name, context)


def safe_message(error: BaseException) -> str:
    """``str(error)``, or a placeholder when the exception's own ``__str__`` fails."""
    try:
        message = str(error)
    except Exception:
        return UNPRINTABLE_MESSAGE
    if not isinstance(message, str):  # pragma: no cover - str() always returns str
        return UNPRINTABLE_MESSAGE
    return message


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, saying so; slicing keeps a 10 MB message cheap."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(TRUNCATION_MARK))] + TRUNCATION_MARK


def _base_name(filename: str) -> str:
    return re.split(r"[\\/]", filename)[-1]


def _cells_by_base_name(cell_filenames: Mapping[str, int], error_filename: str) -> Dict[str, str]:
    """``{"396663807.py": "<cell 3>"}`` for the cell files that are paths (the kernels' temp files)."""
    names: Dict[str, str] = {}
    for filename, count in cell_filenames.items():
        base = _base_name(filename)
        if base != filename:
            names[base] = f"<cell {count}>"
    own = cell_name(error_filename, cell_filenames) if error_filename else None
    if own is not None and _base_name(error_filename) != error_filename:
        names.setdefault(_base_name(error_filename), own)
    return names


def rename_cells_in_text(text: str, cell_filenames: Mapping[str, int], error_filename: str = "") -> str:
    """Messages mention cell files by their machine names, a SyntaxError's by the base name alone.

    ``error_filename`` is the file the error itself names (``SyntaxError.filename``), a cell's
    even when the shell keeps no map of its cell files.
    """
    text = _IPYTHON_INPUT.sub(lambda m: f"<cell {m.group(1)}>", text)
    for filename, count in cell_filenames.items():
        if filename in text:
            text = text.replace(filename, f"<cell {count}>")
    text = _KERNEL_TEMP_CELL.sub("<cell>", text)
    if _BARE_FILE.search(text) is None:
        return text
    names = _cells_by_base_name(cell_filenames, error_filename)
    return _BARE_FILE.sub(lambda m: names.get(m.group(0), m.group(0)), text)


def scrub_message(
    message: str, context: PrivacyContext, cell_filenames: Mapping[str, int], error_filename: str = ""
) -> str:
    """Rename cells and scrub a window a little longer than the limit, then cut to the limit."""
    cut_before_scrub = len(message) > MAX_MESSAGE_CHARS + _SCRUB_MARGIN
    window = scrub_text(
        rename_cells_in_text(message[: MAX_MESSAGE_CHARS + _SCRUB_MARGIN], cell_filenames, error_filename),
        context,
    )
    if cut_before_scrub or len(window) > MAX_MESSAGE_CHARS:
        return window[: MAX_MESSAGE_CHARS - len(TRUNCATION_MARK)] + TRUNCATION_MARK
    return window


# IPython's cell magics whose body is Python code of the cell itself.
PYTHON_CELL_MAGICS = frozenset({"%%capture", "%%time", "%%timeit", "%%prun", "%%debug"})


def first_line_of(raw_cell: str, context: PrivacyContext) -> str:
    """The cell's first non-empty line, scrubbed: authors often put a title comment there.

    A leading cell magic that runs its body as Python (``%%time``, ``%%capture out``) says how the
    cell runs, not which cell it is, so the first line of its body stands for the cell. Other cell
    magics (``%%bash``) keep their line: their body is not Python and stays unsent.
    """
    lines = (stripped for stripped in map(str.strip, raw_cell.splitlines()) if stripped)
    first = next(lines, "")
    if first and first.split(maxsplit=1)[0] in PYTHON_CELL_MAGICS:
        first = next(lines, first)
    return truncate(scrub_text(first[: MAX_FIRST_LINE_CHARS + _SCRUB_MARGIN], context), MAX_FIRST_LINE_CHARS)


def syntax_error_frame(
    error: BaseException, cell_filenames: Mapping[str, int]
) -> Optional[TracebackDetailsType]:
    """A SyntaxError's traceback is all parser machinery; where it points is the useful frame."""
    if not isinstance(error, SyntaxError) or not error.filename:
        return None
    name = cell_name(error.filename, cell_filenames)
    if name is None:
        return None
    return {"filename": name, "fun_name": "<module>", "lineno": int(error.lineno or 0)}


def _error_filename(error: BaseException) -> str:
    filename = getattr(error, "filename", None) if isinstance(error, SyntaxError) else None
    return filename if isinstance(filename, str) else ""


def error_name_of(error: BaseException) -> str:
    """The exception class's qualified name (``HTTPError``, ``Outer.Inner``).

    A private subclass of SyntaxError (Python 3.13's ``codeop._IncompleteInputError`` for an
    incomplete cell) is named as its nearest public SyntaxError class, so that the same cell
    gives the same issue on every Python version.
    """
    kind = type(error)
    if isinstance(error, SyntaxError):
        kind = next(c for c in kind.__mro__ if issubclass(c, SyntaxError) and not c.__name__.startswith("_"))
    return kind.__qualname__


def build_event(
    error: BaseException,
    *,
    raw_cell: str,
    execution_count: int,
    notebook: str,
    session_id: str,
    context: PrivacyContext,
    client: ClientInfoType,
    cell_filenames: Optional[Mapping[str, int]] = None,
    occurred_at: Optional[datetime] = None,
    event_id: Optional[str] = None,
    max_frames: int = MAX_FRAMES,
) -> EventMessageType:
    """The wire-format report of docs/design.md for one failing cell; nothing private survives it."""
    cells = cell_filenames or {}
    frames = select_frames(
        raw_frames(error.__traceback__), context=context, cell_filenames=cells, max_frames=max_frames
    )
    syntax_frame = syntax_error_frame(error, cells)
    if syntax_frame is not None:
        frames = [f for f in frames if not _is_machinery(f["filename"])] + [syntax_frame]
    when = occurred_at or datetime.now(timezone.utc)
    return {
        "event_id": event_id or uuid.uuid4().hex,
        "session_id": session_id,
        "notebook": notebook,
        "error_name": error_name_of(error),
        "error_message": scrub_message(safe_message(error), context, cells, _error_filename(error)),
        "traceback": frames,
        "first_line": first_line_of(raw_cell, context),
        "execution_count": int(execution_count),
        "occurred_at": when.isoformat(),
        "client": client,
    }
