"""The benches' bulk fill (bench/_fill.py): a database grown in steps holds counters that match its rows."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from notebook_error_reporter.serverside import create_db
from notebook_error_reporter.serverside.models import EVENT

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from _fill import Crowd, grow, session_sizes  # noqa: E402

from .helpers import counters_off  # noqa: E402

CROWD = Crowd(("growth-1", "growth-2", "growth-3"), issues=20, reports_per_session=10, days=5, seed=3)


def test_session_sizes_add_up_and_stay_in_range() -> None:
    import random

    sizes = session_sizes(10_007, 10, random.Random(1))
    assert sum(sizes) == 10_007
    assert all(1 <= size <= 19 for size in sizes)
    assert 800 < len(sizes) < 1_200


@pytest.mark.parametrize("steps", [(0, 1_500, 4_000)])
def test_grown_in_steps_counters_match_rows(database_url: str, steps: tuple) -> None:
    create_db(database_url)
    engine = create_engine(database_url)
    try:
        indexes = sorted(index["name"] for index in inspect(engine).get_indexes("event"))
        total = 0
        for events in steps:
            grown = grow(database_url, events, CROWD)
            total += events
            assert grown.events == events
            with engine.connect() as connection:
                assert connection.execute(text("SELECT count(*) FROM event")).scalar_one() == total
                issues = connection.execute(text("SELECT count(*) FROM issue")).scalar_one()
                assert issues == len(CROWD.notebooks) * CROWD.issues  # made once, grown afterwards
                assert counters_off(connection) == []
        with engine.connect() as connection:
            ids = connection.execute(text("SELECT count(DISTINCT event_id), count(*) FROM event")).one()
            sessions = connection.execute(text("SELECT count(*) FROM report_session")).scalar_one()
        assert ids[0] == ids[1] == total
        # the event indexes dropped for the load are all back
        assert sorted(index["name"] for index in inspect(engine).get_indexes("event")) == indexes
        assert {str(index.name) for index in EVENT.indexes} <= set(indexes)  # the model's, every one
        assert total / 20 < sessions < total / 5  # about 10 reports a session
    finally:
        engine.dispose()
