"""Storing reports: idempotent on ``event_id``, grouped into issues, counters updated, one transaction.

``ingest_events`` takes scrubbed ``CleanEvent``s and returns, in order, what became of each:
created (with its issue) or a duplicate of one already stored (with that one's issue). It works the
same on SQLite and PostgreSQL, with SQLAlchemy constructs only:

* Idempotency: ``event.event_id`` is unique. Known ids are looked up first; the rest are inserted
  inside a SAVEPOINT, and if a concurrent retry won the race (``IntegrityError``) the savepoint is
  rolled back, the winners are looked up and only the remainder is inserted again.
* Get-or-create of notebooks, sessions and issues follows the same pattern, key by key.
* Deadlocks (PostgreSQL): every transaction takes its locks in one global order: new notebooks,
  sessions, issues and events (each sorted by key), then the counter rows: issues, days, sessions,
  notebooks last (each sorted). Counter rows are locked ``FOR NO KEY UPDATE``, which does not
  conflict with the ``FOR KEY SHARE`` locks that inserting a referencing event takes. A deadlock or
  serialisation failure that slips through is retried a few times.
* Counters are bumped only for events this transaction really inserted, so a retried report is
  never counted twice.

Time: a report's ``occurred_at`` comes from the user's clock. It is clamped into the 30 days
before its arrival (a wrong clock must not put an issue's ``last_seen`` in 2099 or 1970) and that
clamped value is stored, counted per day, and used by retention.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from . import grouping
from ._counters import add_issue_sessions, add_to_days, bump_issues, bump_rows
from ._store import EVENT, ISSUE, NOTEBOOK, SESSION, ids_by_key, insert_all, insert_or_skip
from .alerts import outbox
from .core.types import utcnow
from .scrub import CleanEvent

logger = logging.getLogger("notebook_error_reporter.server")

MAX_CLOCK_SKEW_BACK = timedelta(days=30)
DEADLOCK_RETRIES = 3
_RETRYABLE_SQLSTATES = ("40001", "40P01")  # serialization_failure, deadlock_detected


@dataclass(frozen=True)
class IngestResult:
    event_id: str
    issue_id: int
    created: bool


@dataclass
class IngestSummary:
    """What a notifier needs: issues born and issues that regressed in this call (see alerts/)."""

    results: List[IngestResult]
    new_issue_ids: Set[int]
    regressed_issue_ids: Set[int]


def effective_time(occurred_at: datetime, received_at: datetime) -> datetime:
    """The report's time as stored: the client's, clamped to [arrival - 30 days, arrival]."""
    return min(max(occurred_at, received_at - MAX_CLOCK_SKEW_BACK), received_at)


def ingest_events(
    *,
    session: Session,
    events: Sequence[CleanEvent],
    client_dropped: int = 0,
    received_at: Optional[datetime] = None,
) -> IngestSummary:
    """Store ``events`` in one transaction (committed here); see the module docstring."""
    received = received_at or utcnow()
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            summary = _ingest_once(session, list(events), client_dropped, received)
            # The alert outbox, in the same transaction: an alert exists exactly when its issue does.
            outbox.enqueue(
                session=session,
                new=summary.new_issue_ids,
                regressed=summary.regressed_issue_ids,
                now=received,
            )
            session.commit()
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


def _ingest_once(
    session: Session, events: List[CleanEvent], client_dropped: int, received: datetime
) -> IngestSummary:
    unique: Dict[str, CleanEvent] = {}
    for event in events:
        unique.setdefault(event.event_id, event)
    stored = _stored_issue_ids(session, list(unique))
    new = {event_id: event for event_id, event in unique.items() if event_id not in stored}

    new_issue_ids: Set[int] = set()
    regressed: Set[int] = set()
    created: Set[str] = set()
    names = {event.notebook for event in new.values()}
    if client_dropped and events:
        names.add(events[0].notebook)
    notebook_ids = _notebooks(session, names, received) if names else {}
    per_notebook: Dict[int, List[datetime]] = defaultdict(list)
    new_sessions: Dict[int, int] = {}
    if new:
        session_pks, new_sessions = _sessions(
            session, {e.session_id: notebook_ids[e.notebook] for e in new.values()}, received
        )
        times = {event_id: effective_time(e.occurred_at, received) for event_id, e in new.items()}
        prints = {
            event_id: grouping.fingerprint(e.notebook, e.error_name, e.traceback)
            for event_id, e in new.items()
        }
        issue_ids, new_issue_ids = _issues(session, new, prints, times, notebook_ids)
        rows = [
            _event_row(
                e,
                issue_ids[prints[k]],
                session_pks[e.session_id],
                notebook_ids[e.notebook],
                times[k],
                received,
            )
            for k, e in sorted(new.items())
        ]
        created = {str(row["event_id"]) for row in insert_all(session, EVENT, rows)}
        stored.update(_stored_issue_ids(session, [k for k in new if k not in created]))
        for event_id in created:
            stored[event_id] = issue_ids[prints[event_id]]
        regressed = _count(
            session, [(new[k], times[k], stored[k]) for k in sorted(created)], session_pks, received
        )
        new_issue_ids &= {stored[k] for k in created}
        for event_id in created:
            per_notebook[notebook_ids[new[event_id].notebook]].append(times[event_id])
    # Notebook rows last of all (the global lock order).
    dropped_by = notebook_ids[events[0].notebook] if client_dropped and events else None
    rows_to_bump = {pk: (len(w), max(w) if w else None) for pk, w in per_notebook.items()}
    for pk in list(new_sessions) + ([dropped_by] if dropped_by is not None else []):
        rows_to_bump.setdefault(pk, (0, None))
    extra = {"session_count": new_sessions}
    if dropped_by is not None:
        extra["client_dropped"] = {dropped_by: client_dropped}
    bump_rows(session, NOTEBOOK, rows_to_bump, extra)

    results = [IngestResult(e.event_id, stored[e.event_id], e.event_id in created) for e in events]
    # A report repeated inside one batch is created once, then a duplicate.
    seen: Set[str] = set()
    for index, result in enumerate(results):
        if result.created and result.event_id in seen:
            results[index] = IngestResult(result.event_id, result.issue_id, False)
        seen.add(result.event_id)
    return IngestSummary(results, new_issue_ids, regressed)


def _count(
    session: Session,
    inserted: List[Tuple[CleanEvent, datetime, int]],
    session_pks: Dict[str, int],
    received: datetime,
) -> Set[int]:
    """All counters but the notebooks' for the inserted events; the issues that regressed."""
    per_issue: Dict[int, List[datetime]] = defaultdict(list)
    per_day: Dict[Tuple[int, date], int] = defaultdict(int)
    per_session: Dict[int, List[datetime]] = defaultdict(list)
    pairs: Set[Tuple[int, int]] = set()
    for event, when, issue_id in inserted:
        pk = session_pks[event.session_id]
        per_issue[issue_id].append(when)
        per_day[(issue_id, when.date())] += 1
        per_session[pk].append(when)
        pairs.add((issue_id, pk))
    new_pairs = add_issue_sessions(session, pairs)
    regressed = bump_issues(session, per_issue, new_pairs, received)
    add_to_days(session, per_day)
    bump_rows(session, SESSION, {pk: (len(w), max(w)) for pk, w in per_session.items()})
    return regressed


