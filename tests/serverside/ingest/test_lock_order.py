"""The writes of both databases follow the one lock order of ``ingest/lock_order.py``."""

from __future__ import annotations

import inspect
import re
from typing import List

from notebook_error_reporter.serverside.ingest import transaction
from notebook_error_reporter.serverside.ingest.lock_order import LOCK_ORDER
from notebook_error_reporter.serverside.ingest.postgres import statement
from notebook_error_reporter.serverside.ingest.sqlite import writes as sqlite_writes


def tables_in_order(text: str, pattern: str) -> List[str]:
    return [match.group(1) for match in re.finditer(pattern, text)]


def test_postgresql_statement_writes_the_tables_in_lock_order() -> None:
    # The statement's CTEs write in the order they are read (the UNION ALL below them reads them
    # in order); what it writes comes from "event" on, and the notebooks' own bumps come last.
    written = tables_in_order(statement.statement(), r"(?:INSERT INTO|(?<!DO )UPDATE) (\w+)")
    order = [table for table, _ in LOCK_ORDER]
    assert written == order[3:12], written


def test_sqlite_counters_are_bumped_in_lock_order() -> None:
    source = inspect.getsource(sqlite_writes._count)
    calls = tables_in_order(source, r"counters\.(\w+)\(connection, (?:SESSION)?")
    assert calls == ["add_issue_sessions", "bump_issues", "add_to_days", "bump_rows"], calls


def test_the_transaction_makes_ids_then_events_then_bumps_notebooks_then_adds_alerts() -> None:
    # ingest_events adds the alerts once _ingest_once is done.
    source = inspect.getsource(transaction._ingest_once) + inspect.getsource(transaction.ingest_events)
    steps = ["_notebooks(", "_sessions(", "_issues(", "write_events(", "bump_rows(", "enqueue_alerts("]
    positions = [source.index(step) for step in steps]
    assert positions == sorted(positions), dict(zip(steps, positions))

