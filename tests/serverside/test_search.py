"""The issues search (``q=``): by error name, message, first line, a frame's file or function; each
word anywhere, any case; the index made for new issues on ingest and by migration 0004 for old ones.
On SQLite and, with ``NER_TEST_DATABASE_URL``, on PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any, List
from urllib.parse import unquote

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from notebook_error_reporter.serverside import cli, create_app, create_db, search
from notebook_error_reporter.serverside.core import schema
from notebook_error_reporter.serverside.core.db import Database

from .databases import is_postgres, psycopg_url, server_url
from .helpers import ADMIN, ADMIN_TOKEN, MakeClient, make_event

PANDAS = [
    {"filename": "<cell 3>", "fun_name": "<module>", "lineno": 2},
    {"filename": "pandas/core/frame.py", "fun_name": "__getitem__", "lineno": 3761},
]
NUMPY = [{"filename": "numpy/linalg/linalg.py", "fun_name": "inv", "lineno": 561}]
CELL = [{"filename": "<cell 9>", "fun_name": "<module>", "lineno": 1}]


def store(client: TestClient, **fields: Any) -> int:
    answer = client.post("/api/v1/events", json=make_event(**fields))
    assert answer.status_code == 201, answer.text
    return int(answer.json()["issue_id"])


def found(client: TestClient, q: str, **params: Any) -> List[int]:
    answer = client.get("/api/v1/issues", params={"q": q, **params}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] == len(page["items"])
    return sorted(item["id"] for item in page["items"])


@pytest.fixture
def three(client: TestClient) -> List[int]:
    key = store(
        client, error_name="KeyError", error_message="'protein_id'", traceback=PANDAS, first_line="# Load it"
    )
    lin = store(
        client,
        error_name="LinAlgError",
        error_message="Singular matrix (50% of rows_zero)",
        traceback=NUMPY,
        first_line='m = inv(a)  # "quoted"',
        notebook="linear",
    )
    zero = store(
        client,
        error_name="ZeroDivisionError",
        error_message="division by zero",
        traceback=CELL,
        first_line="1/0",
    )
    return [key, lin, zero]


@pytest.mark.parametrize(
    ("q", "which"),
    [
        ("KeyError", [0]),
        ("keyerr", [0]),  # any case, a part of a word
        ("protein_id", [0]),  # the message
        ("Load it", [0]),  # the first line
        ("frame.py", [0]),  # a frame's file
        ("__getitem__", [0]),  # a frame's function
        ("numpy/linalg", [1]),
        ("Error", [0, 1, 2]),
        ("error division", [2]),  # every word must occur
        ("error nowhere", []),
        ("50%", [1]),  # LIKE's wildcards are literal
        ("_zero", [1]),
        ('"quoted"', [1]),  # FTS5's quotes are literal
        ("/0", [2]),  # shorter than a trigram
        ("ZE", [1, 2]),  # 'rows_zero', 'ZeroDivisionError'
        ("ze division", [2]),  # a short word and a long one
        ("   ", [0, 1, 2]),  # blank: no search
    ],
)
def test_search_finds_issues_by_their_text(
    client: TestClient, three: List[int], q: str, which: List[int]
) -> None:
    assert found(client, q) == sorted(three[i] for i in which)


def test_search_combines_with_the_other_filters(client: TestClient, three: List[int]) -> None:
    assert found(client, "Error", notebook="linear") == [three[1]]
    assert found(client, "Error", status="resolved") == []
    assert (
        client.patch(f"/api/v1/issues/{three[2]}", json={"status": "resolved"}, headers=ADMIN).status_code
        == 200
    )
    assert found(client, "Error", status="resolved") == [three[2]]


def test_a_later_report_of_an_issue_adds_no_search_row(client: TestClient, database_url: str) -> None:
    issue = store(client, error_name="KeyError", traceback=PANDAS)
    for _ in range(3):
        assert store(client, error_name="KeyError", traceback=PANDAS, error_message="'other'") == issue
    assert search_rows(database_url) == 1
    assert found(client, "protein_id") == [issue], "the issue is found by its first report's text"


def test_a_query_too_long_is_refused_by_name(client: TestClient) -> None:
    answer = client.get("/api/v1/issues", params={"q": "x" * 201}, headers=ADMIN)
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["query", "q"]


def search_rows(database_url: str) -> int:
    database = Database(database_url)
    try:
        with database.engine.connect() as connection:
            return int(connection.scalar(text("SELECT count(*) FROM issue_search")) or 0)
    finally:
        database.dispose()


def test_migration_0004_indexes_the_issues_stored_before_it(
    make_client: MakeClient, database_url: str
) -> None:
    client = make_client()
    key = store(client, error_name="KeyError", traceback=PANDAS, first_line="# Load it")
    purged = store(client, error_name="LinAlgError", traceback=NUMPY)
    database = Database(database_url)
    try:
        with database.write_engine.begin() as connection:  # as retention would have
            connection.execute(text("DELETE FROM event WHERE issue_id = :id"), {"id": purged})
        with database.write_engine.begin() as connection:  # back to the schema before the search
            config = schema.alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0002")
        assert "issue_search" not in tables(database)
        create_db(database_url)
        assert schema.current_revision(database) == schema.head_revision()
    finally:
        database.dispose()
    assert search_rows(database_url) == 2
    client = make_client()
    assert found(client, "Load it") == [key], "the first line of its oldest report"
    assert found(client, "linalg.py inv") == [purged], "a purged issue: by its culprit"
    assert store(client, error_name="NameError", first_line="print(undefined_name)", traceback=CELL)
    assert len(found(client, "undefined_name")) == 1


def tables(database: Database) -> List[str]:
    return inspect(database.engine).get_table_names()


def test_issue_text_holds_each_frame_once_and_is_bounded() -> None:
    frames = PANDAS + PANDAS
    made = search.issue_text("KeyError", "'x'", "df['x']", frames)
    assert made.splitlines() == [
        "KeyError",
        "'x'",
        "df['x']",
        "<cell 3> <module>",
        "pandas/core/frame.py __getitem__",
    ]
    assert len(search.issue_text("E", "m" * 20_000, "", [])) == search.MAX_TEXT


def test_query_terms_and_patterns() -> None:
    assert search.query_terms("  a  B b  c ") == ["a", "B", "c"]
    assert len(search.query_terms(" ".join(str(n) for n in range(20)))) == search.MAX_TERMS
    assert search.like_pattern("50%_\\") == "%50\\%\\_\\\\%"
    assert search.fts5_phrase('say "hi"') == '"say ""hi"""'


