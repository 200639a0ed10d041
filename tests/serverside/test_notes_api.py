"""Notes and versions through the API: PATCH of a note and fixed version, the public notes of a
notebook (ETag, 304, no counts), versions on the issue, the version and first-line filters."""

from __future__ import annotations

from typing import Any, Dict

import pytest
from fastapi.testclient import TestClient

from notebook_error_reporter.fingerprint import of_report

from .helpers import ADMIN, issue_of, make_event


def _report(http: TestClient, **fields: Any) -> int:
    answer = http.post("/api/v1/events", json=make_event(**fields))
    assert answer.status_code == 201, answer.text
    issue_id: int = answer.json()["issue_id"]
    return issue_id


def _patch(client: TestClient, issue_id: int, body: Dict[str, Any]) -> Any:
    return client.patch(f"/api/v1/issues/{issue_id}", json=body, headers=ADMIN)


def test_a_note_is_set_shown_and_removed(client: TestClient) -> None:
    issue_id = _report(client)
    body = {
        "note": "pandas 2.2 renamed this; run !pip install pandas==2.1",
        "note_url": "https://example.org/fix",
    }
    answer = _patch(client, issue_id, body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["note"] == body["note"] and answer.json()["status"] == "open"
    assert issue_of(client, issue_id)["note_url"] == "https://example.org/fix"
    # Only the fields named change: removing the note keeps the link.
    assert _patch(client, issue_id, {"note": None}).status_code == 200
    issue = issue_of(client, issue_id)
    assert issue["note"] is None and issue["note_url"] == "https://example.org/fix"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"note": "x" * 501}, "note"),
        ({"note": "bell \x07"}, "note"),
        ({"note_url": "javascript:alert(1)"}, "note_url"),
        ({"note_url": "ftp://example.org/a"}, "note_url"),
        ({"note_url": "https://"}, "note_url"),
        ({"note_url": "https://example.org/a b"}, "note_url"),
        ({"fixed_in_version": "v" * 65}, "fixed_in_version"),
        ({"status": "closed"}, "status"),
    ],
)
def test_a_bad_note_is_a_422_naming_the_field_and_changes_nothing(
    client: TestClient, body: Dict[str, Any], field: str
) -> None:
    issue_id = _report(client)
    assert _patch(client, issue_id, {"note": "kept"}).status_code == 200
    answer = _patch(client, issue_id, body)
    assert answer.status_code == 422, answer.text
    assert any(error["loc"][-1] == field for error in answer.json()["detail"]), answer.json()
    assert issue_of(client, issue_id)["note"] == "kept"


def test_an_empty_patch_is_refused_and_a_note_needs_the_admin(client: TestClient) -> None:
    issue_id = _report(client)
    assert _patch(client, issue_id, {}).status_code == 422
    assert _patch(client, issue_id, {"status": None}).status_code == 422
    assert client.patch(f"/api/v1/issues/{issue_id}", json={"note": "x"}).status_code == 401
    assert _patch(client, 999_999, {"note": "x"}).status_code == 404


