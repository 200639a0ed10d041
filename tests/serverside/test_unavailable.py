"""The database unreachable: 503 with Retry-After (never 500), and /healthz says so."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from notebook_error_reporter.serverside import create_app

from .helpers import ADMIN, make_event


def test_unreachable_database_is_503_with_retry_after(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing-directory' / 'errors.db'}"
    app = create_app(url, admin_token="x" * 20, migrate=False)
    with TestClient(app) as client:
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["database"] == "unreachable"
        for answer in (
            client.post("/api/v1/events", json=make_event()),
            client.post("/api/v1/events/batch", json={"events": [make_event()]}),
            client.post("/usages/", json={"notebook": "x"}),
            client.get("/api/v1/issues", headers={"Authorization": "Bearer " + "x" * 20}),
        ):
            assert answer.status_code == 503, answer.text
            assert int(answer.headers["retry-after"]) > 0
            assert "retry" in answer.json()["detail"]


def test_healthz_reports_a_reachable_database(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "database": "reachable"}
    assert client.get("/", headers=ADMIN).json()["docs"] == "/docs"
