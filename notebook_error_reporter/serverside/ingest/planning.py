"""The pure steps of storing reports (no I/O): dedupe, fingerprints, times, event rows, results.

``transaction.py`` runs them around its statements; the event loop's PostgreSQL path
(``postgres/in_loop.py``) runs them alone when every id is remembered (``known_rows``).
See docs/design.md for how a report flows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from ..scrub import CleanEvent
from .known_ids import KnownIds

# A report's time comes from the user's clock: it is clamped into the 30 days before its arrival
# (a wrong clock must not put an issue's ``last_seen`` in 2099 or 1970), and stored so.
MAX_CLOCK_SKEW_BACK = timedelta(days=30)


@dataclass(frozen=True)
class IngestResult:
    """What became of one report: its issue, and whether it was created now (else a duplicate)."""

    event_id: str
    issue_id: int
    created: bool


def effective_times(occurred: Dict[str, datetime], received_at: datetime) -> Dict[str, datetime]:
    """The reports' times as stored: each client's, clamped to [arrival - 30 days, arrival]."""
    earliest = received_at - MAX_CLOCK_SKEW_BACK
    return {key: min(max(when, earliest), received_at) for key, when in occurred.items()}


def unique(events: Sequence[CleanEvent]) -> Dict[str, CleanEvent]:
    """The reports by event id, each id's first report (a repeat inside one call is not stored twice)."""
    new: Dict[str, CleanEvent] = {}
    for event in events:
        new.setdefault(event.event_id, event)
    return new


Lookup = Tuple[Dict[str, int], List[str]]


def _lookups(
    new: Dict[str, CleanEvent], prints: Dict[str, str], known: KnownIds
) -> Tuple[Lookup, Lookup, Lookup]:
    """``known.lookup`` of ``new``'s notebooks, sessions and issues: (remembered ids, missing keys) each."""
    return (
        known.lookup("notebook", {e.notebook for e in new.values()}),
        known.lookup("session", {e.session_id for e in new.values()}),
        known.lookup("issue", set(prints.values())),
    )


def remembered(
    new: Dict[str, CleanEvent], prints: Dict[str, str], known: KnownIds
) -> Optional[Tuple[Dict[str, int], Dict[str, int], Dict[str, int]]]:
    """The notebook, session and issue ids of ``new`` if ``known`` remembers every one, else None."""
    (notebooks, missing_notebooks), (sessions, missing_sessions), (issues, missing_issues) = _lookups(
        new, prints, known
    )
    if missing_notebooks or missing_sessions or missing_issues:
        return None
    return notebooks, sessions, issues


def event_row(
    event: CleanEvent, issue_id: int, session_pk: int, notebook_id: int, when: datetime, received: datetime
) -> Dict[str, Any]:
    """The ``event`` table's row of a report (``when``: its effective time)."""
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
        "custom_fingerprint": event.fingerprint,
        "notebook_version": event.notebook_version,
        "older_copy": False,  # old_copies.py decides, once the issue's fix is known
    }


def known_rows(
    new: Dict[str, CleanEvent], prints: Dict[str, str], known: KnownIds, received: datetime
) -> Optional[List[Dict[str, Any]]]:
    """The event rows of ``new`` (``unique``, with its ``fingerprints``), sorted by event id, if
    every id they need is remembered; else None (some id must first be read or made)."""
    found = remembered(new, prints, known)
    if found is None:
        return None
    notebooks, sessions, issues = found
    times = effective_times({key: e.occurred_at for key, e in new.items()}, received)
    return [
        event_row(e, issues[prints[k]], sessions[e.session_id], notebooks[e.notebook], times[k], received)
        for k, e in sorted(new.items())
    ]


def only_sessions_missing(
    new: Dict[str, CleanEvent], prints: Dict[str, str], known: KnownIds
) -> Optional[Dict[str, int]]:
    """``{session id: notebook id}`` of the sessions of ``new`` that ``known`` lacks, if they are
    all it lacks (every notebook and issue remembered); else None."""
    (notebooks, missing_notebooks), (_, missing_sessions), (_, missing_issues) = _lookups(new, prints, known)
    if missing_notebooks or missing_issues or not missing_sessions:
        return None
    wanted = set(missing_sessions)
    return {e.session_id: notebooks[e.notebook] for e in new.values() if e.session_id in wanted}


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


def created_results(events: Sequence[CleanEvent], created: Dict[str, int]) -> List[Optional[IngestResult]]:
    """``results_in_order`` for the reports ``created`` now (``{event id: issue id}``); None for the
    others, which were stored before and whose issue must be read."""
    results: List[Optional[IngestResult]] = []
    seen: Set[str] = set()
    for event in events:
        key = event.event_id
        issue_id = created.get(key)
        results.append(None if issue_id is None else IngestResult(key, issue_id, key not in seen))
        seen.add(key)
    return results


@dataclass(frozen=True)
class EventsWritten:
    """What a database's event write did: ``{event_id: issue_id}`` of the events it inserted (the
    others were stored before), the resolved issues it reopened, and the effective times of the
    inserted events per notebook whose counters are still to bump (empty where the write bumped
    them itself)."""

    created: Dict[str, int]
    regressed: Set[int]
    notebook_times: Dict[int, List[datetime]]
