"""With ``max_transparency`` anybody may read, but no public read shows a session id (the key to
read and write that session): the API, the 0.1 listings and the dashboard show a short label."""

from __future__ import annotations

import re
import uuid
from typing import Dict, List

import pytest
from fastapi.testclient import TestClient

from notebook_error_reporter.serverside.session_labels import session_label

from .helpers import ADMIN, MakeClient, make_event

HTML = {"Accept": "text/html"}
WRONG = {"Authorization": "Bearer wrong-token-0123456789abcdef0123456789"}
LABEL = re.compile(r"^[0-9a-f]{8}$")
LEGACY_ERROR = {
    "error_name": "KeyError",
    "error_message": "'x'",
    "traceback": [],
    "execution_count": 1,
    "first_line": "x",
}


@pytest.fixture
def public(make_client: MakeClient) -> TestClient:
    return make_client(max_transparency=True)


def sessions_with_reports(client: TestClient) -> Dict[str, int]:
    """Two v1 sessions and one 0.1 usage with reports of one issue: {session id: issue id}."""
    found = {}
    for session_id in (uuid.uuid4().hex, uuid.uuid4().hex):
        for _ in range(2):
            answer = client.post("/api/v1/events", json=make_event(session_id=session_id))
            assert answer.status_code in (200, 201), answer.text
            found[session_id] = int(answer.json()["issue_id"])
    usage = client.post("/usages/", json={"notebook": "protein-design"}).json()["uuid"]
    assert client.post(f"/errors/{usage}/", json=LEGACY_ERROR).status_code == 200
    found[usage] = 0
    return found


def public_reads(client: TestClient, issue_id: int, headers: Dict[str, str]) -> List[str]:
    answers = [
        client.get("/usages/", headers=headers),
        client.get("/errors/", headers=headers),
        client.get(f"/api/v1/issues/{issue_id}/events", headers=headers),
        client.get(f"/issues/{issue_id}/reports", headers={**HTML, **headers}),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
    return [answer.text for answer in answers]


@pytest.mark.parametrize("headers", [{}, WRONG], ids=["no token", "a wrong token"])
def test_public_reads_show_labels_never_session_ids(public: TestClient, headers: Dict[str, str]) -> None:
    sessions = sessions_with_reports(public)
    issue_id = max(sessions.values())
    for text in public_reads(public, issue_id, headers):
        for session_id in sessions:
            assert session_id not in text and session_id[:8] not in text
    events = public.get(f"/api/v1/issues/{issue_id}/events", headers=headers).json()["items"]
    labels = [event["session_id"] for event in events]
    assert all(LABEL.match(label) for label in labels) and len(labels) == 4 and len(set(labels)) == 2
    usages = public.get("/usages/", headers=headers).json()
    assert {"id", "ip", "uuid", "notebook", "timestamp", "errors"} <= set(usages[0]), "0.1's shape is kept"
    assert all(LABEL.match(usage["uuid"]) for usage in usages)
    errors = public.get("/errors/", headers=headers).json()
    assert {error["usage_uuid"] for error in errors} == {usage["uuid"] for usage in usages}
    page = public.get(f"/issues/{issue_id}/reports", headers=HTML).text
    assert all(f"<code>{label}</code>" in page for label in labels)


def test_a_label_is_not_a_key_to_the_session(public: TestClient) -> None:
    sessions = sessions_with_reports(public)
    for usage in public.get("/usages/").json():
        assert public.post(f"/errors/{usage['uuid']}/", json=LEGACY_ERROR).status_code == 404
        assert public.get(f"/usages/{usage['uuid']}").status_code == 404
    key = public.app.state.server.session_label_secret()  # type: ignore[attr-defined]
    label = session_label(key, next(iter(sessions)))
    assert public.get(f"/api/v1/sessions/{label}/events").status_code in (404, 422)


def test_the_admin_still_sees_the_session_ids(public: TestClient) -> None:
    sessions = sessions_with_reports(public)
    issue_id = max(sessions.values())
    events = public.get(f"/api/v1/issues/{issue_id}/events", headers=ADMIN).json()["items"]
    assert {event["session_id"] for event in events} <= set(sessions) and len(events) == 4
    assert {usage["uuid"] for usage in public.get("/usages/", headers=ADMIN).json()} == set(sessions)
    assert {error["usage_uuid"] for error in public.get("/errors/", headers=ADMIN).json()} == set(sessions)


def test_a_session_reads_its_own_reports_with_its_id(public: TestClient) -> None:
    sessions = sessions_with_reports(public)
    session_id, usage = list(sessions)[0], list(sessions)[-1]
    own = public.get(f"/api/v1/sessions/{session_id}/events").json()
    assert {event["session_id"] for event in own} == {session_id}
    assert public.get(f"/usages/{usage}").json()["uuid"] == usage
