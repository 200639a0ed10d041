"""Schema fuzz over every route of ``/openapi.json``: whatever the path, query, body and credentials,
the answer is never a 5xx (a 500 is always a bug, docs/design.md).

``test_fuzz.py`` throws arbitrary JSON at the write routes; this module covers them all, reads
included, with what a hostile or careless caller sends: ids that exist and ids that cannot (0,
negative, 2**31, 2**63, 10**30, words), limits and offsets out of every range, status filters and
sort keys that are no such thing, times with and without offsets (year 1 and 9999 at +/-23:59),
repeated and unknown parameters, NUL bytes and long strings, JSON bodies of any shape and bytes that
are no JSON, each without, with a wrong and with the right admin token. The routes are read from the
app's own ``/openapi.json``: a new route fails ``test_every_documented_route_is_fuzzed`` until it is
given a strategy here.

Bounded (``EXAMPLES`` per route, no deadline, no example database) so it stays a few tens of seconds
on a shared machine. TestClient raises server exceptions, so a crash fails the example even before
the status is checked; a handled 5xx fails on the status.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import ADMIN, json_values, make_event

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))  # per route; more by hand
WRONG = {"Authorization": "Bearer wrong-token-0123456789abcdef0123456789"}
CREDENTIALS = {"none": {}, "wrong": WRONG, "right": ADMIN}
Route = Tuple[str, str]


@dataclass(frozen=True)
class Seed:
    """What exists in the database before the fuzz, so some calls hit real rows."""

    session_id: str
    usage_uuid: str
    issue_ids: Tuple[int, ...]


@dataclass
class Call:
    """One fuzzed request."""

    path: Dict[str, str] = field(default_factory=dict)
    query: Dict[str, Any] = field(default_factory=dict)
    body: Any = None
    raw: Optional[bytes] = None  # sent instead of ``body`` when set
    credentials: str = "none"


# --- values ---------------------------------------------------------------------------------------------

EDGE_INTS = (
    0,
    -1,
    1,
    2,
    2**31 - 1,
    2**31,
    -(2**31),
    2**53 + 1,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    2**64,
    10**30,
)
ODD_STRINGS = (
    "",
    " ",
    "..",
    "%00",
    "\x00",
    "null",
    "None",
    "NaN",
    "Infinity",
    "1e999",
    "-0",
    "0x10",
    "1_000",
    "1.5",
    "١٢",
    "true",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "\u202e",
    "a" * 3000,
)
EDGE_TIMES = (
    "0001-01-01T00:00:00+23:59",
    "0001-01-01T00:00:00-23:59",
    "9999-12-31T23:59:59-23:59",
    "9999-12-31T23:59:59.999999+23:59",
    "9999-12-31T23:59:59+00:00",
    "2026-12-03T10:00:00Z",
    "2026-12-03T10:00:00",  # no offset
    "2026-12-03",
    "2026-13-45T25:61:61+00:00",
    "1e10",
    "now",
)
ints = st.integers() | st.sampled_from(EDGE_INTS)
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40) | st.sampled_from(ODD_STRINGS)
offsets = st.timedeltas(min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23, minutes=59))
times = (
    st.datetimes(timezones=st.none() | offsets.map(timezone)).map(datetime.isoformat)
    | st.sampled_from(EDGE_TIMES)
    | texts
)
scalars = ints.map(str) | st.floats().map(str) | texts | times


def repeated(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value, or the parameter given two or three times (``?limit=1&limit=2``)."""
    return values | st.lists(values, min_size=2, max_size=3)


def queries(**known: st.SearchStrategy[Any]) -> st.SearchStrategy[Dict[str, Any]]:
    """Any subset of the route's own parameters, fuzzed, plus now and then unknown ones."""
    own = st.fixed_dictionaries({}, optional={name: repeated(values) for name, values in known.items()})
    unknown = st.dictionaries(st.text(min_size=1, max_size=8), scalars, max_size=2)
    return st.builds(lambda a, b: {**b, **a}, own, unknown)


def numbers() -> st.SearchStrategy[Any]:
    """For an integer parameter: integers of any size, and what is not one."""
    return ints | scalars


def issue_ids(seed: Seed) -> st.SearchStrategy[str]:
    return st.sampled_from([str(n) for n in seed.issue_ids]) | ints.map(str) | texts


