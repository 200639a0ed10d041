"""Small builders shared by the server tests: wire-format reports (and storing them in-process),
scrubbed reports for the write path, row counts, and runners for concurrent writers and held locks."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, TypeVar

import pytest
from fastapi.testclient import TestClient
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from notebook_error_reporter.serverside.core.db import Database
from notebook_error_reporter.serverside.scrub import CleanEvent

ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

# The type of the ``make_client`` fixture: ``make_client(**settings)`` gives an in-process client.
MakeClient = Callable[..., TestClient]

# Any JSON value, nested a little: what a hostile client may put anywhere in a body.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)

FRAMES: List[Dict[str, Any]] = [
    {"filename": "<cell 7>", "fun_name": "<module>", "lineno": 2},
    {"filename": "pandas/core/frame.py", "fun_name": "__getitem__", "lineno": 3761},
]


def make_event(
    *,
    session_id: Optional[str] = None,
    occurred_at: Any = None,
    **fields: Any,
) -> Dict[str, Any]:
    """A valid wire-format report; any field can be overridden."""
    event: Dict[str, Any] = {
        "event_id": uuid.uuid4().hex,
        "session_id": session_id or uuid.uuid4().hex,
        "notebook": "protein-design",
        "error_name": "KeyError",
        "error_message": "'protein_id'",
        "traceback": [dict(frame) for frame in FRAMES],
        "first_line": "# Load the proteins",
        "execution_count": 7,
        "occurred_at": (occurred_at or datetime.now(timezone.utc)),
        "client": {"reporter": "0.2.0", "python": "3.11", "ipython": "8.12", "platform": "linux"},
    }
    if isinstance(event["occurred_at"], datetime):
        event["occurred_at"] = event["occurred_at"].isoformat()
    event.update(fields)
    return event


def errors_of_threads_at_once(
    count: int, work: Callable[[int], None], timeout: float = 120
) -> List[BaseException]:
    """Run ``work(0)`` ... ``work(count - 1)``, each in a thread of its own, all released together;
    what any of them raised (a deadlock, say), for the test to assert there was none."""
    start = threading.Barrier(count)
    errors: List[BaseException] = []

    def run(index: int) -> None:
        start.wait()
        try:
            work(index)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return errors


def clean(**fields: object) -> CleanEvent:
    event = CleanEvent(
        event_id=uuid.uuid4().hex,
        session_id=uuid.uuid4().hex,
        notebook="group-commit",
        error_name="KeyError",
        error_message="'protein_id'",
        traceback=tuple(dict(frame) for frame in FRAMES),
        first_line="df['protein_id']",
        execution_count=3,
        occurred_at=datetime.now(timezone.utc),
    )
    return dataclasses.replace(event, **fields)  # type: ignore[arg-type]


def count(database: Database, table: object) -> int:
    with database.session() as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def sqlite_file(database: Database) -> str:
    if not database.writes_without_waiting:
        pytest.skip("the event loop stores groups itself on SQLite files only")
    path = make_url(database.url).database
    assert path
    return path


T = TypeVar("T")


def while_held(
    store: Callable[[], Awaitable[T]], release: Callable[[], object], seconds: float = 0.5
) -> Tuple[int, bool, T]:
    """Run ``store()`` in a fresh event loop while a lock stays held for ``seconds``, then
    ``release()`` it (in a thread): the loop's ticks meanwhile (about 100 a second if it was never
    blocked), whether the store was still waiting when the lock was let go, and its result."""

    async def meanwhile() -> Tuple[int, bool, T]:
        stored = asyncio.ensure_future(store())
        ticks = 0
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            await asyncio.sleep(0.01)
            ticks += 1
        waited = not stored.done()
        await asyncio.get_running_loop().run_in_executor(None, release)
        return ticks, waited, await asyncio.wait_for(stored, 30)

    return asyncio.run(meanwhile())


def store_batch(ingestion: Any, events: List[CleanEvent], client_dropped: int = 0) -> Awaitable[Any]:
    """``ingestion.store_batch`` of ``events``, already judged and admitted (as the route would)."""
    return ingestion.store_batch(
        lambda: list(events), lambda judged: judged, admit_blocks=False, client_dropped=client_dropped
    )


class WriteLog:
    """The write path's debug records (``ingest/waiting.py`` names its messages): how many a message
    has, and the sum of the sizes they give."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self._caplog = caplog

    def _records(self, message: str) -> List[logging.LogRecord]:
        return [record for record in self._caplog.records if record.msg == message]

    def count(self, message: str) -> int:
        return len(self._records(message))

    def total(self, message: str) -> int:
        return sum(int(record.args[0]) for record in self._records(message))  # type: ignore[index]