def test_the_search_is_served_by_an_index(database: Database) -> None:
    """PostgreSQL: pg_trgm's GIN index on the text; SQLite: an FTS5 table with the trigram tokenizer."""
    with database.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            made = connection.scalar(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_issue_search_text'")
            )
            assert made is not None and "gin_trgm_ops" in made and "USING gin" in made
        else:
            made = connection.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'issue_search'"))
            assert made is not None and "fts5" in made and "trigram" in made


@pytest.mark.skipif(not is_postgres(), reason="needs NER_TEST_DATABASE_URL=postgresql://...")
def test_a_database_user_who_may_not_create_extensions_still_gets_a_search(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL: a user with rights on its own schema only (no CREATE on the database, so no
    CREATE EXTENSION): migration 0004 passes, with or without the trigram index, and search works."""
    import psycopg

    role = f"ner_plain_{uuid.uuid4().hex[:10]}"
    schema_name = unquote(database_url.rsplit("options=", 1)[1]).split("search_path=", 1)[1]
    with psycopg.connect(psycopg_url(server_url()), autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
        admin.execute(f'GRANT USAGE, CREATE ON SCHEMA "{schema_name}" TO "{role}"')
    try:
        plain_url = database_url.replace("://postgres@", f"://{role}@", 1)
        assert plain_url != database_url
        create_db(plain_url)
        database = Database(plain_url)
        try:
            with database.engine.connect() as connection:
                assert connection.scalar(text("SELECT current_user")) == role
                indexed = connection.scalar(
                    text("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_issue_search_text'")
                )
            assert indexed or "without a trigram index" in caplog.text
        finally:
            database.dispose()
        client = TestClient(create_app(plain_url, admin_token=ADMIN_TOKEN))
        with client:
            issue = store(client, error_name="LinAlgError", traceback=NUMPY)
            assert found(client, "linalg inv") == [issue]
    finally:
        with psycopg.connect(psycopg_url(server_url()), autocommit=True) as admin:
            admin.execute(f'DROP OWNED BY "{role}"')
            admin.execute(f'DROP ROLE "{role}"')


def test_regrouping_leaves_every_issue_findable(make_client: MakeClient, database_url: str) -> None:
    """``regroup`` splits an issue a client had grouped: the new issue is found by its own text."""
    client = make_client()
    together = {
        store(client, fingerprint=["db-down"], **fields)
        for fields in ({}, {"error_name": "TimeoutError", "first_line": "# Save the results"})
    }
    assert len(together) == 1 and found(client, "TimeoutError") == []  # its first report is the KeyError
    database = Database(database_url)
    try:
        with database.write_engine.begin() as connection:  # the client's grouping forgotten
            connection.execute(text("UPDATE event SET custom_fingerprint = NULL"))
    finally:
        database.dispose()
    assert cli.main(["regroup", "--database-url", database_url]) == 0
    issues = client.get("/api/v1/issues", headers=ADMIN).json()["items"]
    timeout = [issue["id"] for issue in issues if issue["error_name"] == "TimeoutError"]
    assert len(issues) == 2 and len(timeout) == 1
    assert found(client, "save the results") == timeout
    assert len(found(client, "protein")) == 2, "both by the first line they share"