def uuids(*known: str) -> st.SearchStrategy[str]:
    """Existing ids (also upper-case and dashed), random uuids, and what is not a uuid at all."""
    variants = [v for k in known for v in (k, k.upper(), f"{k[:8]}-{k[8:12]}-{k[12:16]}-{k[16:20]}-{k[20:]}")]
    return st.sampled_from(variants) | st.uuids().map(lambda u: u.hex) | texts


def bodies(*shapes: st.SearchStrategy[Any]) -> st.SearchStrategy[Tuple[Any, Optional[bytes]]]:
    """A JSON body of the route's shape with fuzzed values, any JSON at all, or bytes that are no JSON."""
    json_bodies = st.one_of(*shapes, json_values).map(lambda body: (body, None))
    raw = st.sampled_from([b"", b"{", b"[]", b"\xff\xfe", b'{"a": NaN}', b"\x00" * 8]) | st.binary(
        max_size=40
    )
    return json_bodies | raw.map(lambda data: (None, data))


def event_shape() -> st.SearchStrategy[Dict[str, Any]]:
    """A valid report with one field given any JSON value (or an edge time, or an edge integer)."""
    fields = list(make_event())
    values = json_values | times | st.sampled_from(EDGE_INTS)
    return st.builds(lambda f, v: {**make_event(), f: v}, st.sampled_from(fields), values)


def legacy_error_shape() -> st.SearchStrategy[Dict[str, Any]]:
    frame = st.fixed_dictionaries(
        {}, optional={"filename": json_values, "fun_name": json_values, "lineno": ints}
    )
    return st.fixed_dictionaries(
        {"error_name": texts | json_values},
        optional={
            "error_message": texts | json_values,
            "traceback": st.lists(frame, max_size=4) | json_values,
            "execution_count": ints | json_values,
            "first_line": texts | json_values,
        },
    )


def calls(
    seed: Seed,
    *,
    path: Optional[Dict[str, st.SearchStrategy[str]]] = None,
    query: Optional[st.SearchStrategy[Dict[str, Any]]] = None,
    body: Optional[st.SearchStrategy[Tuple[Any, Optional[bytes]]]] = None,
) -> st.SearchStrategy[Call]:
    return st.builds(
        lambda p, q, b, c: Call(path=p, query=q, body=b[0], raw=b[1], credentials=c),
        st.fixed_dictionaries(path or {}),
        query if query is not None else queries(),
        body if body is not None else st.just((None, None)),
        st.sampled_from(["none", "wrong", "right", "right", "right"]),  # most code is behind the token
    )


# --- the routes -------------------------------------------------------------------------------------------

