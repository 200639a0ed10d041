"""The least a batch of the crowd can cost: each part of storing one, measured alone.

Issue 29 asks for 20,000 reports/s in batches of 100 on one worker process: 50 µs a report for
everything. This bench measures what no server of this schema can skip, with none of our code
around it, so the budget can be set against it:

* **SQLite's own work** (``sqlite3`` alone, on the schema the server's migrations make, with the
  server's settings: WAL, ``synchronous=NORMAL``, foreign keys on, its checkpoint size): the
  crowd's batches (one new session of 100 reports over a notebook's issues, about one report in ten
  starting an issue) as the server stores them: the event rows, the issue-session pairs, the
  issue-days, one ``UPDATE`` per issue touched, the session and the notebook, ten batches to a
  commit (the server's group). Process CPU a report, by statement, and again without the issue
  table's four counter indexes (``--without-counter-indexes``: what keeping counters off the issue
  rows would save).
* **PostgreSQL's own work**: the server's own one statement (``ingest/postgres/statement.py``) for
  the same batches with every id made beforehand, and the notebook's new session counted as the
  write path counts it, one batch a transaction on one connection: the wall time a report, and
  PostgreSQL's CPU (its backend process) a report, on the same cores.
* **The request's own work**: a batch's body parsed (``json.loads``) and each report validated with
  the server's schema (``schemas.EventCreate``), which every batch pays before anything is stored.

    .venv/bin/python bench/ingest_floor.py [--database sqlite|postgresql|both] [--batches N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from _figures import Figures, add_json_argument
from _fill import stamp
from server_ingest import empty_database, postgres_server

from notebook_error_reporter.serverside import create_db
from notebook_error_reporter.serverside.core.db import SQLITE_WAL_AUTOCHECKPOINT_PAGES

BATCH = 100
GROUP = 10  # batches a transaction (the server's MAX_BATCH_GROUP)
NOTEBOOKS = 8
ISSUES_PER_NOTEBOOK = 300
NEW_ISSUE_SHARE = 0.1
BUDGET_US = 1e6 / 20_000  # issue 29's goal, one worker
COUNTER_INDEXES = (
    "ix_issue_event_count",
    "ix_issue_last_seen",
    "ix_issue_notebook_event_count",
    "ix_issue_notebook_last_seen",
)
TRACEBACK = [
    {"filename": "<cell 7>", "fun_name": "<module>", "lineno": 2},
    {"filename": "pandas/core/frame.py", "fun_name": "__getitem__", "lineno": 3761},
    {"filename": "pandas/core/indexes/base.py", "fun_name": "get_loc", "lineno": 3655},
]
CLIENT = {"reporter": "0.4.0", "python": "3.11", "ipython": "7.34", "platform": "colab"}


@dataclass
class Batch:
    """One crowd batch as rows: its notebook, session, and (issue, occurred_at) per report."""

    notebook: int
    session_id: str
    reports: List[Tuple[int, datetime]]


class Crowd:
    """The crowd's batches over issue ids the caller makes (``new_issue`` gives one)."""

    def __init__(self, seed: int = 29) -> None:
        self.rng = random.Random(seed)
        self.now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
        self.issues: Dict[int, List[int]] = {n: [] for n in range(1, NOTEBOOKS + 1)}

    def batch(self, number: int, new_issue: Any) -> Batch:
        notebook = 1 + number % NOTEBOOKS
        reports = []
        start = self.now - timedelta(minutes=self.rng.random() * 600)
        for k in range(BATCH):
            if self.rng.random() < NEW_ISSUE_SHARE:
                issue = new_issue(notebook)
                self.issues[notebook].append(issue)
            else:
                issue = self.rng.choice(self.issues[notebook])
            reports.append((issue, start + timedelta(seconds=k)))
        return Batch(notebook, uuid.uuid4().hex, reports)


