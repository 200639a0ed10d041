"""Row ids that never change once made, remembered between ingest transactions (pure, no I/O).

A notebook's id for its name, a session's row id for its session id, an issue's id for its
fingerprint, and the pairs of an issue and a session that met it (``issue_session``, keyed
``"<issue id>:<session row id>"``) are fixed when the row is inserted and never deleted (retention
purges reports only). Only committed ids are learned (``transaction.py`` calls ``learn`` after its
commit): an id from a transaction that rolled back would point at nothing. Each map is bounded; a
full map is emptied and refilled from the database, which is always right, only slower.
"""

from __future__ import annotations

import itertools
import threading
from typing import Dict, Iterable, List, Mapping, Tuple

MAX_REMEMBERED = 100_000


class KnownIds:
    """``{key: row id}`` per table (``notebook``, ``session``, ``issue``, and ``issue_session`` pairs
    ``notebook_version`` first sightings and ``issue_version`` pairs, whose value is 1); safe to
    share across threads."""

    TABLES = ("notebook", "session", "issue", "issue_session", "notebook_version", "issue_version")

    def __init__(self, max_remembered: int = MAX_REMEMBERED) -> None:
        self.max_remembered = max_remembered
        self._maps: Dict[str, Dict[str, int]] = {table: {} for table in self.TABLES}
        self._lock = threading.Lock()

    def lookup(self, table: str, keys: Iterable[str]) -> Tuple[Dict[str, int], List[str]]:
        """The remembered ids among ``keys``, and the keys (sorted) the database must be asked for."""
        known = self._maps[table]
        found: Dict[str, int] = {}
        missing: List[str] = []
        for key in sorted(set(keys)):
            row_id = known.get(key)
            if row_id is None:
                missing.append(key)
            else:
                found[key] = row_id
        return found, missing

    def learn(self, learned: Mapping[str, Mapping[str, int]]) -> None:
        """Remember committed ids: ``{table: {key: row id}}``."""
        with self._lock:
            for table, ids in learned.items():
                known = self._maps[table]
                if len(known) + len(ids) > self.max_remembered:
                    known.clear()
                # A transaction of many batches may bring more ids than the bound: keep a bound's worth.
                known.update(itertools.islice(ids.items(), self.max_remembered))


def pair_key(issue_id: int, session_pk: int) -> str:
    """The ``issue_session`` key of an issue and a session row."""
    return f"{issue_id}:{session_pk}"


def version_key(notebook_id: int, version: str) -> str:
    """The ``notebook_version`` (or ``issue_version``) key of a notebook (an issue) and a version."""
    return f"{notebook_id}:{version}"
