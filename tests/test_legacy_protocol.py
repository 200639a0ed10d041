"""Version 0.1's protocol as the client speaks it: how an old server is recognised, its bodies and
routes, and how a usage's uuid is read from its answer."""

from __future__ import annotations

from notebook_error_reporter import legacy_protocol


def test_a_missing_v1_route_means_an_old_server() -> None:
    assert legacy_protocol.speaks_only_01(404) and legacy_protocol.speaks_only_01(405)
    assert not any(legacy_protocol.speaks_only_01(status) for status in (200, 400, 413, 429, 500))


def test_a_usage_uuid_is_read_only_when_the_answer_names_one() -> None:
    assert legacy_protocol.usage_uuid({"uuid": "abc", "notebook": "nb"}) == "abc"
    assert legacy_protocol.usage_uuid({"uuid": ""}) is None
    assert legacy_protocol.usage_uuid({"uuid": 7}) is None
    assert legacy_protocol.usage_uuid(["abc"]) is None


def test_routes_and_bodies() -> None:
    event = {"notebook": "nb", "error_name": "E", "session_id": "s", "client": {}}
    assert legacy_protocol.usage_body(event) == {"notebook": "nb"}
    assert legacy_protocol.usage_body({}) == {"notebook": "unknown"}
    assert legacy_protocol.report_route("u1") == "/errors/u1/"
    assert legacy_protocol.usage_route("u1") == "/usages/u1"
    assert set(legacy_protocol.report_body(event)) == {
        "error_name",
        "error_message",
        "traceback",
        "execution_count",
        "first_line",
    }