def test_public_notes_list_only_notes_and_fixes_and_are_cacheable(client: TestClient) -> None:
    noted_event, fixed_event = make_event(notebook="nb"), make_event(notebook="nb", error_name="ValueError")
    noted = client.post("/api/v1/events", json=noted_event).json()["issue_id"]
    fixed = client.post("/api/v1/events", json=fixed_event).json()["issue_id"]
    _report(client, notebook="nb", error_name="TypeError")  # neither: not listed
    assert (
        _patch(client, noted, {"note": "use the new copy", "note_url": "http://example.org/"}).status_code
        == 200
    )
    assert _patch(client, fixed, {"status": "resolved", "fixed_in_version": "2.0"}).status_code == 200

    answer = client.get("/api/v1/notebooks/nb/notes")
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "public, max-age=60"
    etag = answer.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    notes = answer.json()["notes"]
    assert answer.json()["notebook"] == "nb"
    by_print = {note["fingerprint"]: note for note in notes}
    assert by_print == {
        of_report(noted_event): {
            "fingerprint": of_report(noted_event),
            "note": "use the new copy",
            "note_url": "http://example.org/",
            "fixed_in_version": None,
        },
        of_report(fixed_event): {
            "fingerprint": of_report(fixed_event),
            "note": None,
            "note_url": None,
            "fixed_in_version": "2.0",
        },
    }
    again = client.get("/api/v1/notebooks/nb/notes", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    # A changed note changes the tag.
    assert _patch(client, noted, {"note": "changed"}).status_code == 200
    changed = client.get("/api/v1/notebooks/nb/notes", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_an_unknown_notebook_has_no_notes(client: TestClient) -> None:
    answer = client.get("/api/v1/notebooks/nobody-has-this/notes")
    assert answer.status_code == 200
    assert answer.json() == {"notebook": "nobody-has-this", "notes": []}


def test_public_notes_are_rate_limited_per_address(make_client: Any) -> None:
    client = make_client(rate_limit_address="2/minute")
    statuses = [client.get("/api/v1/notebooks/nb/notes").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_versions_are_stored_counted_and_filter_the_list(client: TestClient) -> None:
    client_fields = {"reporter": "0.3", "python": "3.11", "ipython": "8", "platform": "linux"}
    colab = {**client_fields, "colab_release": "release-colab_20261201-060000", "copy_id": "abc123"}
    issue_id = _report(client, notebook_version="1.0", client=colab)
    _report(client, notebook_version="1.0")
    _report(client, notebook_version="2026-12-01")
    _report(client)
    other = _report(client, error_name="ValueError", notebook_version="3.0")
    versions = {v["version"]: v["count"] for v in issue_of(client, issue_id)["versions"]}
    assert versions == {"1.0": 2, "2026-12-01": 1, None: 1}
    events = client.get(f"/api/v1/issues/{issue_id}/events", headers=ADMIN).json()["items"]
    stored = [e for e in events if e["client"].get("copy_id")]
    assert stored[0]["client"]["colab_release"] == "release-colab_20261201-060000"
    assert stored[0]["notebook_version"] == "1.0"
    page = client.get("/api/v1/issues", params={"version": "3.0"}, headers=ADMIN).json()
    assert [i["id"] for i in page["items"]] == [other] and page["total"] == 1
    both = client.get("/api/v1/issues", params={"version": "1.0"}, headers=ADMIN).json()
    assert [i["id"] for i in both["items"]] == [issue_id]


def test_a_bad_version_is_rejected_alone(client: TestClient) -> None:
    good, bad = make_event(notebook_version="1.0"), make_event(notebook_version="v" * 65)
    answer = client.post(
        "/api/v1/events/batch", json={"events": [good, bad, make_event(notebook_version="")]}
    )
    assert [r["status"] for r in answer.json()["results"]] == ["created", "rejected", "rejected"]
    assert "notebook_version" in answer.json()["results"][1]["detail"]


def test_the_list_filters_by_a_cells_first_line(client: TestClient) -> None:
    loading = _report(client, notebook="nb", first_line="df = load()")
    _report(client, notebook="nb", error_name="ValueError", first_line="plot(df)")
    _report(client, notebook="other", first_line="df = load()")
    page = client.get(
        "/api/v1/issues", params={"notebook": "nb", "first_line": "df = load()"}, headers=ADMIN
    ).json()
    assert [i["id"] for i in page["items"]] == [loading]


def test_a_notebook_name_with_a_slash_or_spaces_has_its_notes(client: TestClient) -> None:
    event = make_event(notebook="course/week 1 ü")
    issue_id = client.post("/api/v1/events", json=event).json()["issue_id"]
    assert _patch(client, issue_id, {"note": "see the new copy"}).status_code == 200
    answer = client.get("/api/v1/notebooks/course%2Fweek%201%20%C3%BC/notes")
    assert answer.status_code == 200, answer.text
    assert answer.json()["notebook"] == "course/week 1 ü"
    assert [note["note"] for note in answer.json()["notes"]] == ["see the new copy"]
