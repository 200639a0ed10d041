"""One ingest transaction: a group of reports stored, grouped into issues and counted, all or nothing.

``ingest_events`` takes scrubbed ``CleanEvent``s and returns, in order, what became of each:
created (with its issue) or a duplicate of one already stored (with that one's issue). Idempotent
on ``event_id``; counters are bumped only for the events this transaction inserted, so a retried
report is never counted twice; locks are taken in the order of ``lock_order.py``, and a deadlock or
serialisation failure that slips through is retried a few times. What differs between the
databases is behind ``databases.writes_for``. See docs/design.md.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from .. import grouping, search, search_index
from ..core.queries import ids_by_key
from ..core.traffic import TRAFFIC
from ..core.types import utcnow
from ..grouping import fingerprints
from ..models import EVENT, ISSUE, NOTEBOOK, SESSION
from ..scrub import CleanEvent
from .databases import DatabaseWrites, writes_for
from .known_ids import KnownIds
from .planning import (
    EventsWritten,
    IngestResult,
    effective_times,
    event_row,
    remembered,
    results_in_order,
    unique,
)

logger = logging.getLogger("notebook_error_reporter.server")

DEADLOCK_RETRIES = 3
_RETRYABLE_SQLSTATES = ("40001", "40P01")  # serialization_failure, deadlock_detected


@dataclass
class IngestSummary:
    """What a notifier needs: issues born and issues that regressed in this call (see alerts/)."""

    results: List[IngestResult]
    new_issue_ids: Set[int]
    regressed_issue_ids: Set[int]


def ingest_events(
    *,
    session: Session,
    events: Sequence[CleanEvent],
    client_dropped: int = 0,
    received_at: Optional[datetime] = None,
    known: Optional[KnownIds] = None,
) -> IngestSummary:
    """Store ``events`` in one transaction (committed here); see the module docstring.

    ``client_dropped`` (reports a client's full spool dropped) is added to the notebook of the first
    report. ``known``: the ids remembered across calls (the server's ``ServerState.known_ids``);
    without it, every id is read from the database.
    """
    received = received_at or utcnow()
    remembered_ids = known if known is not None else KnownIds()
    writes = writes_for(session)
    for attempt in range(DEADLOCK_RETRIES + 1):
        learned: Dict[str, Dict[str, int]] = {table: {} for table in KnownIds.TABLES}
        try:
            summary = _ingest_once(
                session, writes, list(events), client_dropped, received, remembered_ids, learned
            )
            # The alert outbox, in the same transaction: an alert exists exactly when its issue does.
            writes.enqueue_alerts(session, summary.new_issue_ids, summary.regressed_issue_ids, received)
            session.commit()
            remembered_ids.learn(learned)
            _count_traffic(summary)
            return summary
        except OperationalError as error:
            session.rollback()
            if (
                attempt == DEADLOCK_RETRIES
                or getattr(error.orig, "sqlstate", None) not in _RETRYABLE_SQLSTATES
            ):
                raise
            logger.info("ingest: retrying after %s", type(error.orig).__name__)
        except BaseException:
            session.rollback()
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _count_traffic(summary: IngestSummary) -> None:
    """This process's traffic counters (plain increments; see core/traffic.py)."""
    TRAFFIC.stored += sum(result.created for result in summary.results)
    TRAFFIC.new_issues += len(summary.new_issue_ids)
    TRAFFIC.regressions += len(summary.regressed_issue_ids)


def _ingest_once(
    session: Session,
    writes: DatabaseWrites,
    events: List[CleanEvent],
    client_dropped: int,
    received: datetime,
    known: KnownIds,
    learned: Dict[str, Dict[str, int]],
) -> IngestSummary:
    new = unique(events)
    prints = fingerprints(new)
    connection = writes.connection(
        session, lambda: bool(new) and not client_dropped and remembered(new, prints, known) is not None
    )
    ids = _RowIds(connection, writes, known, learned)

    names = {event.notebook for event in new.values()}
    if client_dropped and events:
        names.add(events[0].notebook)
    notebook_ids = _notebooks(ids, names, received) if names else {}
    stored: Dict[str, int] = {}
    new_issue_ids: Set[int] = set()
    written = EventsWritten({}, set(), {})
    new_sessions: Dict[int, int] = {}
    if new:
        session_pks, new_sessions = _sessions(
            ids, {e.session_id: notebook_ids[e.notebook] for e in new.values()}, received
        )
        times = effective_times({event_id: e.occurred_at for event_id, e in new.items()}, received)
        issue_ids, new_issue_ids = _issues(ids, new, prints, times, notebook_ids)
        rows = [
            event_row(
                e,
                issue_ids[prints[k]],
                session_pks[e.session_id],
                notebook_ids[e.notebook],
                times[k],
                received,
            )
            for k, e in sorted(new.items())
        ]
        written = writes.write_events(connection, rows, received, known, learned)
        stored.update(written.created)
        # Reports stored before (retries) keep the issue they were stored with.
        stored.update(_stored_issue_ids(connection, sorted(set(new) - set(written.created))))
        new_issue_ids &= set(written.created.values())
    # Notebook rows last of all (lock_order.py).
    dropped_by = notebook_ids[events[0].notebook] if client_dropped and events else None
    rows_to_bump = {pk: (len(w), max(w) if w else None) for pk, w in written.notebook_times.items()}
    for pk in list(new_sessions) + ([dropped_by] if dropped_by is not None else []):
        rows_to_bump.setdefault(pk, (0, None))
    extra = {"session_count": new_sessions}
    if dropped_by is not None:
        extra["client_dropped"] = {dropped_by: client_dropped}
    writes.bump_rows(connection, NOTEBOOK, rows_to_bump, extra)

    results = results_in_order(events, stored, set(written.created))
    return IngestSummary(results, new_issue_ids, written.regressed)


@dataclass(frozen=True)
class _RowIds:
    """Where an ingest gets row ids from: what ``known`` remembers, the database, or new rows; what
    it ``learned`` is remembered once the transaction commits."""

    connection: Connection
    writes: DatabaseWrites
    known: KnownIds
    learned: Dict[str, Dict[str, int]]


def _stored_issue_ids(connection: Connection, event_ids: List[str]) -> Dict[str, int]:
    """``{event_id: issue_id}`` of the events already stored."""
    return ids_by_key(connection, EVENT.c.event_id, EVENT.c.issue_id, event_ids)


def _get_or_create(
    source: _RowIds,
    table: str,
    key: Any,
    keys: Iterable[str],
    make_row: Callable[[str], Dict[str, Any]],
) -> Tuple[Dict[str, int], Set[str]]:
    """Row ids by key (remembered, found, or inserted now); and the keys inserted by this transaction."""
    ids, missing = source.known.lookup(table, keys)
    if not missing:
        return ids, set()
    connection = source.connection
    found = ids_by_key(connection, key, key.table.c.id, missing)
    rows = [make_row(k) for k in missing if k not in found]
    inserted = source.writes.insert_new(connection, key.table, rows, (key.name,), (key.name, "id"))
    made = {str(k): int(i) for k, i in inserted}
    found.update(made)
    if len(found) < len(missing):  # inserted by a concurrent transaction since we looked
        found.update(ids_by_key(connection, key, key.table.c.id, [k for k in missing if k not in found]))
    source.learned[table].update(found)
    ids.update(found)
    return ids, set(made)


def _notebooks(source: _RowIds, names: Set[str], now: datetime) -> Dict[str, int]:
    def make_row(name: str) -> Dict[str, Any]:
        return {"name": name, "created_at": now}

    ids, _ = _get_or_create(source, "notebook", NOTEBOOK.c.name, names, make_row)
    return ids


def _sessions(
    source: _RowIds, notebooks: Dict[str, int], now: datetime
) -> Tuple[Dict[str, int], Dict[int, int]]:
    """Session row ids by session id, and how many sessions are new, per notebook."""

    def make_row(session_id: str) -> Dict[str, Any]:
        return {
            "session_id": session_id,
            "notebook_id": notebooks[session_id],
            "created_at": now,
            "event_count": 0,
        }

    pks, made = _get_or_create(source, "session", SESSION.c.session_id, notebooks, make_row)
    added: Dict[int, int] = defaultdict(int)
    for session_id in made:
        added[notebooks[session_id]] += 1
    return pks, dict(added)


def _issues(
    source: _RowIds,
    events: Dict[str, CleanEvent],
    prints: Dict[str, str],
    times: Dict[str, datetime],
    notebook_ids: Dict[str, int],
) -> Tuple[Dict[str, int], Set[int]]:
    """Issue ids by fingerprint, creating issues (with zero counts and their search text) for new
    fingerprints."""
    first_by_print: Dict[str, str] = {}
    for event_id in sorted(events, key=lambda k: (times[k], k)):
        first_by_print.setdefault(prints[event_id], event_id)

    def make_row(fingerprint: str) -> Dict[str, Any]:
        event = events[first_by_print[fingerprint]]
        when = times[first_by_print[fingerprint]]
        return {
            "notebook_id": notebook_ids[event.notebook],
            "fingerprint": fingerprint,
            "error_name": event.error_name,
            "message": event.error_message,
            "culprit": grouping.culprit(event.traceback),
            "status": "open",
            "regression": False,
            "event_count": 0,
            "session_count": 0,
            "first_seen": when,
            "last_seen": when,
        }

    ids, made = _get_or_create(source, "issue", ISSUE.c.fingerprint, first_by_print, make_row)
    texts = {ids[f]: _searchable(events[first_by_print[f]]) for f in made}
    search_index.add_issues(source.connection, texts)
    return ids, {ids[f] for f in made}


def _searchable(event: CleanEvent) -> str:
    """A new issue's text for the search, from its first report (``search_index``)."""
    return search.issue_text(event.error_name, event.error_message, event.first_line, event.traceback)