Strategy = Callable[[Seed], st.SearchStrategy[Call]]
STATUSES = st.sampled_from(["open", "resolved", "ignored", "OPEN", "closed", ""]) | texts
ROUTES: Dict[Route, Strategy] = {
    ("GET", "/healthz"): lambda s: calls(s),
    ("POST", "/api/v1/events"): lambda s: calls(s, body=bodies(event_shape())),
    (
        "POST",
        "/api/v1/events/batch",
    ): lambda s: calls(
        s,
        body=bodies(
            st.fixed_dictionaries(
                {"events": st.lists(event_shape(), max_size=3) | json_values},
                optional={"client_dropped": ints | json_values},
            )
        ),
    ),
    ("GET", "/api/v1/sessions/{session_id}/events"): lambda s: calls(
        s,
        path={"session_id": uuids(s.session_id, s.usage_uuid)},
        query=queries(limit=numbers(), offset=numbers()),
    ),
    ("GET", "/api/v1/notebooks"): lambda s: calls(s),
    ("GET", "/api/v1/notebooks/{notebook}/notes"): lambda s: calls(
        s, path={"notebook": st.sampled_from(["protein-design"]) | texts}
    ),
    ("GET", "/api/v1/issues"): lambda s: calls(
        s,
        query=queries(
            notebook=st.sampled_from(["protein-design"]) | texts,
            status=STATUSES,
            seen_after=times,
            seen_before=times,
            sort=st.sampled_from(["last_seen", "first_seen", "count", "-count", "id"]) | texts,
            limit=numbers(),
            offset=numbers(),
            version=texts,
            first_line=texts,
        ),
    ),
    ("GET", "/api/v1/issues/{issue_id}"): lambda s: calls(s, path={"issue_id": issue_ids(s)}),
    ("GET", "/api/v1/issues/{issue_id}/events"): lambda s: calls(
        s, path={"issue_id": issue_ids(s)}, query=queries(limit=numbers(), offset=numbers())
    ),
    ("PATCH", "/api/v1/issues/{issue_id}"): lambda s: calls(
        s,
        path={"issue_id": issue_ids(s)},
        body=bodies(
            st.fixed_dictionaries({"status": STATUSES | json_values}),
            st.fixed_dictionaries({"status": STATUSES}, optional={"extra": json_values, "id": ints}),
            st.fixed_dictionaries(
                {},
                optional={
                    "note": texts | json_values,
                    "note_url": st.sampled_from(["https://example.org/", "javascript:x", "http://"]) | texts,
                    "fixed_in_version": texts | json_values,
                },
            ),
        ),
    ),
    ("POST", "/api/v1/admin/purge"): lambda s: calls(s, query=queries(older_than_days=numbers())),
    ("POST", "/usages/"): lambda s: calls(
        s, body=bodies(st.fixed_dictionaries({"notebook": texts | json_values}))
    ),
    ("POST", "/errors/{uuid}/"): lambda s: calls(
        s, path={"uuid": uuids(s.usage_uuid, s.session_id)}, body=bodies(legacy_error_shape())
    ),
    ("GET", "/usages/{uuid}"): lambda s: calls(s, path={"uuid": uuids(s.usage_uuid, s.session_id)}),
    ("GET", "/usages/"): lambda s: calls(s, query=queries(skip=numbers(), limit=numbers())),
    ("GET", "/errors/"): lambda s: calls(s, query=queries(skip=numbers(), limit=numbers())),
}


@pytest.fixture
def client(make_client: Any) -> TestClient:
    """Thousands of requests from one address, many with a wrong token: lift the limits
    (they are tested in test_ratelimit.py and test_flood.py)."""
    test_client: TestClient = make_client(
        rate_limit_address="10000000/minute",
        rate_limit_session="10000000/minute",
        rate_limit_token_failures="10000000/minute",
    )
    return test_client


@pytest.fixture
def seed(client: TestClient) -> Seed:
    """Two issues with reports, one v1 session, one 0.1 usage."""
    first = make_event()
    created = [
        client.post("/api/v1/events", json=first),
        client.post(
            "/api/v1/events", json=make_event(session_id=first["session_id"], error_name="ValueError")
        ),
    ]
    assert [answer.status_code for answer in created] == [201, 201]
    usage = client.post("/usages/", json={"notebook": "protein-design"})
    assert usage.status_code == 200, usage.text
    return Seed(first["session_id"], usage.json()["uuid"], tuple(a.json()["issue_id"] for a in created))


def documented_routes(client: TestClient) -> List[Route]:
    spec = client.get("/openapi.json").json()
    return sorted((method.upper(), path) for path, item in spec["paths"].items() for method in item)


def test_every_documented_route_is_fuzzed(client: TestClient) -> None:
    assert documented_routes(client) == sorted(ROUTES)


def send(client: TestClient, method: str, template: str, call: Call) -> int:
    path = template
    for name, value in call.path.items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    headers = dict(CREDENTIALS[call.credentials])
    if call.raw is not None:
        headers["Content-Type"] = "application/json"
        answer = client.request(method, path, params=call.query, content=call.raw, headers=headers)
    elif method in ("POST", "PATCH"):
        answer = client.request(method, path, params=call.query, json=call.body, headers=headers)
    else:
        answer = client.request(method, path, params=call.query, headers=headers)
    assert answer.status_code < 500, (method, path, call, answer.text[:1000])
    return answer.status_code


_fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


@pytest.mark.parametrize("route", sorted(ROUTES), ids=" ".join)
def test_no_fuzzed_call_gets_a_server_error(client: TestClient, seed: Seed, route: Route) -> None:
    method, template = route
    seen: Dict[int, int] = {}

    @_fuzz
    @given(call=ROUTES[route](seed))
    def fuzz(call: Call) -> None:
        status = send(client, method, template, call)
        seen[status] = seen.get(status, 0) + 1

    fuzz()
    print(f"\n{method} {template}: {sum(seen.values())} calls, statuses {dict(sorted(seen.items()))}")  # noqa: T201
    assert sum(seen.values()) >= min(EXAMPLES, 10), seen
    assert all(status < 500 for status in seen), seen


