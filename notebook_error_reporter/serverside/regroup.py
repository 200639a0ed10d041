"""Regroup the stored reports by today's fingerprint, in one transaction on a connection.

Run by migration 0003 and by ``notebook-error-server regroup``. The reports are read in id order,
each fingerprinted as ingest would (``notebook_error_reporter.fingerprint``), ``regroup_plan``
decides the issues, and this module writes them: reports moved, counters and daily and session
rows rewritten, alerts (and any other row pointing at a deleted issue) moved to its successor.
Running it again changes nothing.

The tables are described here with the columns this needs, not taken from the models, so the
migration keeps working when later revisions add columns; the note columns of 0005 are read and
written only where they exist. Stop the server while regrouping: a running one remembers issue ids
by fingerprint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Dict, Iterator, List, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy import Connection

from .. import fingerprint as rule
from .core.types import UTCDateTime
from .grouping import culprit, remember
from .note_rules import NOTE_FIELDS
from .regroup_plan import NewIssue, OldIssue, Part, Plan, plan

CHUNK = 1000
MEMO_SIZE = 10_000
_TEMPORARY = "regroup:"  # fingerprints of rows being rewritten, never a real (hex) one

ISSUE = sa.table(
    "issue",
    sa.column("id", sa.Integer()),
    sa.column("notebook_id", sa.Integer()),
    sa.column("fingerprint", sa.String()),
    sa.column("error_name", sa.String()),
    sa.column("message", sa.Text()),
    sa.column("culprit", sa.Text()),
    sa.column("status", sa.String()),
    sa.column("regression", sa.Boolean()),
    sa.column("regressed_at", UTCDateTime()),
    sa.column("status_changed_at", UTCDateTime()),
    sa.column("event_count", sa.BigInteger()),
    sa.column("session_count", sa.BigInteger()),
    sa.column("first_seen", UTCDateTime()),
    sa.column("last_seen", UTCDateTime()),
    *(sa.column(name, sa.Text()) for name in NOTE_FIELDS),  # only from migration 0005 on
)
EVENT = sa.table(
    "event",
    sa.column("id", sa.BigInteger()),
    sa.column("issue_id", sa.Integer()),
    sa.column("session_pk", sa.Integer()),
    sa.column("notebook_id", sa.Integer()),
    sa.column("error_name", sa.String()),
    sa.column("error_message", sa.Text()),
    sa.column("traceback", sa.JSON()),
    sa.column("first_line", sa.Text()),
    sa.column("execution_count", sa.Integer()),
    sa.column("occurred_at", UTCDateTime()),
    sa.column("custom_fingerprint", sa.JSON()),
)
NOTEBOOK = sa.table("notebook", sa.column("id", sa.Integer()), sa.column("name", sa.String()))
ISSUE_DAY = sa.table(
    "issue_day",
    sa.column("issue_id", sa.Integer()),
    sa.column("day", sa.Date()),
    sa.column("count", sa.BigInteger()),
)
ISSUE_SESSION = sa.table(
    "issue_session", sa.column("issue_id", sa.Integer()), sa.column("session_pk", sa.Integer())
)
ISSUE_VERSION = sa.table(  # only from migration 0006 on
    "issue_version", sa.column("issue_id", sa.Integer()), sa.column("version", sa.String())
)
_REBUILT = {"event", "issue", "issue_day", "issue_session", "issue_version"}


@dataclass(frozen=True)
class Summary:
    """What regrouping did."""

    reports: int
    reports_moved: int
    issues_before: int
    issues_after: int


def regroup(connection: Connection) -> Summary:
    """Put every stored report into the issue today's fingerprint gives it (the caller commits)."""
    old = _old_issues(connection)
    reports, rows = _read_reports(connection)
    changes = plan(
        old.values(), {issue_id: {fp: part for fp, (part, _) in by.items()} for issue_id, by in rows.items()}
    )
    moved = _write(connection, changes, rows) if not changes.unchanged else 0
    after = connection.execute(sa.select(sa.func.count()).select_from(ISSUE)).scalar_one()
    return Summary(reports, moved, len(old), int(after))


