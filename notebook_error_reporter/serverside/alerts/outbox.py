"""The alert outbox, as keyword-only functions on a database session (no HTTP, no threads).

Ingest calls :func:`enqueue` inside its own transaction: one plain INSERT per alert and target,
nothing read, nothing locked, so alerts can neither slow nor fail ingest. Every target gets its
row whether configured or not (ingest does not know the settings, and servers sharing a database
may differ); a deliverer sends the rows of the targets it has, and rows still pending after a day
expire (:func:`expire`). A target configured later gets what waits as one digest.

Claiming is one UPDATE whose WHERE re-checks the lease: on SQLite the write lock serialises
claimers, on PostgreSQL a second claimer waiting on a row re-evaluates the WHERE against the
winner's update and skips it. Each row is therefore claimed by one deliverer at a time, and a
deliverer that died leaves a lease that simply runs out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, Iterable, List, Optional, Sequence

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from ..core.queries import insert_or_skip
from ..models import EVENT, ISSUE, NOTEBOOK, table_of
from .models import MAX_ERROR_CHARS, TARGETS, Alert, AlertTarget

ALERT = table_of(Alert)
TARGET = table_of(AlertTarget)
CLAIM_LIMIT = 500


@dataclass(frozen=True)
class PendingTarget:
    """What waits for one target: how many alerts, when the earliest may be tried, the oldest's age."""

    target: str
    count: int
    next_attempt_at: datetime
    oldest_created_at: datetime


@dataclass(frozen=True)
class ClaimedAlert:
    """A claimed alert with what a message about it needs (read when sending, so counts are fresh)."""

    alert_id: int
    kind: str
    attempts: int
    issue_id: int
    notebook: str
    error_name: str
    message: str
    first_line: str
    culprit: str
    event_count: int
    session_count: int
    first_seen: datetime
    last_seen: datetime


def enqueue(*, session: Session, new: Iterable[int], regressed: Iterable[int], now: datetime) -> int:
    """Insert the alerts of one ingest transaction (not committed here); how many rows."""
    rows = alert_rows(new=new, regressed=regressed, now=now)
    if rows:
        session.execute(ALERT.insert(), rows)
    return len(rows)


def alert_rows(*, new: Iterable[int], regressed: Iterable[int], now: datetime) -> List[Dict[str, object]]:
    """The rows ``enqueue`` inserts, each with the columns of ``ROW_COLUMNS``, in issue and target order."""
    return [
        _row(issue_id, kind, target, now)
        for kind, issue_ids in (("new", new), ("regression", regressed))
        for issue_id in sorted(issue_ids)
        for target in TARGETS
    ]


def _row(issue_id: int, kind: str, target: str, now: datetime) -> Dict[str, object]:
    return {
        "issue_id": issue_id,
        "kind": kind,
        "target": target,
        **_FRESH,
        "created_at": now,
        "next_attempt_at": now,
    }


# What every new alert row starts with, besides its issue, kind, target and times.
_FRESH: Dict[str, object] = {"status": "pending", "attempts": 0}
# The columns of every row ``alert_rows`` makes.
ROW_COLUMNS = ("issue_id", "kind", "target", *_FRESH, "created_at", "next_attempt_at")


def enqueue_sql(*, kind: str, issue_ids: str, now: str) -> str:
    """``enqueue``'s rows as PostgreSQL text, for a statement that finds the issues itself (the
    ingest statement's data-modifying CTE): ``issue_ids`` is a query of one column ``id``, ``now``
    the SQL of the time. The rows go in issue and target order; ``RETURNING issue_id``."""
    targets = ", ".join(f"('{target}')" for target in TARGETS)
    fresh = ", ".join(f"{value!r}" if isinstance(value, str) else str(value) for value in _FRESH.values())
    return f"""INSERT INTO alert (issue_id, kind, target, {", ".join(_FRESH)}, created_at, next_attempt_at)
    SELECT issues.id, '{kind}', targets.target, {fresh}, {now}, {now}
    FROM ({issue_ids}) AS issues CROSS JOIN (VALUES {targets}) AS targets(target)
    ORDER BY issues.id, targets.target
    RETURNING issue_id"""


def pending(*, session: Session) -> List[PendingTarget]:
    """Per target, the pending alerts (claimed or not); one cheap indexed read, for every poll."""
    statement = (
        select(ALERT.c.target, func.count(), func.min(ALERT.c.next_attempt_at), func.min(ALERT.c.created_at))
        .where(ALERT.c.status == "pending")
        .group_by(ALERT.c.target)
    )
    return [
        PendingTarget(str(target), int(count), due, oldest)
        for target, count, due, oldest in session.execute(statement)
    ]


def expire(*, session: Session, older_than: datetime, now: datetime) -> int:
    """Give up on alerts still pending after a day: for a target nobody configured, or one down
    that long (a day-old "new issue" is news no more; the issue itself is on the dashboard)."""
    result = session.execute(
        update(ALERT)
        .where(and_(ALERT.c.status == "pending", ALERT.c.created_at < older_than))
        .values(status="expired", finished_at=now, claimed_until=None, claim_token=None)
    )
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def last_sent_at(*, session: Session, target: str) -> Optional[datetime]:
    """When ``target`` last got a message (its digest window runs from there)."""
    when = session.execute(select(TARGET.c.last_sent_at).where(TARGET.c.target == target)).scalar()
    return when