def report(client: Any, count: int = 1, **fields: Any) -> int:
    """Store ``count`` reports (one batch request of an in-process client); the issue id of the last."""
    events = [make_event(**fields) for _ in range(count)]
    answer = client.post("/api/v1/events/batch", json={"events": events})
    assert answer.status_code == 200, answer.text
    return int(answer.json()["results"][-1]["issue_id"])


def wait_for_value(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll ``check`` until it answers something true, and return that; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check}")
        time.sleep(0.02)


def issue_of(client: Any, issue_id: int) -> Dict[str, Any]:
    """The API's view of an issue, asked by the admin of an in-process app."""
    answer = client.get(f"/api/v1/issues/{issue_id}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    issue: Dict[str, Any] = answer.json()
    return issue


# Every counter equal to the rows it counts, as the server's writes leave them: (what, a query giving two
# numbers that must be equal). The benches' fill and floor are checked with these.
COUNTERS_MATCH_ROWS = {
    "notebooks' reports": "SELECT (SELECT count(*) FROM event),"
    " (SELECT COALESCE(sum(event_count), 0) FROM notebook)",
    "issues' reports": "SELECT count(*), 0 FROM issue i"
    " WHERE event_count != (SELECT count(*) FROM event e WHERE e.issue_id = i.id)",
    "issues' sessions": "SELECT count(*), 0 FROM issue i"
    " WHERE session_count != (SELECT count(*) FROM issue_session s WHERE s.issue_id = i.id)",
    "issue-session pairs": "SELECT (SELECT count(*) FROM issue_session),"
    " (SELECT count(*) FROM (SELECT DISTINCT issue_id, session_pk FROM event) AS pairs)",
    "issue days": "SELECT (SELECT COALESCE(sum(count), 0) FROM issue_day), (SELECT count(*) FROM event)",
    "sessions' reports": "SELECT count(*), 0 FROM report_session r"
    " WHERE event_count != (SELECT count(*) FROM event e WHERE e.session_pk = r.id)",
    "notebooks' sessions": "SELECT (SELECT COALESCE(sum(session_count), 0) FROM notebook),"
    " (SELECT count(*) FROM report_session)",
    "issues' first and last seen": "SELECT count(*), 0 FROM issue i WHERE event_count > 0 AND ("
    " first_seen != (SELECT min(occurred_at) FROM event e WHERE e.issue_id = i.id)"
    " OR last_seen != (SELECT max(occurred_at) FROM event e WHERE e.issue_id = i.id))",
    "notebooks' last seen": "SELECT count(*), 0 FROM notebook n"
    " WHERE last_seen != (SELECT max(occurred_at) FROM event e WHERE e.notebook_id = n.id)",
}


def counters_off(connection: Any, checks: Dict[str, str] = COUNTERS_MATCH_ROWS) -> List[str]:
    """The names of the ``checks`` (``COUNTERS_MATCH_ROWS``'s, by default) whose two numbers differ,
    on a SQLAlchemy or ``sqlite3`` connection."""
    off = []
    for what, query in checks.items():
        if isinstance(connection, sqlite3.Connection):
            left, right = connection.execute(query).fetchone()
        else:
            left, right = connection.execute(text(query)).one()
        if left != right:
            off.append(what)
    return off
