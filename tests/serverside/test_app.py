"""create_app / create_db: the 0.1 import path and keywords, safe defaults, the root pointer."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from notebook_error_reporter.serverside import create_app, create_db

from .helpers import make_event


def test_01_keywords_still_work_with_safe_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for variable in ("DATABASE_URL", "NOTEBOOK_ERROR_REPORTER_MAX_TRANSPARENCY"):
        monkeypatch.delenv(variable, raising=False)
    create_db()
    assert (tmp_path / "notebook_errors.db").exists(), "the embedded default: a SQLite file here"
    with TestClient(create_app()) as default:
        assert default.get("/api/v1/issues").status_code == 401, "max_transparency is off by default"
        assert default.post("/api/v1/events", json=make_event()).status_code == 201
    with TestClient(create_app(debug=True, colab_only=False, max_transparency=True)) as open_app:
        assert open_app.app.debug is True  # type: ignore[attr-defined]
        assert open_app.get("/api/v1/issues").json()["total"] == 1


def test_a_positional_01_flag_is_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match="by name"):
        create_app(True)  # type: ignore[arg-type]


def test_unknown_option_is_refused() -> None:
    with pytest.raises(TypeError, match="colour"):
        create_app("sqlite://", colour="blue")


def test_root_points_to_the_api_and_the_docs(client: TestClient) -> None:
    pointer = client.get("/").json()
    assert pointer["api"] == "/api/v1" and pointer["docs"] == "/docs" and pointer["health"] == "/healthz"
    assert pointer["service"] == "notebook-error-reporter"


def test_two_apps_in_one_process_share_nothing(make_client: object, tmp_path: Path) -> None:
    first = create_app(f"sqlite:///{tmp_path / 'a.db'}", max_transparency=True)
    second = create_app(f"sqlite:///{tmp_path / 'b.db'}", max_transparency=True)
    with TestClient(first) as a, TestClient(second) as b:
        a.post("/api/v1/events", json=make_event())
        assert a.get("/api/v1/issues").json()["total"] == 1
        assert b.get("/api/v1/issues").json()["total"] == 0