# -- SQLite --------------------------------------------------------------------------------------------
_ISSUE = (
    "INSERT INTO issue (error_name, message, culprit, regression, event_count, session_count, first_seen,"
    " last_seen, notebook_id, fingerprint, status) VALUES ('KeyError', '''protein_id''', '<cell 7>', 0, 0, 0,"
    " ?, ?, ?, ?, 'open')"
)
_EVENT = (
    "INSERT INTO event (error_name, error_message, traceback, first_line, execution_count, event_id,"
    " issue_id, session_pk, notebook_id, occurred_at, received_at, client, source, custom_fingerprint,"
    " notebook_version, older_copy) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_PAIR = "INSERT INTO issue_session (issue_id, session_pk) VALUES (?, ?) ON CONFLICT DO NOTHING"
_DAY = (
    "INSERT INTO issue_day (issue_id, day, count) VALUES (?, ?, ?)"
    " ON CONFLICT (issue_id, day) DO UPDATE SET count = count + excluded.count"
)
_BUMP_ISSUE = (
    "UPDATE issue SET event_count = event_count + ?, session_count = session_count + 1,"
    " first_seen = min(first_seen, ?), last_seen = max(last_seen, ?) WHERE id = ?"
)


class Clock:
    """CPU seconds of this process by part."""

    def __init__(self) -> None:
        self.parts: Counter[str] = Counter()
        self._last = time.process_time()

    def mark(self, part: str) -> None:
        now = time.process_time()
        self.parts[part] += now - self._last
        self._last = now


def sqlite_floor(
    batches: int, drop: Tuple[str, ...] = (), directory: Optional[Path] = None
) -> Tuple[float, Dict[str, float]]:
    """CPU µs a report in all, and by part, of SQLite storing ``batches`` crowd batches (in
    ``directory``/floor.db, kept, if given; else in a directory removed afterwards)."""
    with tempfile.TemporaryDirectory() as workdir:
        path = (directory or Path(workdir)) / "floor.db"
        create_db(f"sqlite:///{path}")
        db = sqlite3.connect(path, isolation_level=None)
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            f"wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}",
            "foreign_keys=ON",
        ):
            db.execute(f"PRAGMA {pragma}")
        for name in drop:
            db.execute(f"DROP INDEX {name}")
        crowd = Crowd()
        when = stamp(crowd.now)

        def new_issue(notebook: int) -> int:
            cursor = db.execute(_ISSUE, (when, when, notebook, uuid.uuid4().hex))
            return int(cursor.lastrowid or 0)

        db.execute("BEGIN")
        for n in range(1, NOTEBOOKS + 1):
            db.execute(
                "INSERT INTO notebook (id, name, created_at, event_count, session_count, client_dropped)"
                " VALUES (?, ?, ?, 0, 0, 0)",
                (n, f"floor-{n}", when),
            )
            for _ in range(ISSUES_PER_NOTEBOOK):
                crowd.issues[n].append(new_issue(n))
        db.execute("COMMIT")
        traceback, client, message = json.dumps(TRACEBACK), json.dumps(CLIENT), "'protein_id'"
        clock = Clock()
        for number in range(batches):
            if number % GROUP == 0:
                db.execute("BEGIN IMMEDIATE")
            clock.mark("other")
            batch = crowd.batch(number, new_issue)
            clock.mark("new issues")
            session = db.execute(
                "INSERT INTO report_session (session_id, notebook_id, created_at, event_count)"
                " VALUES (?, ?, ?, 0)",
                (batch.session_id, batch.notebook, when),
            ).lastrowid
            clock.mark("new session")
            rows = [
                (
                    "KeyError",
                    message,
                    traceback,
                    "df['protein_id']",
                    7,
                    uuid.uuid4().hex,
                    issue,
                    session,
                    batch.notebook,
                    stamp(at),
                    when,
                    client,
                    "ipython",
                    None,
                    None,
                    0,
                )
                for issue, at in batch.reports
            ]
            clock.mark("rows (Python)")
            db.executemany(_EVENT, rows)
            clock.mark("event rows")
            per_issue: Dict[int, List[datetime]] = {}
            for issue, at in batch.reports:
                per_issue.setdefault(issue, []).append(at)
            ordered = sorted(per_issue.items())
            clock.mark("other")
            db.executemany(_PAIR, [(issue, session) for issue, _ in ordered])
            clock.mark("issue-session pairs")
            days = Counter((issue, at.date().isoformat()) for issue, at in batch.reports)
            db.executemany(_DAY, [(issue, day, n) for (issue, day), n in sorted(days.items())])
            clock.mark("issue-days")
            db.executemany(
                _BUMP_ISSUE,
                [(len(times), stamp(min(times)), stamp(max(times)), issue) for issue, times in ordered],
            )
            clock.mark("issue counters")
            last = stamp(max(at for _, at in batch.reports))
            db.execute(
                "UPDATE report_session SET event_count = event_count + ?, last_seen = ? WHERE id = ?",
                (BATCH, last, session),
            )
            db.execute(
                "UPDATE notebook SET event_count = event_count + ?, session_count = session_count + 1,"
                " last_seen = max(coalesce(last_seen, ?), ?) WHERE id = ?",
                (BATCH, last, last, batch.notebook),
            )
            clock.mark("session and notebook")
            if number % GROUP == GROUP - 1 or number == batches - 1:
                db.execute("COMMIT")
                clock.mark("commit")
        db.close()
    reports = batches * BATCH
    parts = {name: 1e6 * seconds / reports for name, seconds in clock.parts.items() if name != "other"}
    return sum(parts.values()), parts


