"""The routes of version 0.1 keep their shapes, scrub what old clients send, and join the v1 issues."""

from __future__ import annotations

from typing import Any, Dict

import pytest
from fastapi.testclient import TestClient

from .helpers import ADMIN, make_event

USAGE_KEYS = {"id", "ip", "uuid", "notebook", "timestamp", "errors"}
ERROR_KEYS = {
    "id",
    "usage_uuid",
    "timestamp",
    "error_name",
    "error_message",
    "traceback",
    "execution_count",
    "first_line",
}

# What the 0.1.1 client really sends from Colab: raw message, raw traceback with IPython on top,
# site-packages cut off library paths, a cell named by IPython.
OLD_REPORT: Dict[str, Any] = {
    "error_name": "KeyError",
    "error_message": "'protein_id' while reading /home/alice/data.csv",
    "traceback": [
        {"filename": "/IPython/core/interactiveshell.py", "fun_name": "run_code", "lineno": 3553},
        {"filename": "<ipython-input-7-3f2a1b>", "fun_name": "<module>", "lineno": 2},
        {"filename": "/pandas/core/frame.py", "fun_name": "__getitem__", "lineno": 3761},
    ],
    "execution_count": 7,
    "first_line": "# Load the proteins",
    "notebook": "protein-design",
}


@pytest.fixture
def usage(client: TestClient) -> Dict[str, Any]:
    answer = client.post("/usages/", json={"notebook": "protein-design"})
    assert answer.status_code == 200, answer.text
    body: Dict[str, Any] = answer.json()
    return body


def test_post_usage_has_the_01_shape_and_hides_the_address(usage: Dict[str, Any]) -> None:
    assert set(usage) == USAGE_KEYS
    assert usage["ip"] == "hidden"
    assert usage["notebook"] == "protein-design" and usage["errors"] == []
    assert len(usage["uuid"]) == 32 and int(usage["uuid"], 16) >= 0
    assert isinstance(usage["id"], int) and usage["timestamp"]


def test_post_error_has_the_01_shape_and_is_scrubbed(client: TestClient, usage: Dict[str, Any]) -> None:
    answer = client.post(f"/errors/{usage['uuid']}/", json=OLD_REPORT)
    assert answer.status_code == 200, answer.text
    error = answer.json()
    assert set(error) == ERROR_KEYS
    assert error["usage_uuid"] == usage["uuid"] and error["execution_count"] == 7
    assert "alice" not in error["error_message"] and "data.csv" in error["error_message"]
    assert error["traceback"] == [
        {"filename": "<cell 7>", "fun_name": "<module>", "lineno": 2},
        {"filename": "pandas/core/frame.py", "fun_name": "__getitem__", "lineno": 3761},
    ], "IPython's machinery is dropped, the cell named, the library path kept"


def test_old_and_new_reports_of_the_same_code_share_an_issue(
    client: TestClient, usage: Dict[str, Any]
) -> None:
    client.post(f"/errors/{usage['uuid']}/", json=OLD_REPORT)
    new = client.post("/api/v1/events", json=make_event())
    assert new.status_code == 201
    issues = client.get("/api/v1/issues", headers=ADMIN).json()
    assert issues["total"] == 1 and issues["items"][0]["event_count"] == 2
    assert new.json()["issue_id"] == issues["items"][0]["id"]


def test_get_usage_is_01s_retrieve_errors(client: TestClient, usage: Dict[str, Any]) -> None:
    client.post(f"/errors/{usage['uuid']}/", json=OLD_REPORT)
    client.post(f"/errors/{usage['uuid']}/", json=dict(OLD_REPORT, error_name="ValueError"))
    answer = client.get(f"/usages/{usage['uuid']}")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == USAGE_KEYS and body["ip"] == "hidden"
    assert [e["error_name"] for e in body["errors"]] == ["KeyError", "ValueError"]
    assert all(set(e) == ERROR_KEYS for e in body["errors"])


def test_lists_need_the_admin_and_keep_the_01_shapes(client: TestClient, usage: Dict[str, Any]) -> None:
    client.post(f"/errors/{usage['uuid']}/", json=OLD_REPORT)
    assert client.get("/usages/").status_code == 401
    usages = client.get("/usages/", headers=ADMIN).json()
    assert [u["uuid"] for u in usages] == [usage["uuid"]] and len(usages[0]["errors"]) == 1
    errors = client.get("/errors/", headers=ADMIN, params={"skip": 0, "limit": 10}).json()
    assert len(errors) == 1 and set(errors[0]) == ERROR_KEYS
    assert client.get("/errors/", headers=ADMIN, params={"skip": 1}).json() == []


def test_unknown_usage_is_404(client: TestClient) -> None:
    assert client.post("/errors/0123456789abcdef0123456789abcdef/", json=OLD_REPORT).status_code == 404
    assert client.post("/errors/not-a-uuid/", json=OLD_REPORT).status_code == 404


def test_01_reports_are_lenient_but_bounded(client: TestClient, usage: Dict[str, Any]) -> None:
    """0.1 clients send uncapped raw text: cut, not refused; frames missing keys still count."""
    odd = {
        "error_name": "E" * 5000,
        "error_message": None,
        "traceback": [{"filename": None}, {"lineno": "x", "fun_name": "f"}],
        "execution_count": -1,
        "first_line": "Unknown",
    }
    answer = client.post(f"/errors/{usage['uuid']}/", json=odd)
    assert answer.status_code == 200, answer.text
    error = answer.json()
    assert len(error["error_name"]) <= 200 and error["error_message"] == ""
    assert error["execution_count"] == -1
    missing = client.post(f"/errors/{usage['uuid']}/", json={"error_name": "E"})
    assert missing.status_code == 422
    assert {tuple(e["loc"]) for e in missing.json()["detail"]} == {
        ("body", "execution_count"),
        ("body", "first_line"),
    }


def test_usage_notebook_is_required(client: TestClient) -> None:
    answer = client.post("/usages/", json={})
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "notebook"]


def test_01_notebook_names_are_cut_not_refused(client: TestClient) -> None:
    long = client.post("/usages/", json={"notebook": "n" * 500}).json()
    assert long["notebook"].startswith("n" * 150) and len(long["notebook"]) <= 200
    assert client.post("/usages/", json={"notebook": "  "}).json()["notebook"] == "unknown"
