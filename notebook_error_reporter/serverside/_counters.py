"""The counters that make reads cheap, bumped in the ingest transaction for the events it inserted.

Order matters on PostgreSQL (see ``ingest.py``): issue-session pairs, issues, days, sessions and
notebooks last, each in sorted order. Rows are changed with one statement per table where
possible (``executemany`` of a parameterised UPDATE), so a batch of a hundred reports costs a
handful of round trips, not hundreds.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any, Dict, List, Optional, Set, Tuple

from sqlalchemy import Table, and_, bindparam, case, or_, select, tuple_
from sqlalchemy.orm import Session
from sqlmodel import col

from ._store import ISSUE_DAY, ISSUE_SESSION, chunks, insert_all, insert_or_skip
from .core.types import UTCDateTime
from .models import Issue


def add_issue_sessions(session: Session, pairs: Set[Tuple[int, int]]) -> Dict[int, int]:
    """Record which sessions met which issues; how many sessions are new, per issue."""
    ordered = sorted(pairs)
    existing: Set[Tuple[int, int]] = set()
    columns = (ISSUE_SESSION.c.issue_id, ISSUE_SESSION.c.session_pk)
    for chunk in chunks(ordered, 200):
        existing.update(
            (a, b) for a, b in session.execute(select(*columns).where(tuple_(*columns).in_(chunk)))
        )
    rows = [{"issue_id": i, "session_pk": s} for i, s in ordered if (i, s) not in existing]
    added: Dict[int, int] = defaultdict(int)
    for row in insert_all(session, ISSUE_SESSION, rows):
        added[row["issue_id"]] += 1
    return added


def bump_issues(
    session: Session, per_issue: Dict[int, List[datetime]], new_sessions: Dict[int, int], received: datetime
) -> Set[int]:
    """Counts, first/last seen, and reopening: returns the resolved issues that now regressed."""
    regressed: Set[int] = set()
    issues = session.scalars(
        select(Issue)
        .where(col(Issue.id).in_(sorted(per_issue)))
        .order_by(col(Issue.id))
        # FOR NO KEY UPDATE: our own event inserts hold FOR KEY SHARE on these rows (the foreign key
        # check) and so do concurrent ones; plain FOR UPDATE would conflict with them and deadlock.
        .with_for_update(key_share=True)
    ).all()
    for issue in issues:
        issue_id = int(issue.id or 0)
        whens = per_issue[issue_id]
        issue.event_count += len(whens)
        issue.session_count += new_sessions.get(issue_id, 0)
        issue.first_seen = min(issue.first_seen, *whens)
        issue.last_seen = max(issue.last_seen, *whens)
        if issue.status == "resolved":
            issue.status = "open"
            issue.regression = True
            issue.regressed_at = received
            issue.status_changed_at = received
            regressed.add(issue_id)
    session.flush()
    return regressed


def add_to_days(session: Session, per_day: Dict[Tuple[int, date], int]) -> None:
    """``issue_day.count += n``; a day met for the first time gets its row (a race falls back to +=)."""
    keys = sorted(per_day)
    columns = (ISSUE_DAY.c.issue_id, ISSUE_DAY.c.day)
    existing: Set[Tuple[int, date]] = set()
    for chunk in chunks(keys, 200):
        existing.update(
            (a, b) for a, b in session.execute(select(*columns).where(tuple_(*columns).in_(chunk)))
        )
    updates = [{"b_issue": i, "b_day": d, "b_n": per_day[(i, d)]} for i, d in keys if (i, d) in existing]
    for issue_id, day in keys:
        if (issue_id, day) in existing:
            continue
        row = ISSUE_DAY.insert().values(issue_id=issue_id, day=day, count=per_day[(issue_id, day)])
        if not insert_or_skip(session, row):
            updates.append({"b_issue": issue_id, "b_day": day, "b_n": per_day[(issue_id, day)]})
    if updates:
        statement = (
            ISSUE_DAY.update()
            .where(and_(ISSUE_DAY.c.issue_id == bindparam("b_issue"), ISSUE_DAY.c.day == bindparam("b_day")))
            .values(count=ISSUE_DAY.c.count + bindparam("b_n"))
        )
        session.execute(statement, sorted(updates, key=lambda u: (u["b_issue"], u["b_day"])))


def bump_rows(
    session: Session,
    table: Table,
    per_row: Dict[int, Tuple[int, Optional[datetime]]],
    extra: Optional[Dict[str, Dict[int, int]]] = None,
) -> None:
    """On session or notebook rows: ``event_count += n``, ``last_seen = max(last_seen, when)``, and
    ``column += k`` for each ``extra[column][row id]``; one executemany, rows in id order."""
    extra = extra or {}
    if not per_row:
        return
    c = table.c
    when = bindparam("b_when", type_=UTCDateTime())
    values: Dict[str, Any] = {
        "event_count": c.event_count + bindparam("b_n"),
        "last_seen": case((or_(c.last_seen.is_(None), c.last_seen < when), when), else_=c.last_seen),
    }
    for column in extra:
        values[column] = c[column] + bindparam(f"b_{column}")
    statement = table.update().where(c.id == bindparam("b_pk")).values(**values)
    params = [
        {
            "b_pk": pk,
            "b_n": count,
            "b_when": last,
            **{f"b_{column}": increments.get(pk, 0) for column, increments in extra.items()},
        }
        for pk, (count, last) in sorted(per_row.items())
    ]
    session.execute(statement, params)
