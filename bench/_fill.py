"""Stored reports for the benches, written straight into a migrated database in bulk.

``grow`` adds reports to a database made by the server's own migrations, as a crowd of strangers
would have sent them: sessions of their own (a handful of reports each, close together in time),
spread over notebooks (a few big, most small) and over each notebook's issues (a Zipf-like spread),
over ``days`` days. Every counter matches the rows (notebook, session and issue counts, first and
last seen, the issue-days and the issue-session pairs), so the server reads the database as if it
had stored the reports itself. A database grows in steps: each call adds new sessions and adds to
the counters of the notebooks and issues already there, whoever stored them.

SQLite is written with ``sqlite3`` (``executemany`` in one transaction, the event indexes dropped
for the load and made again afterwards by their own stored SQL); PostgreSQL with ``COPY``
(``psycopg``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import sqlite3
import time
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

CHUNK = 100_000  # events per executemany / COPY batch
TRACEBACK = json.dumps(
    [
        {"filename": "<cell 7>", "fun_name": "<module>", "lineno": 2},
        {"filename": "pandas/core/frame.py", "fun_name": "__getitem__", "lineno": 3761},
    ]
)
CLIENT = json.dumps({"reporter": "0.2.0", "python": "3.11", "ipython": "8.12", "platform": "linux"})
STATUSES = ("open", "open", "open", "resolved", "ignored")
SESSION_COLUMNS = ("id", "session_id", "notebook_id", "created_at", "last_seen", "event_count")
EVENT_COLUMNS = (
    "id", "event_id", "issue_id", "session_pk", "notebook_id", "error_name", "error_message",
    "traceback", "first_line", "execution_count", "occurred_at", "received_at", "client", "source",
)  # fmt: skip


@dataclass(frozen=True)
class Crowd:
    """Who sends the reports: ``notebooks`` names (the first gets the most reports, as 1/rank),
    ``issues`` per notebook, sessions of ``reports_per_session`` reports on average, over the
    ``days`` days before now."""

    notebooks: Tuple[str, ...]
    issues: int = 300
    reports_per_session: int = 10
    days: int = 90
    seed: int = 6


@dataclass
class Grown:
    """What one ``grow`` call wrote."""

    events: int = 0
    sessions: int = 0
    issues_made: int = 0
    issue_days: int = 0
    issue_sessions: int = 0
    seconds: float = 0.0
    per_issue: Counter[int] = field(default_factory=Counter)  # reports of this call per issue id

    @property
    def top_issue(self) -> int:
        return self.per_issue.most_common(1)[0][0]


def stamp(moment: datetime) -> str:
    """A naive UTC datetime as SQLAlchemy's SQLite dialect stores it (no offset)."""
    return moment.isoformat(sep=" ", timespec="microseconds")


