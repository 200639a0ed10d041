"""The pure steps of the write path (``ingest/planning.py``): times, event rows, results."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from notebook_error_reporter.serverside.ingest import planning
from notebook_error_reporter.serverside.ingest.postgres import statement
from notebook_error_reporter.serverside.models import EVENT

from ..helpers import clean

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)


def test_an_event_row_has_the_columns_postgresql_statement_reads_and_the_table_has() -> None:
    row = planning.event_row(clean(), 1, 2, 3, NOW, NOW)
    assert set(row) == set(statement.EVENT_FIELDS) | {"received_at"}
    assert set(row) == {column.name for column in EVENT.columns} - {"id"}


def test_a_clients_clock_is_clamped_into_the_30_days_before_arrival() -> None:
    times = planning.effective_times(
        {
            "future": NOW + timedelta(days=365),
            "past": NOW - timedelta(days=400),
            "fine": NOW - timedelta(hours=1),
        },
        NOW,
    )
    assert times == {"future": NOW, "past": NOW - timedelta(days=30), "fine": NOW - timedelta(hours=1)}


def test_a_report_repeated_in_one_call_is_created_once_then_a_duplicate() -> None:
    first, other = clean(), clean()
    events = [first, other, first]
    assert list(planning.unique(events)) == [first.event_id, other.event_id]
    results = planning.results_in_order(events, {first.event_id: 7, other.event_id: 8}, {first.event_id})
    assert [(r.issue_id, r.created) for r in results] == [(7, True), (8, False), (7, False)]