def _stored_issue_ids(session: Session, event_ids: List[str]) -> Dict[str, int]:
    """``{event_id: issue_id}`` of the events already stored."""
    return ids_by_key(session, EVENT.c.event_id, EVENT.c.issue_id, event_ids)


def _notebooks(session: Session, names: Set[str], now: datetime) -> Dict[str, int]:
    key, pk = NOTEBOOK.c.name, NOTEBOOK.c.id
    ids = ids_by_key(session, key, pk, sorted(names))
    for missing in sorted(names - set(ids)):
        insert_or_skip(session, NOTEBOOK.insert().values(name=missing, created_at=now))
    ids.update(ids_by_key(session, key, pk, sorted(names - set(ids))))
    return ids


def _sessions(
    session: Session, notebooks: Dict[str, int], now: datetime
) -> Tuple[Dict[str, int], Dict[int, int]]:
    """Session row ids by session id, and how many sessions are new, per notebook."""
    key, pk = SESSION.c.session_id, SESSION.c.id
    wanted = sorted(notebooks)
    pks = ids_by_key(session, key, pk, wanted)
    added: Dict[int, int] = defaultdict(int)
    for session_id in wanted:
        if session_id in pks:
            continue
        statement = SESSION.insert().values(
            session_id=session_id, notebook_id=notebooks[session_id], created_at=now, event_count=0
        )
        if insert_or_skip(session, statement):
            added[notebooks[session_id]] += 1
    pks.update(ids_by_key(session, key, pk, [s for s in wanted if s not in pks]))
    return pks, dict(added)


def _issues(
    session: Session,
    events: Dict[str, CleanEvent],
    prints: Dict[str, str],
    times: Dict[str, datetime],
    notebook_ids: Dict[str, int],
) -> Tuple[Dict[str, int], Set[int]]:
    """Issue ids by fingerprint, creating issues (with zero counts) for new fingerprints."""
    first_by_print: Dict[str, str] = {}
    for event_id in sorted(events, key=lambda k: (times[k], k)):
        first_by_print.setdefault(prints[event_id], event_id)
    wanted = sorted(first_by_print)
    key, pk = ISSUE.c.fingerprint, ISSUE.c.id
    ids = ids_by_key(session, key, pk, wanted)
    created: List[str] = []
    for fingerprint in wanted:
        if fingerprint in ids:
            continue
        event = events[first_by_print[fingerprint]]
        when = times[first_by_print[fingerprint]]
        statement = ISSUE.insert().values(
            notebook_id=notebook_ids[event.notebook],
            fingerprint=fingerprint,
            error_name=event.error_name,
            message=event.error_message,
            culprit=grouping.culprit(event.traceback),
            status="open",
            regression=False,
            event_count=0,
            session_count=0,
            first_seen=when,
            last_seen=when,
        )
        if insert_or_skip(session, statement):
            created.append(fingerprint)
    ids.update(ids_by_key(session, key, pk, [f for f in wanted if f not in ids]))
    return ids, {ids[f] for f in created}


def _event_row(
    event: CleanEvent, issue_id: int, session_pk: int, notebook_id: int, when: datetime, received: datetime
) -> Dict[str, Any]:
    return {
        "event_id": event.event_id,
        "issue_id": issue_id,
        "session_pk": session_pk,
        "notebook_id": notebook_id,
        "error_name": event.error_name,
        "error_message": event.error_message,
        "traceback": list(event.traceback),
        "first_line": event.first_line,
        "execution_count": event.execution_count,
        "occurred_at": when,
        "received_at": received,
        "client": event.client,
        "source": event.source,
    }
