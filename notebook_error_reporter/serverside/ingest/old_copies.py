"""Reports from an older copy of a notebook: those whose version is older than the version that
fixed their issue (``issue.fixed_in_version`` of a resolved issue). They are stored and counted,
flagged ``older_copy``, and do not reopen the issue (each database's issue bump reads the flag).

``older_copies`` is the decision (pure; ``versions.is_older``); ``mark`` and ``judge`` read what it
needs (SQLite's write reads the fixes with the statuses it reads anyway), only for reports that
carry a version, and the first-seen order only where PEP 440 cannot compare. A report without a
version is never from an older copy: it reopens a resolved issue as before.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Set, Tuple

from sqlalchemy import Connection, bindparam, select, tuple_

from ...versions import is_older, pep440_key
from ..models import ISSUE, NOTEBOOK_VERSION

Rows = Sequence[Mapping[str, Any]]  # event rows (``planning.event_row``)
# {issue id: the version that fixed it}, for the resolved issues that name one.
Fixes = Dict[int, str]
# {(notebook id, version): when the server first saw it}
FirstSeen = Dict[Tuple[int, str], datetime]


def versioned_issue_ids(rows: Iterable[Mapping[str, Any]]) -> List[int]:
    """The issues of the reports that carry a version (only those can be from an older copy)."""
    return sorted({row["issue_id"] for row in rows if row.get("notebook_version")})


def orders_needed(rows: Iterable[Mapping[str, Any]], fixes: Fixes) -> Set[Tuple[int, str]]:
    """The (notebook, version) pairs whose first-seen time the decision needs: where PEP 440
    cannot compare a report's version with its issue's fix."""
    needed: Set[Tuple[int, str]] = set()
    for row in rows:
        version, fixed = row.get("notebook_version"), fixes.get(row["issue_id"])
        if version and fixed and (pep440_key(version) is None or pep440_key(fixed) is None):
            needed.update({(row["notebook_id"], version), (row["notebook_id"], fixed)})
    return needed


def older_copies(rows: Rows, fixes: Fixes, first_seen: FirstSeen) -> Rows:
    """The rows with ``older_copy`` set where the version is older than the issue's fix (the rows
    themselves when none is, the common case; the others keep theirs, False)."""
    if not fixes:
        return rows
    marked: List[Mapping[str, Any]] = []
    for row in rows:
        version, fixed = row.get("notebook_version"), fixes.get(row["issue_id"])
        if version and fixed:
            notebook = row["notebook_id"]
            seen = {v: first_seen[(n, v)] for n, v in first_seen if n == notebook}
            if is_older(version, fixed, seen):
                row = {**row, "older_copy": True}
        marked.append(row)
    return marked


@functools.lru_cache(maxsize=1)
def _fixes_query() -> Any:
    ids: Any = bindparam("ids", expanding=True)
    return select(ISSUE.c.id, ISSUE.c.fixed_in_version).where(
        ISSUE.c.id.in_(ids), ISSUE.c.status == "resolved", ISSUE.c.fixed_in_version.is_not(None)
    )


def _first_seen_query(pairs: Set[Tuple[int, str]]) -> Any:
    c = NOTEBOOK_VERSION.c
    return select(c.notebook_id, c.version, c.first_seen).where(
        tuple_(c.notebook_id, c.version).in_(sorted(pairs))
    )


def judge(connection: Connection, rows: Rows, fixes: Fixes) -> Rows:
    """``older_copies`` for ``rows`` whose issues' ``fixes`` are known, reading the first-seen times
    of versions only where PEP 440 cannot compare them (rare)."""
    needed = orders_needed(rows, fixes) if fixes else set()
    first_seen: FirstSeen = {}
    if needed:
        first_seen = {(int(n), str(v)): when for n, v, when in connection.execute(_first_seen_query(needed))}
    return older_copies(rows, fixes, first_seen)


def mark(connection: Connection, rows: Rows) -> Rows:
    """``judge`` for ``rows``, reading the fixes first (one query, only if a row has a version)."""
    issue_ids = versioned_issue_ids(rows)
    fixes: Fixes = {}
    if issue_ids:
        fixes = {int(i): str(v) for i, v in connection.execute(_fixes_query(), {"ids": issue_ids})}
    return judge(connection, rows, fixes)
