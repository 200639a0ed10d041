"""What ErrorSlack posts: a report (a wire-format dict) as a Slack message, and its fingerprint.

Pure functions, no I/O: the sender thread calls them, tests call them directly. The payload is a
plain dict that the caller serialises with ``json``; nothing here builds JSON by formatting
strings. Everything a user can influence (the error message, the first line, file and function
names, the notebook name, the client's versions) is shown inside code marks, where Slack renders
no markup and links nothing: :func:`quoted` for one line (line breaks become spaces, so nothing
can start a line that looks like ours), :func:`code` for a block. Both escape ``&``, ``<`` and
``>`` (no ``<!channel>``, no ``<url|fake link>``), neutralise backticks (the marks cannot be closed
early), show bidi controls as ``[U+202E]`` and break URLs (``https[:]//``), see ``inert_text.py``.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Sequence, Tuple

from .inert_text import inert, unlinked, visible_bidi
from .types import EventMessageType

# Slack's limits: a section's text is at most 3,000 characters, a message's fallback 40,000.
# We stay well below, so one huge message cannot get the whole post rejected with a 400.
MAX_MESSAGE_CHARS = 1500
MAX_FIRST_LINE_CHARS = 200
MAX_FALLBACK_CHARS = 500
MAX_NAME_CHARS = 150
# Frames shown: the first few (where the cell called in) and the last few (where it raised).
SHOWN_HEAD_FRAMES = 3
SHOWN_TAIL_FRAMES = 5
# Frames that make an error "the same error" for coalescing a storm (lines numbers excluded).
FINGERPRINT_FRAMES = 5
ELLIPSIS = "…"

_CELL_NUMBER = re.compile(r"<cell \d+>")

Fingerprint = Tuple[str, ...]


def escape(text: str) -> str:
    """Escape Slack's three control characters, as its docs ask for any user-provided text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    """At most ``limit`` characters, with an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + ELLIPSIS


def code(text: str) -> str:
    """Text for inside a ```code block```: lines kept, inert, and without a backtick to end the block."""
    return escape(unlinked(visible_bidi(text))).replace("`", "'") or " "


def inline_code(text: str) -> str:
    """Text for inside `inline code`: one line, inert, escaped, without a backtick to end it early."""
    return escape(inert(text)).replace("`", "'") or " "


def quoted(text: str) -> str:
    """A stranger's one-line value as `inline code` (Slack renders no markup and no link inside)."""
    return f"`{inline_code(text)}`"


def _fallback_quoted(message: str) -> str:
    """The message in the notification text: short, and like every stranger's value, in code marks."""
    return quoted(cut(message, MAX_FALLBACK_CHARS - 2 * MAX_NAME_CHARS))


def _get(event: Mapping[str, Any], key: str, default: Any = "") -> Any:
    # ``before_send`` may hand us a changed dict: never trust a key to be there or to be a str.
    value = event.get(key, default)
    return default if value is None else value


def _frames(event: Mapping[str, Any]) -> List[Mapping[str, Any]]:
    frames = _get(event, "traceback", [])
    return [f for f in frames if isinstance(f, dict)] if isinstance(frames, list) else []


def format_frame(frame: Mapping[str, Any]) -> str:
    """One frame as Python prints it, minus the path, on one line: ``<cell 7>, line 2, in f``."""
    return inert(
        f"{frame.get('filename', '?')}, line {frame.get('lineno', 0)}, in {frame.get('fun_name', '?')}"
    )


def shown_frames(frames: Sequence[Mapping[str, Any]]) -> List[str]:
    """The frames worth a glance in a chat message; a long traceback keeps its two ends."""
    lines = [format_frame(frame) for frame in frames]
    limit = SHOWN_HEAD_FRAMES + SHOWN_TAIL_FRAMES
    if len(lines) <= limit:
        return lines
    hidden = len(lines) - limit
    return lines[:SHOWN_HEAD_FRAMES] + [f"… {hidden} more frames …"] + lines[-SHOWN_TAIL_FRAMES:]