def _old_issues(connection: Connection) -> Dict[int, OldIssue]:
    columns = [c for c in ISSUE.c if c.name not in ("session_count", *NOTE_FIELDS)]
    present = {column["name"] for column in sa.inspect(connection).get_columns("issue")}
    notes = [ISSUE.c[name] for name in NOTE_FIELDS if name in present]
    issues = {
        row.id: OldIssue(
            **{c.name: getattr(row, c.name) for c in columns},
            notes={c.name: getattr(row, c.name) for c in notes},
        )
        for row in connection.execute(sa.select(*columns, *notes))
    }
    for issue_id, day, count in connection.execute(
        sa.select(ISSUE_DAY.c.issue_id, ISSUE_DAY.c.day, ISSUE_DAY.c["count"])
    ):
        issues[issue_id].days[_as_date(day)] = int(count)
    for issue_id, session_pk in connection.execute(
        sa.select(ISSUE_SESSION.c.issue_id, ISSUE_SESSION.c.session_pk)
    ):
        issues[issue_id].sessions.add(session_pk)
    return issues


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


Rows = Dict[int, Dict[str, Tuple[Part, List[int]]]]


def _read_reports(connection: Connection) -> Tuple[int, Rows]:
    """Every report's new fingerprint, as parts by old issue and fingerprint, with their row ids.

    Reports of one cell mostly share their frames' JSON text: the place (and culprit) is worked
    out once per text, first line and count, and the key once per place and the rest.
    """
    names = dict(connection.execute(sa.select(NOTEBOOK.c.id, NOTEBOOK.c.name)).all())
    places: Dict[Tuple[str, str, int], Tuple[rule.Place, bool, str]] = {}
    keys: Dict[Tuple[Any, ...], str] = {}
    rows: Rows = {}
    total = 0
    for row in _reports(connection):
        total += 1
        place_key = (row.traceback, row.first_line, row.execution_count)
        known = places.get(place_key)
        if known is None:
            frames = json.loads(row.traceback or "[]")
            where = rule.place(frames, row.first_line, row.execution_count)
            known = remember(places, place_key, (where, rule.has_cell(where), culprit(frames)), MEMO_SIZE)
        where, cell_named, culprit_ = known
        message = rule.message_key(row.error_name, row.error_message, cell_named)
        key = (place_key, row.notebook_id, row.error_name, message, row.custom_fingerprint)
        fp = keys.get(key)
        if fp is None:
            custom = json.loads(row.custom_fingerprint) if row.custom_fingerprint else None
            digest = rule.combine(
                names[row.notebook_id], row.error_name, where, message, tuple(custom or ()) or None
            )
            fp = remember(keys, key, digest, MEMO_SIZE)
        part, ids = rows.setdefault(row.issue_id, {}).setdefault(fp, (Part(), []))
        part.add(row.id, row.occurred_at, row.session_pk, (row.error_name, row.error_message, culprit_))
        ids.append(row.id)
    return total, rows


def _reports(connection: Connection) -> Iterator[Any]:
    """The reports in id order, a chunk at a time (a big database need not fit in memory twice);
    the JSON columns as their text, decoded only when it is new."""
    columns = [
        sa.cast(c, sa.Text()).label(c.name) if c.name in ("traceback", "custom_fingerprint") else c
        for c in EVENT.c
    ]
    last = -1
    while True:
        chunk = connection.execute(
            sa.select(*columns).where(EVENT.c.id > last).order_by(EVENT.c.id).limit(CHUNK)
        ).all()
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].id


