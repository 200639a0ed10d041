"""Regrouping: a 0.2.0 database is regrouped by migration 0003, and again by the CLI to no effect."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from notebook_error_reporter.fingerprint import fingerprint
from notebook_error_reporter.serverside import create_db
from notebook_error_reporter.serverside.cli import main
from notebook_error_reporter.serverside.core.db import Database

from .helpers import ADMIN, MakeClient, make_event
from .old_database import fixture_rows, load_0_2_0


def _rows(database_url: str, sql: str) -> List[Dict[str, Any]]:
    database = Database(database_url)
    try:
        with database.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(text(sql))]
    finally:
        database.dispose()


def _issues(client: TestClient) -> Dict[str, Dict[str, Any]]:
    answer = client.get("/api/v1/issues?limit=100", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return {issue["message"]: issue for issue in answer.json()["items"]}


def _forget_client_grouping(database_url: str) -> None:
    database = Database(database_url)
    try:
        with database.write_engine.begin() as connection:
            connection.execute(text("UPDATE event SET custom_fingerprint = NULL"))
    finally:
        database.dispose()


def test_migration_0003_regroups_a_0_2_0_database(database_url: str, make_client: MakeClient) -> None:
    load_0_2_0(database_url)
    before = fixture_rows()
    create_db(database_url)
    issues = _issues(make_client())

    # Two cells' KeyErrors were one resolved issue: now one each, both still resolved; the part
    # with the old issue's first report keeps its id, and the purged report's count.
    structures, config = issues["'protein_id'"], issues["'api_url'"]
    assert structures["id"] == 3 and config["id"] != 3
    assert (structures["status"], config["status"]) == ("resolved", "resolved")
    assert (structures["event_count"], config["event_count"]) == (3, 1)
    assert structures["session_count"] == 3, "the purged report's session stays counted"
    assert structures["first_seen"].startswith("2026-11-17"), "and its time"
    # Different rows from one cell, and one line's division by zero: one issue each, as before.
    assert issues["'row 17'"]["id"] == 6 and issues["'row 17'"]["event_count"] == 2
    ratios = issues["division by zero"]
    assert (ratios["id"], ratios["status"], ratios["event_count"], ratios["session_count"]) == (
        1,
        "ignored",
        3,
        3,
    )
    # Two missing modules, two issues; two problems without frames, told apart by their messages.
    assert {"No module named 'Bio'", "No module named 'rdkit'"} <= set(issues)
    assert issues["[Errno 2] No such file or directory: 'data/2024-05.csv'"]["event_count"] == 2
    assert issues["[Errno 111] Connection refused"]["event_count"] == 1
    # A v1 and a 0.1 report of one cell stay one issue.
    assert issues["x and y must have the same length"]["event_count"] == 2
    assert len(issues) == 9

    # Nothing lost: every count adds up as before, and the daily and session rows match the issues.
    assert sum(i["event_count"] for i in issues.values()) == sum(i["event_count"] for i in before["issue"])
    for issue in issues.values():
        detail = make_client().get(f"/api/v1/issues/{issue['id']}", headers=ADMIN).json()
        assert sum(day["count"] for day in detail["daily"]) == issue["event_count"], issue["message"]
    sessions = Counter(row["issue_id"] for row in _rows(database_url, "SELECT issue_id FROM issue_session"))
    assert {i["id"]: i["session_count"] for i in issues.values()} == dict(sessions)
    alerts = _rows(
        database_url, "SELECT alert.id, issue.id AS issue FROM alert LEFT JOIN issue ON issue.id = issue_id"
    )
    assert len(alerts) == len(before["alert"]) and all(a["issue"] is not None for a in alerts)

    # Every report is in the issue its fingerprint names.
    stored = _rows(
        database_url,
        "SELECT notebook.name AS notebook, event.error_name, error_message, traceback, first_line,"
        " execution_count, issue.fingerprint FROM event JOIN issue ON issue.id = event.issue_id"
        " JOIN notebook ON notebook.id = event.notebook_id",
    )
    assert len(stored) == len(before["event"])
    for row in stored:
        frames = row["traceback"] if isinstance(row["traceback"], list) else json.loads(row["traceback"])
        assert row["fingerprint"] == fingerprint(
            notebook=row["notebook"],
            error_name=row["error_name"],
            error_message=row["error_message"],
            frames=frames,
            first_line=row["first_line"],
            execution_count=row["execution_count"],
        )

    # The command does the same, and a second regrouping changes nothing.
    issue_rows = _rows(database_url, "SELECT * FROM issue ORDER BY id")
    assert main(["regroup", "--database-url", database_url]) == 0
    assert _rows(database_url, "SELECT * FROM issue ORDER BY id") == issue_rows


def test_regroup_merges_issues_and_moves_the_alerts_of_the_one_deleted(
    database_url: str, make_client: MakeClient
) -> None:
    client = make_client()
    first = client.post("/api/v1/events", json=make_event(error_message="'a'")).json()["issue_id"]
    # The same failure, stored apart by its own fingerprint; then the client's grouping is forgotten.
    second = client.post("/api/v1/events", json=make_event(error_message="'b'", fingerprint=["apart"])).json()
    client.patch(f"/api/v1/issues/{first}", json={"status": "ignored"}, headers=ADMIN)
    _forget_client_grouping(database_url)
    alerts_before = [
        a
        for a in _rows(database_url, "SELECT id, issue_id FROM alert")
        if a["issue_id"] == second["issue_id"]
    ]
    assert alerts_before

    assert main(["regroup", "--database-url", database_url]) == 0

    issues = _issues(client)
    assert list(issues) == ["'a'"]
    merged = issues["'a'"]
    assert (merged["id"], merged["event_count"], merged["session_count"]) == (first, 2, 2)
    assert merged["status"] == "open", "open wins over ignored"
    alert_ids = {a["id"] for a in alerts_before}
    moved = [a for a in _rows(database_url, "SELECT id, issue_id FROM alert") if a["id"] in alert_ids]
    assert len(moved) == len(alert_ids) and {row["issue_id"] for row in moved} == {first}
    assert client.get(f"/api/v1/issues/{second['issue_id']}", headers=ADMIN).status_code == 404


def test_regroup_keeps_the_grouping_a_client_set(database_url: str, make_client: MakeClient) -> None:
    client = make_client()
    ids = {
        client.post("/api/v1/events", json=make_event(fingerprint=["db-down"], **fields)).json()["issue_id"]
        for fields in ({}, {"error_name": "TimeoutError", "first_line": "# Save"})
    }
    client.post("/api/v1/events", json=make_event())
    before = _rows(database_url, "SELECT * FROM issue ORDER BY id")
    assert len(ids) == 1 and len(before) == 2
    assert main(["regroup", "--database-url", database_url]) == 0
    assert _rows(database_url, "SELECT * FROM issue ORDER BY id") == before


def test_regroup_command_says_what_it_did_or_why_it_could_not(
    database_url: str, make_client: MakeClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_client().post("/api/v1/events", json=make_event())
    assert main(["regroup", "--database-url", database_url]) == 0
    assert capsys.readouterr().out == "regroup: 1 report(s), 0 moved; 1 issue(s) before, 1 now\n"
    missing = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'errors.db'}"
    assert main(["regroup", "--database-url", missing]) == 1
    said = capsys.readouterr()
    assert said.err.startswith("notebook-error-server: regroup: no database at ")
    assert said.err.endswith("; nothing was changed\n") and len(said.err.splitlines()) == 1
    assert "Traceback" not in said.err + said.out


NOTES = {"note": "Run the setup cell first", "note_url": "https://example.org/fix", "fixed_in_version": "2.1"}


def test_regroup_keeps_the_note_and_fixed_version_in_every_part_of_a_split(
    database_url: str, make_client: MakeClient
) -> None:
    client = make_client()
    ids = {
        client.post("/api/v1/events", json=make_event(fingerprint=["db-down"], **fields)).json()["issue_id"]
        for fields in ({}, {"error_name": "TimeoutError", "error_message": "slow"})
    }
    (issue_id,) = ids
    answer = client.patch(f"/api/v1/issues/{issue_id}", json={"status": "resolved", **NOTES}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    _forget_client_grouping(database_url)

    assert main(["regroup", "--database-url", database_url]) == 0

    parts = _issues(client)
    assert sorted(parts) == ["'protein_id'", "slow"]
    for part in parts.values():
        assert part["status"] == "resolved"
        assert {name: part[name] for name in NOTES} == NOTES


def test_regroup_keeps_the_note_of_the_issue_whose_status_wins_a_merge(
    database_url: str, make_client: MakeClient
) -> None:
    client = make_client()
    first, _, third = (
        client.post("/api/v1/events", json=make_event(error_message=message, **grouping)).json()["issue_id"]
        for message, grouping in (
            ("'a'", {}),
            ("'b'", {"fingerprint": ["b"]}),
            ("'c'", {"fingerprint": ["c"]}),
        )
    )
    # The second stays open without a note: its status wins, its note falls back to the next in rank.
    notes = {
        first: dict(NOTES, note="ignored's"),
        third: dict(NOTES, note="resolved's", fixed_in_version="3"),
    }
    changes = {first: {"status": "ignored", **notes[first]}, third: {"status": "resolved", **notes[third]}}
    for issue_id, body in changes.items():
        assert client.patch(f"/api/v1/issues/{issue_id}", json=body, headers=ADMIN).status_code == 200
    _forget_client_grouping(database_url)

    assert main(["regroup", "--database-url", database_url]) == 0

    (merged,) = _issues(client).values()
    assert (merged["id"], merged["status"]) == (first, "open")
    assert {name: merged[name] for name in NOTES} == notes[third], "resolved ranks before ignored"


def test_regroup_moves_the_versions_an_issue_was_reported_from_with_its_reports(
    database_url: str, make_client: MakeClient
) -> None:
    client = make_client()
    split = (
        {"notebook_version": "1.0"},
        {"error_name": "TimeoutError", "error_message": "slow", "notebook_version": "2.0"},
    )
    for fields in split:
        client.post("/api/v1/events", json=make_event(fingerprint=["db-down"], **fields))
    _forget_client_grouping(database_url)

    assert main(["regroup", "--database-url", database_url]) == 0

    def reported_from(version: str) -> List[str]:
        answer = client.get(f"/api/v1/issues?version={version}", headers=ADMIN)
        assert answer.status_code == 200, answer.text
        return sorted(issue["message"] for issue in answer.json()["items"])

    assert reported_from("1.0") == ["'protein_id'"]
    assert reported_from("2.0") == ["slow"]
