"""The one order in which every ingest transaction takes its locks, so that concurrent writers never
wait for each other in a circle (a deadlock).

It matters on PostgreSQL, whose writers lock rows; on SQLite one writer has the whole file, and the
order is kept all the same. Within a step rows are locked sorted by the key named. Counter rows are
locked ``FOR NO KEY UPDATE``, which does not conflict with the ``FOR KEY SHARE`` that inserting a
referencing row takes. A deadlock or serialisation failure that slips through is retried
(``transaction.py``). ``docs/design.md`` shows this table.
"""

from __future__ import annotations

from typing import Tuple

# (table, which of its rows, sorted by what), first to last.
LOCK_ORDER: Tuple[Tuple[str, str], ...] = (
    ("notebook", "new rows, by name"),
    ("report_session", "new rows, by session id"),
    ("issue", "new rows, by fingerprint"),
    ("event", "new rows, by event id"),
    ("notebook_version", "new rows, by notebook id and version"),
    ("issue_version", "new rows, by issue id and version"),
    ("issue_session", "new pairs, by issue id and session row id"),
    ("issue", "counters (and reopening), by id"),
    ("alert", "new regression alerts, by issue id and target"),
    ("issue_day", "counters, by issue id and day"),
    ("report_session", "counters, by id"),
    ("notebook", "counters, by id"),
    ("alert", "new issues' alerts, by issue id and target"),
)
