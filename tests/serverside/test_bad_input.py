"""Every bad-input rule: 400 for non-JSON, 422 naming the field, 413 before reading, 404; nothing stored."""

from __future__ import annotations

import json
import uuid
from typing import Any, Dict, Iterator

import pytest
from fastapi.testclient import TestClient

from notebook_error_reporter.serverside.api.errors import NOT_JSON

from .helpers import ADMIN, make_event

NOT_JSON_BODIES = [
    pytest.param(b"{not json", {"content-type": "application/json"}, id="syntax error"),
    pytest.param(b"", {"content-type": "application/json"}, id="empty"),
    pytest.param(b"[1, 2]", {"content-type": "application/json"}, id="array"),
    pytest.param(b'"text"', {"content-type": "application/json"}, id="string"),
    pytest.param(b"null", {"content-type": "application/json"}, id="null"),
    pytest.param(b"\xff\xfe{}", {"content-type": "application/json"}, id="not utf-8"),
    pytest.param(b'{"a": 1}', {"content-type": "text/plain"}, id="not labelled json"),
    pytest.param(b"a=1&b=2", {"content-type": "application/x-www-form-urlencoded"}, id="form"),
    pytest.param(b'{"a": 1}', {"content-type": ""}, id="not labelled"),
]


def _nothing_stored(client: TestClient) -> None:
    assert client.get("/api/v1/notebooks", headers=ADMIN).json() == []
    assert client.get("/api/v1/issues", headers=ADMIN).json()["total"] == 0


@pytest.fixture
def usage_uuid(client: TestClient) -> str:
    uuid_: str = client.post("/usages/", json={"notebook": "old"}).json()["uuid"]
    return uuid_


@pytest.mark.parametrize(("body", "headers"), NOT_JSON_BODIES)
@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/events/batch"])
def test_non_json_is_a_400_with_the_exact_message(
    client: TestClient, path: str, body: bytes, headers: Dict[str, str]
) -> None:
    answer = client.post(path, content=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json() == {"detail": NOT_JSON}
    _nothing_stored(client)


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", "application/report+json"]
)
def test_a_report_labelled_json_in_any_of_its_spellings_is_stored(
    client: TestClient, content_type: str
) -> None:
    event = make_event()
    answer = client.post("/api/v1/events", content=json.dumps(event), headers={"content-type": content_type})
    assert answer.status_code == 201, answer.text
    assert answer.json()["event_id"] == event["event_id"]


@pytest.mark.parametrize(("body", "headers"), NOT_JSON_BODIES[:3])
def test_non_json_is_a_400_on_the_01_routes_and_patch_too(
    client: TestClient, usage_uuid: str, body: bytes, headers: Dict[str, str]
) -> None:
    for method, path, extra in (
        ("POST", "/usages/", {}),
        ("POST", f"/errors/{usage_uuid}/", {}),
        ("PATCH", "/api/v1/issues/1", ADMIN),
    ):
        answer = client.request(method, path, content=body, headers={**headers, **extra})
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json() == {"detail": NOT_JSON}


WRONG_FIELDS = [
    pytest.param({"execution_count": "7"}, ["execution_count"], id="number as string"),
    pytest.param({"execution_count": True}, ["execution_count"], id="bool as number"),
    pytest.param({"execution_count": 2**40}, ["execution_count"], id="count too large"),
    pytest.param({"execution_count": -2}, ["execution_count"], id="count below -1"),
    pytest.param({"event_id": "not-a-uuid"}, ["event_id"], id="event id not a uuid"),
    pytest.param({"event_id": 12345}, ["event_id"], id="event id a number"),
    pytest.param({"session_id": "0" * 31}, ["session_id"], id="session id too short"),
    pytest.param({"occurred_at": "2024-05-01T12:00:00"}, ["occurred_at"], id="naive timestamp"),
    pytest.param({"occurred_at": "yesterday"}, ["occurred_at"], id="not a timestamp"),
    pytest.param({"occurred_at": 1714564800}, ["occurred_at"], id="epoch number"),
    pytest.param({"notebook": ""}, ["notebook"], id="empty notebook"),
    pytest.param({"notebook": "n" * 201}, ["notebook"], id="notebook too long"),
    pytest.param({"error_name": None}, ["error_name"], id="null error name"),
    pytest.param({"error_message": "m" * 4001}, ["error_message"], id="message too long"),
    pytest.param({"first_line": "f" * 1001}, ["first_line"], id="first line too long"),
    pytest.param({"traceback": "frames"}, ["traceback"], id="traceback not a list"),
    pytest.param(
        {"traceback": [{"filename": "a.py", "fun_name": "f", "lineno": 1}] * 101},
        ["traceback"],
        id="too many frames",
    ),
    pytest.param(
        {"traceback": [{"filename": "a.py", "fun_name": "f", "lineno": "1"}]},
        ["traceback", "0", "lineno"],
        id="frame line as string",
    ),
    pytest.param(
        {"traceback": [{"filename": "a.py", "lineno": 1}]},
        ["traceback", "0", "fun_name"],
        id="frame without function",
    ),
    pytest.param({"client": {"python": 3.11}}, ["client", "python"], id="client version as number"),
]


