"""The issues search, as pure functions: what text an issue is found by, and what a query asks for.

An issue is found by its error name, its (first) message, the first line of the cell that raised it
and the file and function of each frame. A query is words; an issue matches when each word occurs
in that text, anywhere and in any case (``KeyErr`` finds ``KeyError``, ``frame.py`` a frame's file).
"""

from __future__ import annotations

from typing import Any, Iterable, List, Mapping

MAX_TEXT = 8000  # the index holds the first characters of an issue's text; the rest is not searched
MAX_QUERY = 200
MAX_TERMS = 8
SHORTEST_INDEXED_TERM = 3  # trigram indexes find words of at least three characters


def issue_text(
    error_name: str, message: str, first_line: str, frames: Iterable[Mapping[str, Any]], culprit: str = ""
) -> str:
    """The text an issue is found by, one part a line, each frame's file and function once (the
    ``culprit``, ``file in function``, stands in for the frames of an issue whose reports were purged)."""
    parts: List[str] = [error_name, message, first_line, culprit]
    seen = set()
    for frame in frames:
        where = f"{frame.get('filename', '')} {frame.get('fun_name', '')}".strip()
        if where and where not in seen:
            seen.add(where)
            parts.append(where)
    return "\n".join(part for part in parts if part)[:MAX_TEXT]


def query_terms(query: str) -> List[str]:
    """The words of a query, each once and in order (at most ``MAX_TERMS``); none for blank."""
    terms: List[str] = []
    for word in query.split():
        if word.casefold() not in (term.casefold() for term in terms):
            terms.append(word)
    return terms[:MAX_TERMS]


def fts5_phrase(term: str) -> str:
    """``term`` as one FTS5 phrase (a substring, with the trigram tokenizer), quotes doubled."""
    return '"' + term.replace('"', '""') + '"'


def like_pattern(term: str) -> str:
    """``%term%`` for ``LIKE ... ESCAPE '\\'``, the term's own ``%``, ``_`` and ``\\`` taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
