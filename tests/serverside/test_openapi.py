"""/docs stays accurate: every route is in the OpenAPI document with its error answers and examples."""

from __future__ import annotations

from typing import Any, Dict

import pytest
from fastapi.testclient import TestClient

ROUTES = {
    ("post", "/api/v1/events"): {"201", "200", "400", "413", "422", "429", "503"},
    ("post", "/api/v1/events/batch"): {"200", "400", "413", "422", "429", "503"},
    ("get", "/api/v1/sessions/{session_id}/events"): {"200", "404", "429", "503"},
    ("get", "/api/v1/notebooks"): {"200", "401", "403", "503"},
    ("get", "/api/v1/issues"): {"200", "401", "403", "422", "503"},
    ("get", "/api/v1/issues/{issue_id}"): {"200", "401", "403", "404", "503"},
    ("get", "/api/v1/issues/{issue_id}/events"): {"200", "401", "403", "404", "503"},
    ("patch", "/api/v1/issues/{issue_id}"): {"200", "401", "403", "404", "422", "503"},
    ("post", "/api/v1/admin/purge"): {"200", "401", "403", "422"},
    ("get", "/healthz"): {"200", "503"},
    ("post", "/usages/"): {"200", "400", "422", "429"},
    ("post", "/errors/{uuid}/"): {"200", "404", "422", "429"},
    ("get", "/usages/{uuid}"): {"200", "404"},
    ("get", "/usages/"): {"200", "401", "403"},
    ("get", "/errors/"): {"200", "401", "403"},
}


@pytest.fixture
def spec(client: TestClient) -> Dict[str, Any]:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    document: Dict[str, Any] = answer.json()
    return document


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES))
def test_route_is_documented_with_its_answers(spec: Dict[str, Any], method: str, path: str) -> None:
    operation = spec["paths"][path][method]
    assert ROUTES[(method, path)] <= set(operation["responses"]), operation["responses"].keys()
    for code, answer in operation["responses"].items():
        if code.startswith(("4", "5")):
            assert answer["content"]["application/json"]["example"], (path, code)
    assert operation.get("summary")


def test_event_schema_has_an_example_and_the_batch_refers_to_it(spec: Dict[str, Any]) -> None:
    event = spec["components"]["schemas"]["EventCreate"]
    assert event["examples"][0]["error_name"] == "KeyError"
    assert set(event["required"]) >= {"event_id", "session_id", "notebook", "occurred_at", "traceback"}
    assert event["properties"]["occurred_at"]["format"] == "date-time"
    batch = spec["components"]["schemas"]["BatchCreate"]
    assert batch["properties"]["events"]["items"] == {"$ref": "#/components/schemas/EventCreate"}
    assert batch["properties"]["events"]["maxItems"] == 100


def test_admin_routes_declare_the_bearer_scheme(spec: Dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/notebooks"]["get"]["security"] == [{"HTTPBearer": []}]


def test_docs_page_is_served(client: TestClient) -> None:
    assert "swagger" in client.get("/docs").text.lower()
