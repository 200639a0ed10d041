"""``ingest/sqlite/driver_rows.py``: rows handed to the sqlite3 driver as tuples are stored exactly as
SQLAlchemy's own executemany stores them, and a statement whose defaults only SQLAlchemy could
compute is refused.

SQLite only, whatever database the suite runs on: this is the SQLite write path.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List

import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    bindparam,
    case,
    create_engine,
    update,
)
from sqlalchemy.dialects import sqlite

from notebook_error_reporter.serverside import create_db
from notebook_error_reporter.serverside.core.db import Database
from notebook_error_reporter.serverside.ingest.sqlite import driver_rows
from notebook_error_reporter.serverside.models import EVENT, NOTEBOOK, SQLModel


def _raw(path: Path, sql: str) -> List[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchall()


def _event_rows(prefix: str, received: datetime, client: Dict[str, str]) -> List[Dict[str, Any]]:
    """Rows as ingest makes them: one arrival time and one client dict shared by all."""
    elsewhere = timezone(timedelta(hours=5, minutes=30))
    return [
        {
            "event_id": f"{prefix}{n:031x}",
            "issue_id": 1,
            "session_pk": 1,
            "notebook_id": 1,
            "error_name": "KeyError",
            "error_message": f"'protein_{n}' é ✓",
            "traceback": [{"filename": "<cell 2>", "fun_name": "<module>", "lineno": n}],
            "first_line": "x = {'a': 1}",
            "execution_count": n,
            "occurred_at": datetime(2026, 5, 1, 7, 30, n, 1234, tzinfo=elsewhere),
            "received_at": received,
            "client": client if n % 3 else None,
            "source": "v1",
        }
        for n in range(1, 8)
    ]


def test_rows_are_stored_as_sqlalchemy_stores_them(tmp_path: Path) -> None:
    path = tmp_path / "rows.db"
    create_db(f"sqlite:///{path}")
    database = Database(f"sqlite:///{path}")
    received = datetime.now(timezone.utc)
    client = {"reporter": "0.2.0", "python": "3.11"}
    with database.write_session() as session:
        connection = session.connection()
        notebook = {"name": "nb", "created_at": received}  # the counters come from column defaults
        inserted = driver_rows.insert_returning(connection, NOTEBOOK, [notebook], ("name",), ("name", "id"))
        session.execute(NOTEBOOK.insert(), [{"name": "nb-by-sqlalchemy", "created_at": received}])
        connection.exec_driver_sql(  # what the reports refer to
            "INSERT INTO report_session (id, session_id, notebook_id, created_at, event_count)"
            " VALUES (1, 's', 1, '2026-01-01', 0)"
        )
        connection.exec_driver_sql(
            "INSERT INTO issue (id, error_name, message, culprit, regression, event_count, session_count,"
            " first_seen, last_seen, notebook_id, fingerprint, status)"
            " VALUES (1, 'E', 'm', 'c', 0, 0, 0, '2026-01-01', '2026-01-01', 1, 'f', 'open')"
        )
        session.execute(sqlite.insert(EVENT), _event_rows("a", received, client))
        ours = _event_rows("b", received, client)
        created = driver_rows.insert_returning(connection, EVENT, ours, ("event_id",), ("event_id",))
        again = driver_rows.insert_returning(connection, EVENT, ours[:2], ("event_id",), ("event_id",))
        session.commit()
    database.dispose()

    assert inserted == [("nb", 1)]
    assert [key for (key,) in created] == [row["event_id"] for row in ours]
    assert again == [], "rows whose key is taken are skipped, not returned"
    notebooks = _raw(
        path, "SELECT name, created_at, last_seen, event_count, session_count, client_dropped FROM notebook"
    )
    assert notebooks[0][1:] == notebooks[1][1:] and notebooks[0][3:] == (0, 0, 0)
    columns = (
        "error_message, traceback, first_line, execution_count, occurred_at, received_at, client, source"
    )
    theirs = _raw(path, f"SELECT {columns} FROM event WHERE event_id LIKE 'a%' ORDER BY event_id")
    mine = _raw(path, f"SELECT {columns} FROM event WHERE event_id LIKE 'b%' ORDER BY event_id")
    assert len(mine) == 7 and mine == theirs
    assert [row[6] for row in mine[:3]] == ['{"reporter": "0.2.0", "python": "3.11"}'] * 2 + ["null"]


def test_an_executemany_binds_each_row_and_repeated_names(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'many.db'}")
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("seen", DateTime))
    table.metadata.create_all(engine)
    when = bindparam("b_when", type_=DateTime())
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(seen=case((table.c.seen.is_(None), when), else_=when))  # b_when bound twice
    )
    first, second = datetime(2026, 1, 2, 3, 4, 5), datetime(2026, 6, 7, 8, 9, 10)
    with engine.begin() as connection:
        connection.execute(table.insert(), [{"id": 1}, {"id": 2}, {"id": 3}])
        driver_rows.executemany(
            connection, statement, [{"b_id": 1, "b_when": first}, {"b_id": 3, "b_when": second}]
        )
        driver_rows.executemany(connection, statement, [])
        assert connection.execute(table.select().order_by(table.c.id)).all() == [
            (1, first),
            (2, None),
            (3, second),
        ]
    engine.dispose()


def test_a_default_computed_per_row_must_come_with_the_rows(tmp_path: Path) -> None:
    table = Table(
        "made",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("name", String(10), unique=True),
        Column("at", DateTime, default=datetime.now),
    )
    engine = create_engine(f"sqlite:///{tmp_path / 'made.db'}")
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        with pytest.raises(TypeError, match="made.at: a default computed per row"):
            driver_rows.insert_returning(connection, table, [{"name": "x"}], ("name",), ("id",))
        at = datetime(2026, 1, 1)
        assert driver_rows.insert_returning(
            connection, table, [{"name": "x", "at": at}], ("name",), ("id",)
        ) == [(1,)]
    engine.dispose()


class _CountedText(TypeDecorator):  # type: ignore[type-arg]
    """Text that counts how often a value is processed on its way to the driver."""

    impl = String
    cache_ok = True
    calls: List[Any] = []

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        _CountedText.calls.append(value)
        return repr(value)


def test_an_object_shared_by_rows_is_processed_once_per_statement(tmp_path: Path) -> None:
    table = Table(
        "shared",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("key", String(10), unique=True),
        Column("data", _CountedText()),
    )
    engine = create_engine(f"sqlite:///{tmp_path / 'shared.db'}")
    table.metadata.create_all(engine)
    shared = {"reporter": "0.2.0"}
    rows = [{"key": f"k{n}", "data": shared} for n in range(5)] + [{"key": "own", "data": {"own": 1}}]
    with engine.begin() as connection:
        _CountedText.calls.clear()
        created = driver_rows.insert_returning(connection, table, rows, ("key",), ("key",))
        assert len(created) == 6
        assert _CountedText.calls == [shared, {"own": 1}], "once for the shared dict, once for the other"
        stored = [data for (data,) in connection.exec_driver_sql("SELECT data FROM shared ORDER BY id")]
    assert stored == [repr(shared)] * 5 + [repr({"own": 1})]
    # The same across the rows of an executemany (each row its own statement for the driver).
    changed = {"changed": True}
    updates = [{"b_key": f"k{n}", "b_data": changed if n == 4 else shared} for n in range(5)]
    statement = table.update().where(table.c.key == bindparam("b_key")).values(data=bindparam("b_data"))
    with engine.begin() as connection:
        _CountedText.calls.clear()
        driver_rows.executemany(connection, statement, updates)
        assert _CountedText.calls == [shared, changed], "once for the shared dict, once for the other"
        stored = [data for (data,) in connection.exec_driver_sql("SELECT data FROM shared ORDER BY id")]
    assert stored == [repr(shared)] * 4 + [repr(changed), repr({"own": 1})]
    engine.dispose()


@pytest.mark.parametrize("count", [2, 7, 500])
def test_an_insert_of_many_rows_is_the_one_row_insert_repeated_as_sqlalchemy_compiles_it(count: int) -> None:
    dialect = sqlite.dialect()
    tables = [t for t in SQLModel.metadata.sorted_tables if "id" in t.c and t.c["id"].primary_key]
    assert len(tables) >= 4
    for table in tables:
        names = tuple(c.name for c in table.columns if c.name != "id" and c.default is None)
        keys, returning = (names[0],), ("id",)
        compiled = driver_rows._compiled_insert(dialect, table, names, count, keys, returning)
        made = driver_rows._insert(dialect, table, names, count, keys, returning)
        assert made.sql == compiled.sql, table.name
        # A constant's slot keeps the name of its bind in row 0: only its value is used.
        assert [(s.row, s.row < 0 or s.name, s.process is None, s.value) for s in made.slots] == [
            (s.row, s.row < 0 or s.name, s.process is None, s.value) for s in compiled.slots
        ], table.name