def fingerprint(event: Mapping[str, Any]) -> Fingerprint:
    """What makes two reports "the same error" for coalescing a storm.

    Notebook, error name, message and the first frames' file and function (plus the frame that
    raised). Cell numbers and line numbers are left out: the same failing cell run again gets a
    new execution count, and it is still the same error.
    """
    frames = _frames(event)
    picked = frames[:FINGERPRINT_FRAMES] + frames[-1:]
    parts = [
        str(_get(event, "notebook")),
        str(_get(event, "error_name")),
        _CELL_NUMBER.sub("<cell>", str(_get(event, "error_message"))),
    ]
    for frame in picked:
        parts.append(_CELL_NUMBER.sub("<cell>", str(frame.get("filename", ""))))
        parts.append(str(frame.get("fun_name", "")))
    return tuple(parts)


def _title(event: Mapping[str, Any]) -> Tuple[str, str]:
    name = cut(str(_get(event, "error_name", "Error")) or "Error", MAX_NAME_CHARS)
    notebook = cut(str(_get(event, "notebook", "unknown")), MAX_NAME_CHARS)
    return name, notebook


def _cell_label(event: Mapping[str, Any]) -> str:
    count = _get(event, "execution_count", -1)
    return f"[{count}]" if isinstance(count, int) and count >= 0 else "[?]"


def _context_line(event: Mapping[str, Any]) -> str:
    client = _get(event, "client", {})
    client = client if isinstance(client, dict) else {}
    bits = [
        f"reporter {client.get('reporter', '?')}",
        f"Python {client.get('python', '?')}",
        f"IPython {client.get('ipython', '?')}",
        str(client.get("platform", "?")),
        str(_get(event, "occurred_at", "")),
        f"session {str(_get(event, 'session_id'))[:8]}",
    ]
    return quoted(" · ".join(bit for bit in bits if bit))


def _section(markdown: str) -> Dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": markdown}}


def error_message(event: EventMessageType) -> Dict[str, Any]:
    """The Slack payload for one report: Block Kit blocks and a plain ``text`` fallback."""
    name, notebook = _title(event)
    message = cut(str(_get(event, "error_message")), MAX_MESSAGE_CHARS)
    first_line = cut(str(_get(event, "first_line")), MAX_FIRST_LINE_CHARS)
    frames = shown_frames(_frames(event))
    cell = _cell_label(event)

    blocks: List[Dict[str, Any]] = [
        _section(f":rotating_light: {quoted(name)} in notebook {quoted(notebook)}, cell {cell}"),
        _section(f"```{code(message)}```"),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Cell*\n{cell}"},
                {"type": "mrkdwn", "text": f"*First line*\n`{inline_code(first_line)}`"},
            ],
        },
    ]
    if frames:
        blocks.append(_section("*Traceback* (most recent call last)\n```" + code("\n".join(frames)) + "```"))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _context_line(event)}]})
    fallback = f"{quoted(name)} in notebook {quoted(notebook)}, cell {cell}: {_fallback_quoted(message)}"
    return {"text": fallback, "blocks": blocks}


def duration(seconds: float) -> str:
    """A short human duration for a storm's follow-up: ``0.4 s``, ``45 s``, ``12 min``, ``3 h``."""
    if seconds < 10:
        return f"{seconds:.1f}".rstrip("0").rstrip(".") + " s"
    if seconds < 120:
        return f"{round(seconds)} s"
    if seconds < 7200:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds / 3600)} h"


def storm_message(event: EventMessageType, repeats: int, seconds: float) -> Dict[str, Any]:
    """The follow-up for an error storm: the same error happened ``repeats`` more times in ``seconds``."""
    name, notebook = _title(event)
    message = cut(str(_get(event, "error_message")), MAX_MESSAGE_CHARS // 3)
    times = "time" if repeats == 1 else "times"
    window = duration(seconds)
    headline = (
        f":repeat: …and {repeats} more: {quoted(name)} in notebook {quoted(notebook)} "
        f"happened {repeats} more {times} within {window} (last in cell {_cell_label(event)})"
    )
    fallback = (
        f"…and {repeats} more: {quoted(name)} in notebook {quoted(notebook)} happened {repeats} more"
        f" {times} within {window}: {_fallback_quoted(message)}"
    )
    return {
        "text": fallback,
        "blocks": [_section(headline), _section(f"```{code(message)}```")],
    }