EDGES: Tuple[str, ...] = tuple(str(n) for n in EDGE_INTS) + ODD_STRINGS + EDGE_TIMES


def test_every_documented_parameter_at_every_edge(client: TestClient, seed: Seed) -> None:
    """Not left to chance: each parameter ``/openapi.json`` lists, alone, at each edge value, with the
    right token (the other path parameters real), and each report field at each edge value."""
    spec = client.get("/openapi.json").json()
    real = {"issue_id": str(seed.issue_ids[0]), "session_id": seed.session_id, "uuid": seed.usage_uuid}
    answers: Dict[int, int] = {}
    for template, item in spec["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                name, where = parameter["name"], parameter["in"]
                for value in EDGES:
                    path = {k: v for k, v in real.items() if "{" + k + "}" in template}
                    call = Call(path=path, credentials="right")
                    if where == "path":
                        call.path[name] = value
                    else:
                        call.query[name] = value
                    if method.upper() in ("POST", "PATCH"):  # a body the route would take, if it takes one
                        call.body = {"status": "open"} if method.upper() == "PATCH" else {"notebook": "n"}
                    status = send(client, method.upper(), template, call)
                    answers[status] = answers.get(status, 0) + 1
    fields = list(make_event())
    for name in fields:
        for value in EDGES:
            send(client, "POST", "/api/v1/events", Call(body={**make_event(), name: value}))
            batch = {"events": [{**make_event(), name: value}]}
            send(client, "POST", "/api/v1/events/batch", Call(body=batch))
    assert 200 in answers and 422 in answers, answers  # both the in-range and the refused were tried


# --- the 500s this fuzz found, pinned down ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/v1/issues", "/api/v1/issues/{issue}/events", "/api/v1/sessions/{session}/events"],
)
def test_an_offset_past_what_the_database_takes_is_a_422(client: TestClient, seed: Seed, path: str) -> None:
    """``offset=2**63`` reached the driver ("Python int too large to convert to SQLite INTEGER")."""
    url = path.format(issue=seed.issue_ids[0], session=seed.session_id)
    for offset, expected in ((2**31 - 1, 200), (2**31, 422), (2**63, 422), (10**30, 422)):
        answer = client.get(url, params={"offset": offset}, headers=ADMIN)
        assert answer.status_code == expected, (url, offset, answer.text)
        if expected == 422:
            assert answer.json()["detail"][0]["loc"] == ["query", "offset"]


@pytest.mark.parametrize("name", ["seen_after", "seen_before"])
@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-00:01", "0001-01-01T00:00:00+23:59"])
def test_a_time_filter_past_the_calendar_in_utc_is_a_422(client: TestClient, name: str, value: str) -> None:
    """Year 9999 behind UTC is year 10000 in UTC: converting it raised OverflowError (a 500)."""
    answer = client.get("/api/v1/issues", params={name: value}, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"] == [
        {"loc": ["query", name], "msg": "is out of range once in UTC", "type": "value_error"}
    ]
    within = client.get("/api/v1/issues", params={name: "9999-12-31T23:59:59+00:00"}, headers=ADMIN)
    assert within.status_code == 200, within.text


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-00:01", "0001-01-01T00:00:00+23:59"])
def test_a_report_from_past_the_calendar_in_utc_is_refused_and_stores_nothing(
    client: TestClient, seed: Seed, value: str
) -> None:
    """The same OverflowError in ``schemas.parse_timestamp`` made ``POST /api/v1/events`` a 500."""
    event = make_event(session_id=seed.session_id, occurred_at=value)
    single = client.post("/api/v1/events", json=event)
    assert single.status_code == 422, single.text
    assert "out of range" in single.text and "occurred_at" in single.text
    batch = client.post("/api/v1/events/batch", json={"events": [event]})
    assert batch.status_code == 200, batch.text
    assert [r["status"] for r in batch.json()["results"]] == ["rejected"], batch.text
    stored = client.get(f"/api/v1/sessions/{seed.session_id}/events").json()
    assert event["event_id"] not in {e["event_id"] for e in stored}
