"""Reports as a small table: HTML for a notebook, plain text for a terminal. Pure functions.

Every value comes from a report and is untrusted text (a message can hold markup, terminal
escape sequences or bidi controls): both forms show control characters as visible escapes and
the HTML form escapes markup. Rows are newest first, times in the reader's local time zone, and
long values are cut (the full report is in the list the table shows).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, List, Mapping, Optional, Sequence

from .report_time import local_text, occurred_at, sort_key

MAX_ROWS = 200  # rows shown; older reports are only counted under the table
HTML_CHARS = 300  # characters of one value in the HTML form
_TEXT_WIDTHS = {"when": 27, "cell": 6, "error": 60, "first line": 36, "where": 40, "delivered": 9}
# C0/C1 controls, and the characters that reorder text around them (bidi controls, separators).
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_KEPT_IN_HTML = "\n\t"

_CELL_STYLE = "text-align:left;vertical-align:top;padding:2px 8px;border-bottom:1px solid #ddd"
_HEAD_STYLE = _CELL_STYLE + ";font-weight:600;white-space:nowrap"
_CODE_STYLE = "font-family:monospace;white-space:pre-wrap;word-break:break-word"


@dataclass(frozen=True)
class Row:
    """One report as the table shows it (texts not yet escaped)."""

    when: str
    cell: str
    error_name: str
    message: str
    first_line: str
    where: str
    delivered: Optional[str]  # None when the reports say nothing about delivery


def visible(text: str, keep: str = "") -> str:
    """``text`` with control and bidi characters (other than those in ``keep``) shown as escapes."""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if char in keep:
            return char
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _HIDDEN.sub(escape, text)


def newest_first(reports: Sequence[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    """The reports by time, newest first; equal times keep the later-listed one first."""
    order = sorted(range(len(reports)), key=lambda i: (sort_key(reports[i]), i), reverse=True)
    return [reports[i] for i in order]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _where(report: Mapping[str, Any]) -> str:
    """The innermost frame, as a traceback names it: ``frame.py, line 4102, in __getitem__``."""
    frames = report.get("traceback")
    if not isinstance(frames, list) or not frames or not isinstance(frames[-1], Mapping):
        return ""
    last = frames[-1]
    filename, lineno, function = (_text(last.get(key)) for key in ("filename", "lineno", "fun_name"))
    parts = [filename, f"line {lineno}" if lineno else "", f"in {function}" if function else ""]
    return ", ".join(part for part in parts if part)


def _cell(report: Mapping[str, Any]) -> str:
    count = report.get("execution_count")
    return f"[{count}]" if isinstance(count, int) and count >= 0 else ""


def _when(report: Mapping[str, Any], zone: Optional[tzinfo]) -> str:
    when = occurred_at(report)
    if when is not None:
        return local_text(when, zone)
    return _text(report.get("occurred_at") or report.get("timestamp"))


def row_of(report: Mapping[str, Any], zone: Optional[tzinfo] = None) -> Row:
    delivered = report.get("delivered")
    return Row(
        when=_when(report, zone),
        cell=_cell(report),
        error_name=_text(report.get("error_name")),
        message=_text(report.get("error_message")),
        first_line=_text(report.get("first_line")),
        where=_where(report),
        delivered=None if delivered is None else ("yes" if delivered else "not yet"),
    )


def summary(reports: Sequence[Mapping[str, Any]]) -> str:
    """``3 errors in this session, newest first (1 not yet delivered)``."""
    count = len(reports)
    if not count:
        return "No errors reported in this session."
    waiting = sum(1 for report in reports if report.get("delivered") is False)
    noun = "error" if count == 1 else "errors"
    tail = f" ({waiting} not yet delivered)" if waiting else ""
    return f"{count} {noun} in this session, newest first{tail}:"


def _columns(rows: Sequence[Row]) -> List[str]:
    names = ["when", "cell", "error", "first line", "where"]
    return names + (["delivered"] if any(row.delivered is not None for row in rows) else [])


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _left_out(total: int) -> int:
    return max(0, total - MAX_ROWS)


def to_html(reports: Sequence[Mapping[str, Any]], zone: Optional[tzinfo] = None) -> str:
    """A styled table (inline styles only, so a notebook's CSS cannot undo it), every value escaped."""

    def escaped(value: str) -> str:
        return html.escape(visible(_cut(value, HTML_CHARS), keep=_KEPT_IN_HTML))

    heading = f'<div style="margin:0 0 4px 0">{html.escape(summary(reports))}</div>'
    if not reports:
        return f'<div class="notebook-error-reporter" style="font-size:12px">{heading}</div>'
    rows = [row_of(report, zone) for report in newest_first(reports)[:MAX_ROWS]]
    columns = _columns(rows)
    head = "".join(f'<th style="{_HEAD_STYLE}">{html.escape(name)}</th>' for name in columns)
    body = []
    for row in rows:
        name = f"<b>{escaped(row.error_name)}</b>" if row.error_name else ""
        error = ": ".join(part for part in (name, escaped(row.message)) if part)
        cells = [
            f'<td style="{_CELL_STYLE};white-space:nowrap">{escaped(row.when)}</td>',
            f'<td style="{_CELL_STYLE}">{escaped(row.cell)}</td>',
            f'<td style="{_CELL_STYLE};{_CODE_STYLE}">{error}</td>',
            f'<td style="{_CELL_STYLE};{_CODE_STYLE}">{escaped(row.first_line)}</td>',
            f'<td style="{_CELL_STYLE};{_CODE_STYLE}">{escaped(row.where)}</td>',
        ]
        if "delivered" in columns:
            cells.append(f'<td style="{_CELL_STYLE}">{escaped(row.delivered or "")}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = _left_out(len(reports))
    footer = f'<div style="margin:4px 0 0 0">…and {more} older (all are in the list).</div>' if more else ""
    return (
        f'<div class="notebook-error-reporter" style="font-size:12px">{heading}'
        f'<table style="border-collapse:collapse;font-size:12px;margin:0">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{footer}</div>"
    )


def to_text(reports: Sequence[Mapping[str, Any]], zone: Optional[tzinfo] = None) -> str:
    """Aligned columns, one line per report; newlines in a value become ``↵``."""
    heading = summary(reports)
    if not reports:
        return heading
    rows = [row_of(report, zone) for report in newest_first(reports)[:MAX_ROWS]]
    columns = _columns(rows)
    table = [list(columns)]
    for row in rows:
        error = ": ".join(part for part in (row.error_name, row.message) if part)
        values = [row.when, row.cell, error, row.first_line, row.where]
        values += [row.delivered or ""] if "delivered" in columns else []
        one_line = (visible(value.replace("\n", "↵")) for value in values)
        table.append([_cut(value, _TEXT_WIDTHS[name]) for name, value in zip(columns, one_line)])
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    lines = ["  ".join(value.ljust(width) for value, width in zip(line, widths)).rstrip() for line in table]
    more = _left_out(len(reports))
    return "\n".join([heading, *lines] + ([f"…and {more} older (all are in the list)."] if more else []))