# -- PostgreSQL ----------------------------------------------------------------------------------------
@contextmanager
def postgres_url() -> Iterator[str]:
    """A migrated schema of its own on a throw-away PostgreSQL (``server_ingest``'s helpers)."""
    with (
        postgres_server(None) as server,
        tempfile.TemporaryDirectory() as workdir,
        empty_database(Path(workdir), "postgresql", server) as url,
    ):
        create_db(url)
        yield url


_PG_ISSUE = (
    "INSERT INTO issue (error_name, message, culprit, regression, event_count, session_count, first_seen,"
    " last_seen, notebook_id, fingerprint, status) VALUES ('KeyError', '''x''', '<cell 7>', false, 0, 0,"
    " :now, :now, :notebook, :print, 'open') RETURNING id"
)
_PG_NOTEBOOK = (
    "INSERT INTO notebook (id, name, created_at, event_count, session_count, client_dropped)"
    " VALUES (:id, :name, :now, 0, 0, 0)"
)


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_floor(url: str, batches: int) -> Tuple[float, float]:
    """Wall µs a report of the server's one statement for ``batches`` crowd batches whose ids are
    made beforehand (one round trip a batch), and PostgreSQL's CPU µs a report."""
    from sqlalchemy import create_engine, text

    from notebook_error_reporter.serverside.ingest.postgres.statement import store_and_count

    engine = create_engine(url)
    try:
        crowd = Crowd()
        now = crowd.now.replace(tzinfo=timezone.utc)
        with engine.connect() as connection:
            issue_sql = text(_PG_ISSUE)

            def new_issue(notebook: int) -> int:
                return int(
                    connection.execute(
                        issue_sql, {"now": now, "notebook": notebook, "print": uuid.uuid4().hex}
                    ).scalar_one()
                )

            for n in range(1, NOTEBOOKS + 1):
                connection.execute(
                    text(_PG_NOTEBOOK),
                    {"id": n, "name": f"floor-{n}", "now": now},
                )
                for _ in range(ISSUES_PER_NOTEBOOK):
                    crowd.issues[n].append(new_issue(n))
            connection.commit()
            prepared = []
            for number in range(batches):
                batch = crowd.batch(number, new_issue)
                session = connection.execute(
                    text(
                        "INSERT INTO report_session (session_id, notebook_id, created_at, event_count)"
                        " VALUES (:s, :n, :now, 0) RETURNING id"
                    ),
                    {"s": batch.session_id, "n": batch.notebook, "now": now},
                ).scalar_one()
                rows = [
                    {
                        "event_id": uuid.uuid4().hex,
                        "issue_id": issue,
                        "session_pk": session,
                        "notebook_id": batch.notebook,
                        "error_name": "KeyError",
                        "error_message": "'protein_id'",
                        "traceback": TRACEBACK,
                        "first_line": "df['protein_id']",
                        "execution_count": 7,
                        "occurred_at": at.replace(tzinfo=timezone.utc),
                        "client": CLIENT,
                        "source": "ipython",
                        "custom_fingerprint": None,
                        "notebook_version": None,
                        "older_copy": False,
                    }
                    for issue, at in batch.reports
                ]
                prepared.append(sorted(rows, key=lambda row: row["event_id"]))
            connection.commit()
            new_session = text("UPDATE notebook SET session_count = session_count + 1 WHERE id = :id")
            backend = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
            cpu_before, started = backend_cpu(backend), time.perf_counter()
            for rows in prepared:
                store_and_count(connection, rows, now)
                # The notebook's new session: the statement leaves that count to the write path
                # (``counters.bump_rows``), one statement more in the same transaction.
                connection.execute(new_session, {"id": rows[0]["notebook_id"]})
                connection.commit()
            wall, cpu = time.perf_counter() - started, backend_cpu(backend) - cpu_before
    finally:
        engine.dispose()
    reports = batches * BATCH
    return 1e6 * wall / reports, 1e6 * cpu / reports


