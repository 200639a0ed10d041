"""Storing reports: idempotent on ``event_id``, grouped into issues, counters updated, one transaction.

``ingest_events`` takes scrubbed ``CleanEvent``s and returns, in order, what became of each:
created (with its issue) or a duplicate of one already stored (with that one's issue):

* Idempotency: ``event.event_id`` is unique. The reports are inserted with ``INSERT ... ON
  CONFLICT DO NOTHING RETURNING``: the ids created here are known; any other was stored before
  (or by a concurrent retry) and is looked up for its issue.
* Get-or-create of notebooks, sessions and issues: ids this process has already seen committed
  come from ``KnownIds`` (they never change); the rest are inserted the same way, then read.
* The reports and their counters: on SQLite one statement per table (``_store.insert_keyed``, then
  ``_counters``), as Core constructs built once: on this path SQLAlchemy's statement building and
  ORM bookkeeping cost more than the database itself. On PostgreSQL one statement for all of it
  (``_pg_ingest``); when every id was known, nothing else is sent and it runs in autocommit, a
  transaction by itself (``_connection``). ``known_rows`` gives the same rows to the event loop,
  which sends that statement itself (``postgres_in_loop``).
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
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from .. import grouping
from ..alerts import outbox
from ..core.types import utcnow
from ..scrub import CleanEvent
from .known_ids import KnownIds, pair_key
from .postgres.statement import store_and_count
from .sqlite.counters import add_issue_sessions, add_to_days, bump_issues, bump_rows
from .tables import EVENT, ISSUE, NOTEBOOK, SESSION, ids_by_key, insert_keyed, insert_new

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
    # PostgreSQL's one statement (``_pg_ingest``) stored the regressions' alerts itself.
    regression_alerts_stored: bool = False


def effective_times(occurred: Dict[str, datetime], received_at: datetime) -> Dict[str, datetime]:
    """The reports' times as stored: each client's, clamped to [arrival - 30 days, arrival]."""
    earliest = received_at - MAX_CLOCK_SKEW_BACK
    return {key: min(max(when, earliest), received_at) for key, when in occurred.items()}


def ingest_events(
    *,
    session: Session,
    events: Sequence[CleanEvent],
    client_dropped: int = 0,
    received_at: Optional[datetime] = None,
    known: Optional[KnownIds] = None,
) -> IngestSummary:
    """Store ``events`` in one transaction (committed here); see the module docstring.

    ``known``: the ids remembered across calls (the server's ``ServerState.known_ids``); without
    it, every id is read from the database.
    """
    received = received_at or utcnow()
    remembered = known if known is not None else KnownIds()
    for attempt in range(DEADLOCK_RETRIES + 1):
        learned: Dict[str, Dict[str, int]] = {table: {} for table in KnownIds.TABLES}
        try:
            summary = _ingest_once(session, list(events), client_dropped, received, remembered, learned)
            # The alert outbox, in the same transaction: an alert exists exactly when its issue does.
            outbox.enqueue(
                session=session,
                new=summary.new_issue_ids,
                regressed=() if summary.regression_alerts_stored else summary.regressed_issue_ids,
                now=received,
            )
            session.commit()
            remembered.learn(learned)
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
    session: Session,
    events: List[CleanEvent],
    client_dropped: int,
    received: datetime,
    known: KnownIds,
    learned: Dict[str, Dict[str, int]],
) -> IngestSummary:
    new = _unique(events)
    prints = _fingerprints(new)
    connection = _connection(session, new, prints, client_dropped, known)

    names = {event.notebook for event in new.values()}
    if client_dropped and events:
        names.add(events[0].notebook)
    notebook_ids = _notebooks(connection, names, received, known, learned) if names else {}
    stored: Dict[str, int] = {}
    new_issue_ids: Set[int] = set()
    regressed: Set[int] = set()
    created: Set[str] = set()
    per_notebook: Dict[int, List[datetime]] = defaultdict(list)
    new_sessions: Dict[int, int] = {}
    if new:
        session_pks, new_sessions = _sessions(
            connection,
            {e.session_id: notebook_ids[e.notebook] for e in new.values()},
            received,
            known,
            learned,
        )
        times = effective_times({event_id: e.occurred_at for event_id, e in new.items()}, received)
        issue_ids, new_issue_ids = _issues(connection, new, prints, times, notebook_ids, known, learned)
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
        if connection.dialect.name == "postgresql":  # inserted and counted by one statement
            done = store_and_count(connection, rows, received)
            created, regressed = set(done.created), done.regressed
            stored.update(done.created)
        else:
            created = insert_keyed(session, EVENT, rows, "event_id")
            for event_id in created:
                stored[event_id] = issue_ids[prints[event_id]]
            regressed = _count(
                connection,
                [(new[k], times[k], stored[k]) for k in sorted(created)],
                session_pks,
                received,
                known,
                learned,
            )
            for event_id in created:
                per_notebook[notebook_ids[new[event_id].notebook]].append(times[event_id])
        # Reports stored before (retries) keep the issue they were stored with.
        stored.update(_stored_issue_ids(connection, sorted(set(new) - created)))
        new_issue_ids &= {stored[k] for k in created}
    # Notebook rows last of all (the global lock order).
    dropped_by = notebook_ids[events[0].notebook] if client_dropped and events else None
    rows_to_bump = {pk: (len(w), max(w) if w else None) for pk, w in per_notebook.items()}
    for pk in list(new_sessions) + ([dropped_by] if dropped_by is not None else []):
        rows_to_bump.setdefault(pk, (0, None))
    extra = {"session_count": new_sessions}
    if dropped_by is not None:
        extra["client_dropped"] = {dropped_by: client_dropped}
    bump_rows(connection, NOTEBOOK, rows_to_bump, extra)

    results = results_in_order(events, stored, created)
    return IngestSummary(results, new_issue_ids, regressed, connection.dialect.name == "postgresql")


def results_in_order(
    events: Sequence[CleanEvent], stored: Dict[str, int], created: Set[str]
) -> List[IngestResult]:
    """Each report's result, in order: its issue (``stored``) and whether it was ``created`` now; a
    report repeated inside one call is created once, then a duplicate."""
    results: List[IngestResult] = []
    seen: Set[str] = set()
    for event in events:
        key = event.event_id
        results.append(IngestResult(key, stored[key], key in created and key not in seen))
        seen.add(key)
    return results


def _unique(events: Sequence[CleanEvent]) -> Dict[str, CleanEvent]:
    """The reports by event id, each id's first report (a repeat inside one call is not stored twice)."""
    new: Dict[str, CleanEvent] = {}
    for event in events:
        new.setdefault(event.event_id, event)
    return new


def _remembered(
    new: Dict[str, CleanEvent], prints: Dict[str, str], known: KnownIds
) -> Optional[Tuple[Dict[str, int], Dict[str, int], Dict[str, int]]]:
    """The notebook, session and issue ids of ``new`` if ``known`` remembers every one, else None."""
    (notebooks, missing_notebooks), (sessions, missing_sessions), (issues, missing_issues) = (
        known.lookup("notebook", {e.notebook for e in new.values()}),
        known.lookup("session", {e.session_id for e in new.values()}),
        known.lookup("issue", set(prints.values())),
    )
    if missing_notebooks or missing_sessions or missing_issues:
        return None
    return notebooks, sessions, issues


def known_rows(
    events: Sequence[CleanEvent], known: KnownIds, received: datetime
) -> Optional[List[Dict[str, Any]]]:
    """The event rows, sorted by event id, that PostgreSQL's one statement (``_pg_ingest``) stores
    as they are, or None if any id must first be read or made (pure: ``known`` is memory)."""
    new = _unique(events)
    prints = _fingerprints(new)
    remembered = _remembered(new, prints, known)
    if remembered is None:
        return None
    notebooks, sessions, issues = remembered
    times = effective_times({key: e.occurred_at for key, e in new.items()}, received)
    return [
        _event_row(e, issues[prints[k]], sessions[e.session_id], notebooks[e.notebook], times[k], received)
        for k, e in sorted(new.items())
    ]


def _connection(
    session: Session, new: Dict[str, CleanEvent], prints: Dict[str, str], client_dropped: int, known: KnownIds
) -> Connection:
    """The session's connection; on PostgreSQL in autocommit when the whole ingest is the one
    statement of ``_pg_ingest`` (every row id known, no dropped count to add), which is a
    transaction by itself: no BEGIN and COMMIT round trips, for which a group's callers all wait."""
    if session.get_bind().dialect.name != "postgresql" or client_dropped or not new:
        return session.connection()
    if _remembered(new, prints, known) is None:
        return session.connection()
    return session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def _fingerprints(events: Dict[str, CleanEvent]) -> Dict[str, str]:
    """Each report's fingerprint, computed once per notebook, error and traceback object: reports
    with the same frames share one traceback tuple (``scrub``), and they are all alive here, so an
    id stands for one traceback."""
    computed: Dict[Tuple[str, str, int], str] = {}
    prints: Dict[str, str] = {}
    for event_id, e in events.items():
        key = (e.notebook, e.error_name, id(e.traceback))
        found = computed.get(key)
        if found is None:
            found = computed[key] = grouping.fingerprint(e.notebook, e.error_name, e.traceback)
        prints[event_id] = found
    return prints


def _count(
    connection: Connection,
    inserted: List[Tuple[CleanEvent, datetime, int]],
    session_pks: Dict[str, int],
    received: datetime,
    known: KnownIds,
    learned: Dict[str, Dict[str, int]],
) -> Set[int]:
    """All counters but the notebooks' for the inserted events; the issues that regressed.

    Issue-session pairs already committed (``known``) are not sent again: they are not new.
    """
    if not inserted:
        return set()
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
    by_key = {pair_key(issue_id, pk): (issue_id, pk) for issue_id, pk in pairs}
    _, unknown = known.lookup("issue_session", by_key)
    new_pairs = add_issue_sessions(connection, {by_key[key] for key in unknown})
    learned["issue_session"].update(dict.fromkeys(unknown, 1))  # every one exists once this commits
    regressed = bump_issues(connection, per_issue, new_pairs, received)
    add_to_days(connection, per_day)
    bump_rows(connection, SESSION, {pk: (len(w), max(w)) for pk, w in per_session.items()})
    return regressed


def _stored_issue_ids(connection: Connection, event_ids: List[str]) -> Dict[str, int]:
    """``{event_id: issue_id}`` of the events already stored."""
    return ids_by_key(connection, EVENT.c.event_id, EVENT.c.issue_id, event_ids)


def _get_or_create(
    connection: Connection,
    table: str,
    key: Any,
    keys: Iterable[str],
    make_row: Callable[[str], Dict[str, Any]],
    known: KnownIds,
    learned: Dict[str, Dict[str, int]],
) -> Tuple[Dict[str, int], Set[str]]:
    """Row ids by key (remembered, found, or inserted now); and the keys inserted by this transaction."""
    ids, missing = known.lookup(table, keys)
    if not missing:
        return ids, set()
    found = ids_by_key(connection, key, key.table.c.id, missing)
    rows = [make_row(k) for k in missing if k not in found]
    made = {str(k): int(i) for k, i in insert_new(connection, key.table, rows, (key.name,), (key.name, "id"))}
    found.update(made)
    if len(found) < len(missing):  # inserted by a concurrent transaction since we looked
        found.update(ids_by_key(connection, key, key.table.c.id, [k for k in missing if k not in found]))
    learned[table].update(found)
    ids.update(found)
    return ids, set(made)


def _notebooks(
    connection: Connection,
    names: Set[str],
    now: datetime,
    known: KnownIds,
    learned: Dict[str, Dict[str, int]],
) -> Dict[str, int]:
    def make_row(name: str) -> Dict[str, Any]:
        return {"name": name, "created_at": now}

    ids, _ = _get_or_create(connection, "notebook", NOTEBOOK.c.name, names, make_row, known, learned)
    return ids


def _sessions(
    connection: Connection,
    notebooks: Dict[str, int],
    now: datetime,
    known: KnownIds,
    learned: Dict[str, Dict[str, int]],
) -> Tuple[Dict[str, int], Dict[int, int]]:
    """Session row ids by session id, and how many sessions are new, per notebook."""

    def make_row(session_id: str) -> Dict[str, Any]:
        return {
            "session_id": session_id,
            "notebook_id": notebooks[session_id],
            "created_at": now,
            "event_count": 0,
        }

    pks, made = _get_or_create(
        connection, "session", SESSION.c.session_id, notebooks, make_row, known, learned
    )
    added: Dict[int, int] = defaultdict(int)
    for session_id in made:
        added[notebooks[session_id]] += 1
    return pks, dict(added)


def _issues(
    connection: Connection,
    events: Dict[str, CleanEvent],
    prints: Dict[str, str],
    times: Dict[str, datetime],
    notebook_ids: Dict[str, int],
    known: KnownIds,
    learned: Dict[str, Dict[str, int]],
) -> Tuple[Dict[str, int], Set[int]]:
    """Issue ids by fingerprint, creating issues (with zero counts) for new fingerprints."""
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

    ids, made = _get_or_create(
        connection, "issue", ISSUE.c.fingerprint, first_by_print, make_row, known, learned
    )
    return ids, {ids[f] for f in made}


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
        "traceback": event.traceback,  # a tuple, shared by reports with the same frames: a JSON array
        "first_line": event.first_line,
        "execution_count": event.execution_count,
        "occurred_at": when,
        "received_at": received,
        "client": event.client,
        "source": event.source,
    }