@pytest.mark.parametrize(("change", "loc"), WRONG_FIELDS)
def test_wrong_field_is_a_422_naming_it_and_stores_nothing(
    client: TestClient, change: Dict[str, Any], loc: Any
) -> None:
    answer = client.post("/api/v1/events", json=make_event(**change))
    assert answer.status_code == 422, answer.text
    locations = [error["loc"] for error in answer.json()["detail"]]
    assert ["body", *loc] in [[str(part) for part in location] for location in locations]
    assert all("input" not in error for error in answer.json()["detail"]), "the input is not echoed"
    _nothing_stored(client)


@pytest.mark.parametrize(
    "field", ["event_id", "session_id", "notebook", "error_name", "traceback", "occurred_at"]
)
def test_missing_field_is_a_422_naming_it(client: TestClient, field: str) -> None:
    event = make_event()
    del event[field]
    answer = client.post("/api/v1/events", json=event)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", field]
    assert answer.json()["detail"][0]["type"] == "missing"


@pytest.mark.parametrize(("change", "loc"), WRONG_FIELDS[:6])
def test_in_a_batch_the_wrong_field_is_named_in_the_rejection(
    client: TestClient, change: Dict[str, Any], loc: Any
) -> None:
    answer = client.post("/api/v1/events/batch", json={"events": [make_event(**change)]})
    [result] = answer.json()["results"]
    assert result["status"] == "rejected"
    assert result["detail"].startswith(".".join(loc) + ":")
    _nothing_stored(client)


def test_body_over_the_limit_is_a_413_from_content_length(make_client: Any) -> None:
    client = make_client(max_body_bytes=4096)
    event = make_event(error_message="x" * 3000, first_line="y" * 900)
    answer = client.post("/api/v1/events", json=event)
    assert answer.status_code == 413
    assert "4096" in answer.json()["detail"]
    _nothing_stored(client)
    assert client.post("/api/v1/events", json=make_event()).status_code == 201, "small bodies still pass"


def test_body_over_the_limit_is_a_413_while_streaming_without_content_length(make_client: Any) -> None:
    client = make_client(max_body_bytes=4096)

    def chunks() -> Iterator[bytes]:
        for _ in range(1000):
            yield b" " * 1024

    answer = client.post(
        "/api/v1/events/batch", content=chunks(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413
    # (TestClient hands the body over in one piece; test_live.py proves the early stop on a socket.)
    _nothing_stored(client)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/sessions/{uuid.uuid4().hex}/events",
        "/api/v1/sessions/not-a-uuid/events",
        "/api/v1/issues/999",
        "/api/v1/issues/999/events",
        f"/usages/{uuid.uuid4().hex}",
        "/usages/garbage",
        "/api/v1/nothing-here",
    ],
)
def test_unknown_ids_are_404(client: TestClient, path: str) -> None:
    assert client.get(path, headers=ADMIN).status_code == 404


def test_unknown_issue_patch_is_404_and_bad_status_is_422(client: TestClient) -> None:
    assert client.patch("/api/v1/issues/999", json={"status": "resolved"}, headers=ADMIN).status_code == 404
    client.post("/api/v1/events", json=make_event())
    wrong = client.patch("/api/v1/issues/1", json={"status": "fixed"}, headers=ADMIN)
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"] == ["body", "status"]


@pytest.mark.parametrize("issue_id", ["0", "-1", str(2**63), "abc"])
def test_impossible_issue_ids_are_422_not_500(client: TestClient, issue_id: str) -> None:
    assert client.get(f"/api/v1/issues/{issue_id}", headers=ADMIN).status_code == 422
