"""Who may do what, route by route: every route of ``/openapi.json`` and every dashboard page, called
without credentials, with wrong ones and with the right ones, against a real server.

The expected table is written out below, so a new route fails this test until somebody decides who
may call it. The table measured is printed (``pytest -s`` shows it).
"""

from __future__ import annotations

import re
from typing import Dict, Iterator, List, Tuple

import httpx
import pytest

from .dashboard_client import browser, csrf_token, signed_in
from .helpers import ADMIN_TOKEN, make_event
from .live_server import LiveServer, server_on_fresh_database

WRONG = "wrong-token-0123456789abcdef0123456789"
CREDENTIALS = ("none", "wrong", "right")

# Who may call each route: "anyone" (reports, a session's own reads, health, docs) or "admin".
API: Dict[Tuple[str, str], str] = {
    ("GET", "/healthz"): "anyone",
    ("POST", "/api/v1/events"): "anyone",
    ("POST", "/api/v1/events/batch"): "anyone",
    ("GET", "/api/v1/sessions/{session_id}/events"): "anyone",
    ("GET", "/api/v1/notebooks"): "admin",
    ("GET", "/api/v1/notebooks/{notebook}/notes"): "anyone",
    ("GET", "/api/v1/issues"): "admin",
    ("GET", "/api/v1/issues/{issue_id}"): "admin",
    ("GET", "/api/v1/issues/{issue_id}/events"): "admin",
    ("PATCH", "/api/v1/issues/{issue_id}"): "admin",
    ("POST", "/api/v1/admin/purge"): "admin",
    ("POST", "/usages/"): "anyone",
    ("POST", "/errors/{uuid}/"): "anyone",
    ("GET", "/usages/{uuid}"): "anyone",
    ("GET", "/usages/"): "admin",
    ("GET", "/errors/"): "admin",
}
PAGES: Dict[Tuple[str, str], str] = {
    ("GET", "/"): "admin",
    ("GET", "/issues"): "admin",
    ("GET", "/issues/{issue_id}"): "admin",
    ("GET", "/issues/{issue_id}/reports"): "admin",
    ("GET", "/reports/{event_id}/session"): "admin",
    ("POST", "/issues/{issue_id}/status"): "admin",
    ("POST", "/issues/{issue_id}/note"): "admin",
    ("POST", "/issues/{issue_id}/fixed"): "admin",
    ("GET", "/signin"): "anyone",
}
# What each kind of caller gets: the status codes accepted per (who may, credentials).
API_ANSWERS = {
    ("anyone", "none"): {200, 201},
    ("anyone", "wrong"): {200, 201},
    ("anyone", "right"): {200, 201},
    ("admin", "none"): {401},
    ("admin", "wrong"): {403},
    ("admin", "right"): {200},
}
PAGE_ANSWERS = {
    ("anyone", "none"): {200},
    ("anyone", "wrong"): {200},
    ("anyone", "right"): {200},
    ("admin", "none"): {303, 403},  # pages send you to sign in; the form refuses with 403
    ("admin", "wrong"): {303, 403},
    ("admin", "right"): {200, 303},  # the form redirects back to the issue after changing it
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp_path = tmp_path_factory.mktemp("access")
    with server_on_fresh_database(tmp_path, rate_limit_token_failures="10000/minute") as live:
        yield live


def documented_routes(server: LiveServer) -> List[Tuple[str, str]]:
    spec = httpx.get(server.url("/openapi.json")).json()
    return sorted((method.upper(), path) for path, item in spec["paths"].items() for method in item)


def test_every_documented_route_is_in_the_table(server: LiveServer) -> None:
    assert documented_routes(server) == sorted(API)


def fill(path: str, ids: Dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)


def api_call(server: LiveServer, method: str, path: str, ids: Dict[str, str], headers: Dict[str, str]) -> int:
    bodies = {
        "/api/v1/events": make_event(session_id=ids["session_id"]),
        "/api/v1/events/batch": {"events": [make_event(session_id=ids["session_id"])]},
        "/usages/": {"notebook": "access-table"},
        "/errors/{uuid}/": {
            "error_name": "KeyError",
            "error_message": "'x'",
            "traceback": [],
            "execution_count": 1,
            "first_line": "x",
        },
        "/api/v1/issues/{issue_id}": {"status": "open"},
    }
    params = {"older_than_days": "3650"} if path == "/api/v1/admin/purge" else None
    body = bodies.get(path) if method in ("POST", "PATCH") else None
    answer = httpx.request(
        method, server.url(fill(path, ids)), json=body, params=params, headers=headers, timeout=30
    )
    return answer.status_code


def page_call(client: httpx.Client, method: str, path: str, ids: Dict[str, str]) -> int:
    if method == "GET":
        return client.get(fill(path, ids)).status_code
    # One form body for every page form: each reads its own fields.
    form = {"status": "open", "note": "Run the first cell again.", "fixed_in_version": "2.0"}
    return client.post(fill(path, ids), data={**form, "csrf": csrf_token(client)}).status_code


def test_who_may_do_what(server: LiveServer) -> None:
    event = make_event()
    created = httpx.post(server.url("/api/v1/events"), json=event, timeout=30)
    assert created.status_code == 201
    usage = httpx.post(server.url("/usages/"), json={"notebook": "access-table"}, timeout=30).json()
    ids = {
        "session_id": event["session_id"],
        "event_id": event["event_id"],
        "issue_id": str(created.json()["issue_id"]),
        "uuid": usage["uuid"],
        "notebook": event["notebook"],
    }
    headers = {"none": {}, "wrong": {"Authorization": f"Bearer {WRONG}"}, "right": server.admin_headers}

    measured: Dict[Tuple[str, str, str], int] = {}
    for method, path in API:
        for credentials in CREDENTIALS:
            measured[(method, path, credentials)] = api_call(server, method, path, ids, headers[credentials])
    browsers = {
        "none": browser(server),
        "wrong": signed_in(server, WRONG),
        "right": signed_in(server, ADMIN_TOKEN),
    }
    try:
        for method, path in PAGES:
            for credentials in CREDENTIALS:
                measured[(method, path, credentials)] = page_call(browsers[credentials], method, path, ids)
    finally:
        for client in browsers.values():
            client.close()

    print(f"\n{'route':48} {'who may':8} " + " ".join(f"{c:>6}" for c in CREDENTIALS))  # noqa: T201
    wrong: List[str] = []
    for table, answers in ((API, API_ANSWERS), (PAGES, PAGE_ANSWERS)):
        for (method, path), who in table.items():
            codes = [measured[(method, path, c)] for c in CREDENTIALS]
            print(f"{method + ' ' + path:48} {who:8} " + " ".join(f"{code:>6}" for code in codes))  # noqa: T201
            for credentials, code in zip(CREDENTIALS, codes):
                if code not in answers[(who, credentials)]:
                    wrong.append(f"{method} {path} with {credentials} credentials: {code}")
    assert not wrong, "\n".join(wrong)
    assert all(code < 500 for code in measured.values())