def claim(
    *, session: Session, target: str, now: datetime, lease: timedelta, limit: int = CLAIM_LIMIT
) -> List[ClaimedAlert]:
    """Lease the due, unclaimed alerts of ``target`` (oldest first) and return them, committed."""
    token = uuid.uuid4().hex
    free = and_(
        ALERT.c.target == target,
        ALERT.c.status == "pending",
        ALERT.c.next_attempt_at <= now,
        or_(ALERT.c.claimed_until.is_(None), ALERT.c.claimed_until < now),
    )
    due = select(ALERT.c.id).where(free).order_by(ALERT.c.id).limit(limit).scalar_subquery()
    session.execute(
        update(ALERT)
        .where(and_(ALERT.c.id.in_(due), free))
        .values(claimed_until=now + lease, claim_token=token)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return _claimed(session, token)


def _claimed(session: Session, token: str) -> List[ClaimedAlert]:
    first_line = (
        select(EVENT.c.first_line)
        .where(EVENT.c.issue_id == ISSUE.c.id)
        .order_by(EVENT.c.id)
        .limit(1)
        .correlate(ISSUE)
        .scalar_subquery()
    )
    statement = (
        select(
            ALERT.c.id,
            ALERT.c.kind,
            ALERT.c.attempts,
            ISSUE.c.id,
            NOTEBOOK.c.name,
            ISSUE.c.error_name,
            ISSUE.c.message,
            first_line,
            ISSUE.c.culprit,
            ISSUE.c.event_count,
            ISSUE.c.session_count,
            ISSUE.c.first_seen,
            ISSUE.c.last_seen,
        )
        .join_from(ALERT, ISSUE, ISSUE.c.id == ALERT.c.issue_id)
        .join(NOTEBOOK, NOTEBOOK.c.id == ISSUE.c.notebook_id)
        .where(ALERT.c.claim_token == token)
        .order_by(ALERT.c.id)
    )
    claimed = [
        ClaimedAlert(
            alert_id=int(row[0]),
            kind=str(row[1]),
            attempts=int(row[2]),
            issue_id=int(row[3]),
            notebook=str(row[4]),
            error_name=str(row[5]),
            message=str(row[6]),
            first_line=str(row[7] or ""),
            culprit=str(row[8]),
            event_count=int(row[9]),
            session_count=int(row[10]),
            first_seen=row[11],
            last_seen=row[12],
        )
        for row in session.execute(statement)
    ]
    return claimed


def mark_sent(*, session: Session, target: str, alert_ids: Sequence[int], now: datetime) -> None:
    """Delivered: the alerts are done, the target is healthy and its digest window starts now."""
    _finish(session, alert_ids, status="sent", now=now, error=None)
    _set_target(session, target, last_sent_at=now, failing_since=None, last_failure_at=None, last_error=None)
    session.commit()


def mark_failed(
    *,
    session: Session,
    target: str,
    alert_ids: Sequence[int],
    now: datetime,
    error: str,
    retry_at: Optional[datetime],
) -> None:
    """Not delivered: retry at ``retry_at``, or give up (``None``); either way the target is failing."""
    error = error[:MAX_ERROR_CHARS]
    if retry_at is None:
        _finish(session, alert_ids, status="failed", now=now, error=error)
    else:
        session.execute(
            update(ALERT)
            .where(ALERT.c.id.in_(list(alert_ids)))
            .values(
                attempts=ALERT.c.attempts + 1,
                next_attempt_at=retry_at,
                claimed_until=None,
                claim_token=None,
                last_error=error,
            )
        )
    # Since the first failure after a success: keep an older failing_since, else start it now.
    since = func.coalesce(TARGET.c.failing_since, now)
    _set_target(
        session,
        target,
        failing_since=since,
        last_failure_at=now,
        last_error=error,
        insert_values={"failing_since": now},
    )
    session.commit()


def release(*, session: Session, alert_ids: Sequence[int]) -> None:
    """Hand claimed alerts back untouched (the deliverer is stopping before it could send)."""
    if alert_ids:
        session.execute(
            update(ALERT)
            .where(and_(ALERT.c.id.in_(list(alert_ids)), ALERT.c.status == "pending"))
            .values(claimed_until=None, claim_token=None)
        )
        session.commit()


def _finish(
    session: Session, alert_ids: Sequence[int], *, status: str, now: datetime, error: Optional[str]
) -> None:
    session.execute(
        update(ALERT)
        .where(ALERT.c.id.in_(list(alert_ids)))
        .values(
            status=status,
            finished_at=now,
            attempts=ALERT.c.attempts + 1,
            claimed_until=None,
            claim_token=None,
            last_error=error,
        )
    )


def _set_target(
    session: Session, target: str, insert_values: Optional[Dict[str, Any]] = None, **values: Any
) -> None:
    """Upsert the target's row (a concurrent first insert falls back to the update)."""
    changed = session.execute(update(TARGET).where(TARGET.c.target == target).values(**values))
    if changed.rowcount:  # type: ignore[attr-defined]
        return
    first = dict(values, **(insert_values or {}))
    if not insert_or_skip(session, TARGET.insert().values(target=target, **first)):
        session.execute(update(TARGET).where(TARGET.c.target == target).values(**values))


def pending_counts(*, session: Session) -> Dict[str, int]:
    """Pending alerts per target."""
    return {p.target: p.count for p in pending(session=session)}