def utc_naive(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def fingerprint(notebook: str, rank: int) -> str:
    return hashlib.sha256(f"bench-fill {notebook} {rank}".encode()).hexdigest()


# -- the rows (pure: no I/O) ------------------------------------------------------------------------
@dataclass
class Tally:
    """The counters a step adds, gathered while its events are made; times are ``stamp`` strings
    (which sort in time order)."""

    per_issue: Counter[int] = field(default_factory=Counter)
    sessions_per_issue: Counter[int] = field(default_factory=Counter)
    per_day: Counter[Tuple[int, str]] = field(default_factory=Counter)
    first: Dict[int, str] = field(default_factory=dict)
    last: Dict[int, str] = field(default_factory=dict)
    per_notebook: Counter[int] = field(default_factory=Counter)
    sessions_per_notebook: Counter[int] = field(default_factory=Counter)
    notebook_last: Dict[int, str] = field(default_factory=dict)

    def add_session(self, notebook: int, issues: Sequence[int], times: Sequence[str]) -> None:
        """One session's reports (``issues[k]`` at ``times[k]``, in time order)."""
        self.per_notebook[notebook] += len(issues)
        self.sessions_per_notebook[notebook] += 1
        if times[-1] > self.notebook_last.get(notebook, ""):
            self.notebook_last[notebook] = times[-1]
        first, last, per_issue, per_day = self.first, self.last, self.per_issue, self.per_day
        for issue, at in zip(issues, times):
            per_issue[issue] += 1
            per_day[(issue, at[:10])] += 1
            if at < first.get(issue, "~"):
                first[issue] = at
            if at > last.get(issue, ""):
                last[issue] = at
        for issue in set(issues):
            self.sessions_per_issue[issue] += 1


@dataclass
class Chunk:
    """A batch of rows: sessions, their issue-session pairs and their events."""

    sessions: List[Tuple[Any, ...]] = field(default_factory=list)
    pairs: List[Tuple[int, int]] = field(default_factory=list)
    events: List[Tuple[Any, ...]] = field(default_factory=list)


def session_sizes(events: int, mean: int, rng: random.Random) -> List[int]:
    """Reports per session, from 1 to ``2 * mean - 1`` (``mean`` on average), adding up to ``events``."""
    sizes: List[int] = []
    left = events
    while left > 0:
        size = min(left, rng.randint(1, 2 * mean - 1))
        sizes.append(size)
        left -= size
    return sizes


def make_rows(
    events: int,
    crowd: Crowd,
    notebook_ids: Sequence[int],
    issue_ids: Sequence[Sequence[int]],
    first_event: int,
    first_session: int,
    now: datetime,
    tally: Tally,
) -> Iterator[Chunk]:
    """``events`` reports in chunks of about ``CHUNK``, sessions in time order, ids counting up from
    ``first_event`` and ``first_session``; ``tally`` gathers the counters they add."""
    rng = random.Random(crowd.seed * 1_000_003 + first_event)
    book_weights = list(accumulate(1 / rank for rank in range(1, len(notebook_ids) + 1)))
    issue_weights = list(accumulate(1 / rank**1.1 for rank in range(1, crowd.issues + 1)))
    sizes = session_sizes(events, crowd.reports_per_session, rng)
    span = crowd.days * 86400.0 - 3600  # a session's reports stay within its hour, before now
    origin = utc_naive(now - timedelta(days=crowd.days))
    per_chunk = max(1, CHUNK // crowd.reports_per_session)
    event, session = first_event, first_session
    ranks_all = range(crowd.issues)
    for begin in range(0, len(sizes), per_chunk):
        chunk = Chunk()
        part = sizes[begin : begin + per_chunk]
        window = span * len(part) / len(sizes)
        offset = span * begin / len(sizes)
        starts = sorted(offset + rng.random() * window for _ in part)
        for start, reports in zip(starts, part):
            book = bisect_left(book_weights, rng.random() * book_weights[-1])
            notebook, ids = notebook_ids[book], issue_ids[book]
            ranks = rng.choices(ranks_all, cum_weights=issue_weights, k=reports)
            seconds = sorted(start + rng.random() * 3600 for _ in ranks)
            times = [stamp(origin + timedelta(seconds=x)) for x in seconds]
            issues = [ids[rank] for rank in ranks]
            tally.add_session(notebook, issues, times)
            for rank, issue, at in zip(ranks, issues, times):
                chunk.events.append(
                    (event, f"{event:032x}", issue, session, notebook, f"Error{rank}",
                     f"message {event} of issue {issue}", TRACEBACK, f"df = load({event % 97})",
                     event % 50, at, at, CLIENT, "v1")
                )  # fmt: skip
                event += 1
            chunk.pairs.extend((issue, session) for issue in set(issues))
            chunk.sessions.append((session, f"{session:032x}", notebook, times[0], times[-1], reports))
            session += 1
        yield chunk


# -- SQLite ------------------------------------------------------------------------------------------
def _ensure_sqlite(
    db: sqlite3.Connection, crowd: Crowd, now: datetime
) -> Tuple[List[int], List[List[int]], int]:
    """The notebooks' and their issues' ids (made when missing, counters at zero); issues made."""
    origin = stamp(utc_naive(now - timedelta(days=crowd.days)))
    notebook_ids: List[int] = []
    issue_ids: List[List[int]] = []
    made = 0
    for name in crowd.notebooks:
        row = db.execute("SELECT id FROM notebook WHERE name = ?", (name,)).fetchone()
        if row is None:
            row = db.execute(
                "INSERT INTO notebook (name, created_at, event_count, session_count, client_dropped)"
                " VALUES (?, ?, 0, 0, 0) RETURNING id",
                (name, origin),
            ).fetchone()
        notebook_ids.append(row[0])
        ids = []
        for rank in range(crowd.issues):
            key = fingerprint(name, rank)
            found = db.execute("SELECT id FROM issue WHERE fingerprint = ?", (key,)).fetchone()
            if found is None:
                made += 1
                found = db.execute(
                    "INSERT INTO issue (notebook_id, fingerprint, error_name, message, culprit, status,"
                    " regression, event_count, session_count, first_seen, last_seen)"
                    " VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, ?, ?) RETURNING id",
                    (row[0], key, f"Error{rank}", f"message of issue {rank}: 'protein_id' not found",
                     "pandas/core/frame.py in __getitem__", STATUSES[rank % len(STATUSES)], origin, origin),
                ).fetchone()  # fmt: skip
            ids.append(found[0])
        issue_ids.append(ids)
    return notebook_ids, issue_ids, made


def _next_id(db: Any, table: str) -> int:
    return int(db.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}").fetchone()[0])


def _counter_updates(tally: Tally) -> Dict[str, List[Tuple[Any, ...]]]:
    return {
        "notebook": [
            (n, tally.sessions_per_notebook[book], tally.notebook_last[book], book)
            for book, n in tally.per_notebook.items()
        ],
        "issue": [
            (n, tally.sessions_per_issue[i], tally.first[i], tally.last[i], i)
            for i, n in tally.per_issue.items()
        ],
        "issue_day": [(issue, day, n) for (issue, day), n in sorted(tally.per_day.items())],
    }


NOTEBOOK_UPDATE = (
    "UPDATE notebook SET event_count = event_count + {p}, session_count = session_count + {p},"
    " last_seen = CASE WHEN last_seen IS NULL OR last_seen < {p} THEN {p} ELSE last_seen END WHERE id = {p}"
)
ISSUE_UPDATE = (
    "UPDATE issue SET event_count = event_count + {p}, session_count = session_count + {p},"
    " first_seen = CASE WHEN event_count = 0 OR first_seen > {p} THEN {p} ELSE first_seen END,"
    " last_seen = CASE WHEN event_count = 0 OR last_seen < {p} THEN {p} ELSE last_seen END WHERE id = {p}"
)
ISSUE_DAY_UPSERT = (
    "INSERT INTO issue_day (issue_id, day, count) VALUES ({p}, {p}, {p})"
    " ON CONFLICT (issue_id, day) DO UPDATE SET count = issue_day.count + excluded.count"
)


def _expand(sql: str, param: str, rows: List[Tuple[Any, ...]], repeat: Dict[int, int]) -> Tuple[str, list]:
    """``sql`` with ``{p}`` placeholders, and its rows with the values the CASEs use twice repeated."""
    text = sql.format(p=param)
    return text, [tuple(v for i, value in enumerate(row) for v in [value] * repeat.get(i, 1)) for row in rows]


def _update_counters(db: Any, tally: Tally, param: str) -> None:
    updates = _counter_updates(tally)
    # notebook: (events, sessions, last, id), the last seen bound twice by its CASE
    db.executemany(*_expand(NOTEBOOK_UPDATE, param, updates["notebook"], {2: 2}))
    # issue: (events, sessions, first, last, id), first and last seen bound twice each
    db.executemany(*_expand(ISSUE_UPDATE, param, updates["issue"], {2: 2, 3: 2}))
    db.executemany(ISSUE_DAY_UPSERT.format(p=param), updates["issue_day"])


def grow_sqlite(path: Path, events: int, crowd: Crowd, now: Optional[datetime] = None) -> Grown:
    """Add ``events`` reports of ``crowd`` to the SQLite database at ``path``."""
    started = time.perf_counter()
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    db = sqlite3.connect(path, isolation_level=None)
    # Straight into the file: through the WAL, every page would be written twice (and the WAL
    # would grow to the size of the load before its checkpoint).
    (journal,) = db.execute("PRAGMA journal_mode").fetchone()
    with contextlib.suppress(sqlite3.OperationalError):  # another connection is open: WAL it is
        db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-500000")  # 500 MB: the index builds sort in memory
    db.execute("BEGIN")
    indexes = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name='event' AND sql IS NOT NULL"
    ).fetchall()
    for name, _sql in indexes:
        db.execute(f'DROP INDEX "{name}"')
    notebook_ids, issue_ids, made = _ensure_sqlite(db, crowd, now)
    tally = Tally()
    grown = Grown(events=events, issues_made=made)
    columns = ", ".join(EVENT_COLUMNS)
    insert_event = f"INSERT INTO event ({columns}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
    first_event, first_session = _next_id(db, "event"), _next_id(db, "report_session")
    rows = make_rows(events, crowd, notebook_ids, issue_ids, first_event, first_session, now, tally)
    for chunk in rows:
        db.executemany(
            f"INSERT INTO report_session ({', '.join(SESSION_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)",
            chunk.sessions,
        )
        db.executemany("INSERT INTO issue_session (issue_id, session_pk) VALUES (?, ?)", chunk.pairs)
        db.executemany(insert_event, chunk.events)
        grown.sessions += len(chunk.sessions)
        grown.issue_sessions += len(chunk.pairs)
    _update_counters(db, tally, "?")
    for _name, sql in indexes:
        db.execute(sql)
    db.execute("COMMIT")
    db.execute(f"PRAGMA journal_mode={journal}")
    db.close()
    grown.issue_days = len(tally.per_day)
    grown.per_issue = tally.per_issue
    grown.seconds = time.perf_counter() - started
    return grown


# -- PostgreSQL -------------------------------------------------------------------------------------
def _ensure_pg(cursor: Any, crowd: Crowd, now: datetime) -> Tuple[List[int], List[List[int]], int]:
    origin = stamp(utc_naive(now - timedelta(days=crowd.days)))
    notebook_ids: List[int] = []
    issue_ids: List[List[int]] = []
    made = 0
    for name in crowd.notebooks:
        row = cursor.execute("SELECT id FROM notebook WHERE name = %s", (name,)).fetchone()
        if row is None:
            row = cursor.execute(
                "INSERT INTO notebook (name, created_at, event_count, session_count, client_dropped)"
                " VALUES (%s, %s, 0, 0, 0) RETURNING id",
                (name, origin),
            ).fetchone()
        notebook_ids.append(row[0])
        keys = [fingerprint(name, rank) for rank in range(crowd.issues)]
        found = dict(cursor.execute("SELECT fingerprint, id FROM issue WHERE fingerprint = ANY(%s)", (keys,)))
        ids = []
        for rank, key in enumerate(keys):
            if key not in found:
                made += 1
                found[key] = cursor.execute(
                    "INSERT INTO issue (notebook_id, fingerprint, error_name, message, culprit, status,"
                    " regression, event_count, session_count, first_seen, last_seen)"
                    " VALUES (%s, %s, %s, %s, %s, %s, false, 0, 0, %s, %s) RETURNING id",
                    (row[0], key, f"Error{rank}", f"message of issue {rank}: 'protein_id' not found",
                     "pandas/core/frame.py in __getitem__", STATUSES[rank % len(STATUSES)], origin, origin),
                ).fetchone()[0]  # fmt: skip
            ids.append(found[key])
        issue_ids.append(ids)
    return notebook_ids, issue_ids, made


def grow_postgresql(url: str, events: int, crowd: Crowd, now: Optional[datetime] = None) -> Grown:
    """Add ``events`` reports of ``crowd`` to the PostgreSQL database at ``url`` (SQLAlchemy URL;
    its ``search_path``, if any, is kept)."""
    import psycopg
    from sqlalchemy.engine import make_url

    started = time.perf_counter()
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    parsed = make_url(url)
    options = parsed.query.get("options")
    conninfo = parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    with psycopg.connect(conninfo, **({"options": options} if options else {})) as connection:
        cursor = connection.cursor()
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET TIME ZONE 'UTC'")  # the stamps are UTC without an offset
        # The event indexes that are not constraints are dropped for the load and made again afterwards.
        indexes = cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            " AND tablename = 'event' AND indexname NOT IN"
            " (SELECT conname FROM pg_constraint WHERE conrelid = 'event'::regclass)"
        ).fetchall()
        for name, _sql in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        notebook_ids, issue_ids, made = _ensure_pg(cursor, crowd, now)
        tally = Tally()
        grown = Grown(events=events, issues_made=made)
        rows = make_rows(
            events, crowd, notebook_ids, issue_ids, _next_id(cursor, "event"),
            _next_id(cursor, "report_session"), now, tally,
        )  # fmt: skip
        for chunk in rows:
            _copy(cursor, "report_session", SESSION_COLUMNS, chunk.sessions)
            _copy(cursor, "issue_session", ("issue_id", "session_pk"), chunk.pairs)
            _copy(cursor, "event", EVENT_COLUMNS, chunk.events)
            grown.sessions += len(chunk.sessions)
            grown.issue_sessions += len(chunk.pairs)
        _update_counters(cursor, tally, "%s")
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for _name, sql in indexes:
            cursor.execute(sql)
        for table in ("event", "report_session"):  # the sequences past the ids written here
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            )
        connection.commit()
        for table in ("event", "report_session", "issue_session", "issue_day", "issue", "notebook"):
            cursor.execute(f"ANALYZE {table}")  # as autovacuum would have, for a database grown slowly
    grown.issue_days = len(tally.per_day)
    grown.per_issue = tally.per_issue
    grown.seconds = time.perf_counter() - started
    return grown


def _copy(cursor: Any, table: str, columns: Sequence[str], rows: List[Tuple[Any, ...]]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def grow(url: str, events: int, crowd: Crowd) -> Grown:
    """Add ``events`` reports to the database at ``url`` (``sqlite:///...`` or PostgreSQL)."""
    if url.startswith("sqlite:///"):
        return grow_sqlite(Path(url[len("sqlite:///") :]), events, crowd)
    return grow_postgresql(url, events, crowd)