def _write(connection: Connection, changes: Plan, rows: Rows) -> int:
    rewritten = [issue.id for issue in changes.issues if issue.id is not None] + list(changes.renamed)
    for ids in _chunks(rewritten + changes.deleted):
        connection.execute(
            ISSUE.update()
            .where(ISSUE.c.id.in_(ids))
            .values(fingerprint=sa.literal(_TEMPORARY) + sa.cast(ISSUE.c.id, sa.String()))
        )
    ids_by_print = _issue_ids(connection, changes.issues)
    ids_by_print.update({fp: issue_id for issue_id, fp in changes.renamed.items()})
    moved = _move_reports(connection, rows, ids_by_print)
    touched = [ids_by_print[issue.fingerprint] for issue in changes.issues] + changes.deleted
    for ids in _chunks(touched):
        connection.execute(ISSUE_DAY.delete().where(ISSUE_DAY.c.issue_id.in_(ids)))
        connection.execute(ISSUE_SESSION.delete().where(ISSUE_SESSION.c.issue_id.in_(ids)))
    _insert(
        connection,
        ISSUE_DAY,
        [
            {"issue_id": ids_by_print[i.fingerprint], "day": day, "count": n}
            for i in changes.issues
            for day, n in sorted(i.days.items())
        ],
    )
    _insert(
        connection,
        ISSUE_SESSION,
        [
            {"issue_id": ids_by_print[i.fingerprint], "session_pk": pk}
            for i in changes.issues
            for pk in sorted(i.sessions)
        ],
    )
    if sa.inspect(connection).has_table("issue_version"):
        _rebuild_versions(connection, touched)
    heirs = {old: ids_by_print[changes.successor[old]] for old in changes.deleted}
    for table, column in _references(connection):
        for old, new in heirs.items():
            connection.execute(
                sa.table(table, sa.column(column))
                .update()
                .where(sa.column(column) == old)
                .values({column: new})
            )
    for ids in _chunks(changes.deleted):
        connection.execute(ISSUE.delete().where(ISSUE.c.id.in_(ids)))
    for issue in changes.issues:
        connection.execute(
            ISSUE.update().where(ISSUE.c.id == ids_by_print[issue.fingerprint]).values(_issue_values(issue))
        )
    for issue_id, fp in changes.renamed.items():
        connection.execute(ISSUE.update().where(ISSUE.c.id == issue_id).values(fingerprint=fp))
    return moved


def _rebuild_versions(connection: Connection, issue_ids: List[int]) -> None:
    """The versions the ``issue_ids`` were reported from, again from their reports (once moved)."""
    version = sa.column("notebook_version", sa.String())
    for ids in _chunks(issue_ids):
        connection.execute(ISSUE_VERSION.delete().where(ISSUE_VERSION.c.issue_id.in_(ids)))
        reported = (
            sa.select(EVENT.c.issue_id, version)
            .select_from(EVENT)
            .where(EVENT.c.issue_id.in_(ids), version.is_not(None))
            .distinct()
        )
        connection.execute(ISSUE_VERSION.insert().from_select(["issue_id", "version"], reported))


def _issue_ids(connection: Connection, issues: Sequence[NewIssue]) -> Dict[str, int]:
    """Ids of the new issues by fingerprint: kept ones as planned, the others inserted now."""
    ids: Dict[str, int] = {}
    for number, issue in enumerate(issues):
        if issue.id is not None:
            ids[issue.fingerprint] = issue.id
            continue
        values = dict(_issue_values(issue), fingerprint=f"{_TEMPORARY}new:{number}")
        ids[issue.fingerprint] = connection.execute(
            ISSUE.insert().values(values).returning(ISSUE.c.id)
        ).scalar_one()
    return ids


def _issue_values(issue: NewIssue) -> Dict[str, Any]:
    return {
        "notebook_id": issue.notebook_id,
        "fingerprint": issue.fingerprint,
        "error_name": issue.error_name,
        "message": issue.message,
        "culprit": issue.culprit,
        "status": issue.status,
        "regression": issue.regression,
        "regressed_at": issue.regressed_at,
        "status_changed_at": issue.status_changed_at,
        "event_count": issue.event_count,
        "session_count": len(issue.sessions),
        "first_seen": issue.first_seen,
        "last_seen": issue.last_seen,
        **issue.notes,
    }


def _move_reports(connection: Connection, rows: Rows, ids_by_print: Dict[str, int]) -> int:
    moved = 0
    for old, by_print in rows.items():
        for fp, (_, event_ids) in by_print.items():
            target = ids_by_print.get(fp, old)
            if target == old:
                continue
            for ids in _chunks(event_ids):
                connection.execute(EVENT.update().where(EVENT.c.id.in_(ids)).values(issue_id=target))
            moved += len(event_ids)
    return moved


def _references(connection: Connection) -> List[Tuple[str, str]]:
    """(table, column) of every other foreign key to ``issue.id`` (the alert outbox, and any later one)."""
    inspector = sa.inspect(connection)
    found: List[Tuple[str, str]] = []
    for table in inspector.get_table_names():
        if table in _REBUILT:
            continue
        for key in inspector.get_foreign_keys(table):
            if key.get("referred_table") == "issue" and len(key["constrained_columns"]) == 1:
                found.append((table, key["constrained_columns"][0]))
    return found


def _insert(connection: Connection, table: Any, rows: List[Dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        connection.execute(table.insert(), rows[start : start + CHUNK])


def _chunks(ids: Sequence[int]) -> Iterator[List[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])