# -- the request -----------------------------------------------------------------------------------------
def request_floor(batches: int) -> float:
    """CPU µs a report of parsing a batch's body and validating its reports."""
    from notebook_error_reporter.serverside.schemas import EventCreate

    crowd = Crowd()
    crowd.issues = {n: [0] for n in crowd.issues}  # only the reports' times are used
    bodies = []
    for number in range(batches):
        batch = crowd.batch(number, lambda notebook: 0)
        events = [
            {
                "event_id": uuid.uuid4().hex,
                "session_id": batch.session_id,
                "notebook": "floor",
                "error_name": "KeyError",
                "error_message": "'protein_id'",
                "traceback": TRACEBACK,
                "first_line": "df['protein_id']",
                "execution_count": 7,
                "occurred_at": at.replace(tzinfo=timezone.utc).isoformat(),
                "client": CLIENT,
            }
            for _, at in batch.reports
        ]
        bodies.append(json.dumps({"events": events}).encode())
    started = time.process_time()
    for body in bodies:
        for event in json.loads(body)["events"]:
            EventCreate.model_validate(event)
    return 1e6 * (time.process_time() - started) / (batches * BATCH)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--batches", type=int, default=400, help="crowd batches of 100 to store (default 400)"
    )
    parser.add_argument("--quick", action="store_true", help="fewer batches")
    add_json_argument(parser)
    args = parser.parse_args()
    batches = 50 if args.quick else args.batches
    figures = Figures()
    goal = f"budget {BUDGET_US:.0f} µs (20,000/s)"
    request = request_floor(batches)
    print(f"request: body parsed and reports validated: {request:.1f} µs CPU a report")
    figures.add(
        "the floor, request: a batch's JSON parsed and validated", f"{request:.1f} µs a report", goal=goal
    )
    if args.database in ("sqlite", "both"):
        total, parts = sqlite_floor(batches)
        lean, _ = sqlite_floor(batches, COUNTER_INDEXES)
        print(
            f"SQLite's own work, crowd batches ({batches} of {BATCH}, {GROUP} to a commit):"
            f" {total:.1f} µs CPU a report"
        )
        for name, value in sorted(parts.items(), key=lambda item: -item[1]):
            print(f"    {name:24} {value:6.1f} µs")
        print(f"  without the issue table's four counter indexes: {lean:.1f} µs")
        figures.add(
            "the floor, SQLite's own work (crowd batches)",
            f"{total:.1f} µs a report",
            f"{lean:.1f} µs without the issue counter indexes",
            goal=goal,
        )
        figures.add("the floor, SQLite + request", f"{total + request:.1f} µs a report", goal=goal)
    if args.database in ("postgresql", "both"):
        with postgres_url() as url:
            wall, cpu = postgres_floor(url, batches)
        print(
            f"PostgreSQL, the server's one statement a batch, ids made beforehand: {wall:.1f} µs a report"
            f" (PostgreSQL's own CPU {cpu:.1f} µs)"
        )
        figures.add(
            "the floor, PostgreSQL's one statement (crowd batches)",
            f"{wall:.1f} µs a report",
            f"PostgreSQL's CPU {cpu:.1f} µs",
            goal=goal,
        )
    figures.write(args.json)


if __name__ == "__main__":
    main()
