"""Remembered ids: a steady stream of reports costs fewer statements, and only committed ids are learned.

The statement counts are of real transactions on the suite's database (SQLite, or PostgreSQL in
CI's second run), counted with SQLAlchemy's ``before_cursor_execute`` event.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any, List

import pytest
from sqlalchemy import event, func, select

from notebook_error_reporter.serverside import grouping
from notebook_error_reporter.serverside.alerts import outbox
from notebook_error_reporter.serverside.core.db import Database
from notebook_error_reporter.serverside.ingest.known_ids import KnownIds
from notebook_error_reporter.serverside.ingest.transaction import ingest_events
from notebook_error_reporter.serverside.models import EVENT, ISSUE, NOTEBOOK, SESSION
from notebook_error_reporter.serverside.scrub import CleanEvent

from ..helpers import clean


def statements_of(database: Database, events: List[CleanEvent], known: KnownIds) -> List[str]:
    """The SQL sent while ``events`` are ingested in one transaction."""
    sent: List[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        with database.write_session() as session:
            ingest_events(session=session, events=events, known=known)
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    return sent


def test_lookup_gives_remembered_ids_and_the_sorted_rest() -> None:
    known = KnownIds()
    known.learn({"notebook": {"a": 1, "b": 2}})
    assert known.lookup("notebook", ["c", "b", "a", "c"]) == ({"a": 1, "b": 2}, ["c"])
    assert known.lookup("issue", ["x"]) == ({}, ["x"])


def test_a_full_map_is_emptied_before_it_grows_past_its_bound() -> None:
    known = KnownIds(max_remembered=3)
    known.learn({"session": {"a": 1, "b": 2}})
    known.learn({"session": {"c": 3, "d": 4}})
    found, missing = known.lookup("session", ["a", "b", "c", "d"])
    assert found == {"c": 3, "d": 4} and missing == ["a", "b"]


def test_known_notebook_session_and_issue_cost_no_lookups(database: Database) -> None:
    known = KnownIds()
    first = clean()
    cold = statements_of(database, [first], known)
    fingerprint = grouping.fingerprints({first.event_id: first})[first.event_id]
    for table, key in (("notebook", first.notebook), ("session", first.session_id), ("issue", fingerprint)):
        assert known.lookup(table, [key])[1] == [], table
    again = dataclasses.replace(first, event_id=uuid.uuid4().hex)
    warm = statements_of(database, [again], known)
    print(f"statements: {len(cold)} for new rows, {len(warm)} once their ids are known")  # noqa: T201
    assert len(warm) < len(cold)
    # What is left to read: the issues' statuses (regressions) and, on PostgreSQL, the report ids
    # already stored (see DatabaseWrites.insert_new).
    lookups = [
        s
        for s in warm
        if s.lstrip().upper().startswith("SELECT") and "FROM issue" not in s and "FROM event" not in s
    ]
    assert lookups == [], lookups
    if database.engine.dialect.name == "postgresql":  # postgres/statement.py: one statement stores and counts
        assert len(warm) == 1 and warm[0].lstrip().startswith("WITH given"), warm
    else:
        assert not [s for s in warm if "issue_session" in s], "the session already met this issue"
    with database.session() as session:
        assert session.execute(select(ISSUE.c.event_count, ISSUE.c.session_count)).one() == (2, 1)
    other_session = dataclasses.replace(first, event_id=uuid.uuid4().hex, session_id=uuid.uuid4().hex)
    assert [s for s in statements_of(database, [other_session], known) if "INSERT INTO issue_session" in s]
    with database.session() as session:
        assert session.execute(select(ISSUE.c.event_count, ISSUE.c.session_count)).one() == (3, 2)


def test_ids_of_a_transaction_that_rolled_back_are_not_learned(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = KnownIds()

    def fail(**_kwargs: Any) -> int:
        raise RuntimeError("the outbox broke")

    monkeypatch.setattr(outbox, "alert_rows", fail)
    report = clean(notebook="rolled-back")
    with pytest.raises(RuntimeError), database.write_session() as session:
        ingest_events(session=session, events=[report], known=known)
    assert known.lookup("notebook", ["rolled-back"]) == ({}, ["rolled-back"])
    assert known.lookup("session", [report.session_id]) == ({}, [report.session_id])
    assert known.lookup("issue_session", ["1:1"]) == ({}, ["1:1"]), "no pair of a rolled-back report"
    monkeypatch.undo()
    with database.write_session() as session:
        summary = ingest_events(session=session, events=[report], known=known)
    assert summary.results[0].created
    with database.session() as session:
        assert session.execute(select(func.count()).select_from(EVENT)).scalar_one() == 1
        notebook_id = session.execute(
            select(NOTEBOOK.c.id).where(NOTEBOOK.c.name == "rolled-back")
        ).scalar_one()
        session_pk = session.execute(select(SESSION.c.id)).scalar_one()
    assert known.lookup("notebook", ["rolled-back"])[0] == {"rolled-back": notebook_id}
    assert known.lookup("session", [report.session_id])[0] == {report.session_id: session_pk}
