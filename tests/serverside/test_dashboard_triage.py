"""The dashboard for triage, in-process (SQLite, or PostgreSQL with ``NER_TEST_DATABASE_URL``): the
issues page's search, time range and first-seen sort; where an issue happens (Python, IPython,
platform, reporter, Colab); a report's session as a story; reports newest first by when they happened."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, List

import pytest
from fastapi.testclient import TestClient

from notebook_error_reporter.serverside import breakdown
from notebook_error_reporter.serverside.pages import time_range

from .dashboard_client import issue_rows, sign_in
from .helpers import ADMIN, make_event, report

UTC = timezone.utc
NOW = datetime.now(UTC)
FACET_ROW = r'data-value="([^"]*)"><td>[^<]*</td><td class="num count">(\d+)<'
CELL = [{"filename": "<cell 2>", "fun_name": "<module>", "lineno": 1}]


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).isoformat()


def events_in_page(page_html: str) -> List[str]:
    return re.findall(r'<li class="report[^"]*" data-event="([0-9a-f]{32})"', page_html)


# --- search, time range, sort on the issues page -----------------------------------------------------------


def test_the_issues_page_searches_and_keeps_the_words_in_its_box_and_pages(client: TestClient) -> None:
    wanted = [
        report(client, error_name=f"ShapeError{n}", error_message="bad shape (3, 4)") for n in range(27)
    ]
    other = report(client, error_name="KeyError", error_message="'protein_id'")
    sign_in(client)
    first = client.get("/issues", params={"q": "shape (3"}).text
    assert 'id="issue-total">27<' in first and str(other) not in issue_rows(first)
    assert 'id="search" value="shape (3"' in first
    assert "q=shape+%283" in first, "the next page keeps the search"
    second = client.get("/issues", params={"q": "shape (3", "page": 2}).text
    assert set(issue_rows(first)) | set(issue_rows(second)) == {str(i) for i in wanted}
    assert issue_rows(client.get("/issues", params={"q": "PROTEIN_id"}).text) == [str(other)]
    nothing = client.get("/issues", params={"q": "<no such thing>"}).text
    assert 'id="no-issues"' in nothing and "match “&lt;no such thing&gt;”" in nothing


def test_the_issues_page_filters_by_time_range_and_sorts_by_first_seen(client: TestClient) -> None:
    old = report(client, error_name="OldError", occurred_at=ago(days=20))
    week = report(client, error_name="WeekError", occurred_at=ago(days=3))
    today = report(client, error_name="TodayError", occurred_at=ago(hours=1))
    report(client, error_name="OldError", occurred_at=ago(days=25))  # first seen earlier still
    sign_in(client)

    def shown(**params: Any) -> List[str]:
        answer = client.get("/issues", params=params)
        assert answer.status_code == 200, answer.text
        return issue_rows(answer.text)

    assert shown(seen="24h") == [str(today)]
    assert shown(seen="7d") == [str(today), str(week)]
    assert shown(seen="30d") == [str(today), str(week), str(old)]
    day = (NOW - timedelta(days=3)).date()
    assert shown(seen="custom", **{"from": str(day), "until": str(day)}) == [str(week)]
    assert shown(**{"until": str(day - timedelta(days=1))}) == [str(old)], "days alone are a range"
    assert shown(seen="custom", **{"from": str(day)}) == [str(today), str(week)]
    assert shown(sort="first_seen") == [str(today), str(week), str(old)]
    page = client.get("/issues", params={"seen": "7d", "sort": "first_seen"}).text
    assert '<option value="7d" selected>' in page and '<option value="first_seen" selected>' in page


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"from": "2026-13-01"}, "from: not a day"),
        (
            {"seen": "custom", "from": "2026-05-02", "until": "2026-05-01"},
            "starts (2026-05-02) after it ends",
        ),
        ({"seen": "fortnight"}, "seen:"),
        ({"sort": "nonsense"}, "sort:"),
        ({"q": "x" * 201}, "q:"),
    ],
)
def test_bad_filters_get_a_page_that_says_what_is_wrong(
    client: TestClient, params: Dict[str, str], says: str
) -> None:
    sign_in(client)
    answer = client.get("/issues", params=params)
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("text/html")
    assert says in answer.text


def test_time_bounds() -> None:
    now = datetime(2026, 5, 10, 12, tzinfo=timezone.utc)
    assert time_range.bounds("24h", now, None, None) == (now - timedelta(hours=24), None)
    assert time_range.bounds("any", now, None, None) == (None, None)
    after, before = time_range.bounds("custom", now, date(2026, 5, 1), date(2026, 5, 2))
    assert after == datetime(2026, 5, 1, tzinfo=timezone.utc) and before == datetime(
        2026, 5, 3, tzinfo=timezone.utc
    )
    assert time_range.bounds("custom", now, None, date.max) == (None, None), "no overflow past the last day"
    with pytest.raises(time_range.BadRange):
        time_range.day("yesterday", "from")


# --- where it happens ------------------------------------------------------------------------------------


def test_the_issue_page_shows_how_its_reports_split_by_environment(client: TestClient) -> None:
    colab = {
        "reporter": "0.3.0",
        "python": "3.10.12",
        "ipython": "7.34.0",
        "platform": "linux",
        "colab": "yes",
    }
    laptop = {
        "reporter": "0.3.0",
        "python": "3.12.1",
        "ipython": "8.20.0",
        "platform": "darwin",
        "colab": "no",
    }
    old = {"reporter": "0.2.0", "python": "3.11", "ipython": "8.12", "platform": "linux"}
    spread = ((colab, 3), (laptop, 2), (old, 1), (None, 1))
    events = [make_event(client=info) for info, count in spread for _ in range(count)]
    answer = client.post("/api/v1/events/batch", json={"events": events})
    assert {result["issue_id"] for result in answer.json()["results"]} == {
        issue := answer.json()["results"][0]["issue_id"]
    }
    sign_in(client)
    page = client.get(f"/issues/{issue}").text

    def facet(key: str) -> Dict[str, str]:
        table = re.search(rf'data-facet="{key}">(.*?)</table>', page, re.S)
        assert table, key
        return {
            value: count
            for value, count in re.findall(
                r'data-value="([^"]*)"><td>[^<]*</td><td class="num count">(\d+)<', table.group(1)
            )
        }

    assert facet("python") == {"3.10.12": "3", "3.12.1": "2", "3.11": "1", "not reported": "1"}
    assert facet("colab") == {"Colab": "3", "not Colab": "2", "not reported": "2"}
    assert facet("platform") == {"linux": "4", "darwin": "2", "not reported": "1"}
    assert "43%" in page, "3 of 7 reports"
    events = client.get(f"/api/v1/issues/{issue}/events", headers=ADMIN).json()["items"]
    assert {e["client"].get("colab") for e in events if e["client"]} == {"yes", "no", None}, (
        "stored when told"
    )


def test_breakdown_keeps_the_most_common_values_and_sums_the_rest() -> None:
    clients = [({"python": f"3.{n}"}, 1) for n in range(1, 8)] + [({"python": "3.0"}, 2)]
    python = breakdown.breakdown(clients)[0]
    assert python.label == "Python"
    assert [(s.value, s.count) for s in python.shares] == [
        ("3.0", 2),
        ("3.1", 1),
        ("3.2", 1),
        ("3.3", 1),
        ("3.4", 1),
        (breakdown.OTHER, 3),
    ]
    assert abs(sum(s.share for s in python.shares) - 1) < 1e-9
    assert breakdown.breakdown([]) == []
    assert breakdown.Share("x", 1, 0.004).percent == "<1%"


# --- a session's story -------------------------------------------------------------------------------------


def test_a_report_leads_to_its_sessions_story_in_order_without_the_session_id(client: TestClient) -> None:
    session_id = "5e55104" + "0" * 25
    cells = [
        ("NameError", "name 'df' is not defined", 4),
        ("KeyError", "'protein_id'", 7),
        ("ValueError", "empty", 9),
    ]
    sent: List[Dict[str, Any]] = []
    for minutes, (name, message, count) in zip((30, 20, 10), cells):
        event = {
            "error_name": name,
            "error_message": message,
            "execution_count": count,
            "session_id": session_id,
            "occurred_at": ago(minutes=minutes),
            "traceback": CELL,
        }
        sent.append(event)
    # sent in another order than they happened: the story follows the clock
    for index in (2, 0, 1):
        answer = client.post(
            "/api/v1/events", json={**make_event(**sent[index]), "event_id": f"{index + 1:032x}"}
        )
        assert answer.status_code == 201, answer.text
    report(client, error_name="KeyError", error_message="'protein_id'", traceback=CELL)  # another session
    sign_in(client)
    key_error = client.get("/api/v1/issues", params={"q": "KeyError"}, headers=ADMIN).json()["items"][0]["id"]
    reports = client.get(f"/issues/{key_error}/reports").text
    assert f'href="/reports/{2:032x}/session"' in reports

    story = client.get(f"/reports/{2:032x}/session")
    assert story.status_code == 200
    assert events_in_page(story.text) == [f"{n:032x}" for n in (1, 2, 3)]
    assert re.findall(r"cell \[(\d+)\]", story.text) == ["4", "7", "9"]
    assert f'data-event="{2:032x}" aria-current="true"' in story.text
    assert session_id not in story.text and session_id[:8] not in story.text
    assert "3 of the session&#39;s 3 reports" in story.text or "3 of the session's 3 reports" in story.text

    missing = client.get(f"/reports/{'f' * 32}/session")
    assert missing.status_code == 404 and "no such report" in missing.text
    assert client.get("/reports/not-a-report/session").status_code == 422


# --- reports newest first by when they happened ---------------------------------------------------------


def test_reports_are_newest_first_by_when_they_happened(client: TestClient) -> None:
    hours_ago = [5, 1, 3, 9]  # the order they arrive in; they happened 1, 2, 0, 3
    for number, hours in enumerate(hours_ago):
        answer = client.post(
            "/api/v1/events", json=make_event(occurred_at=ago(hours=hours), event_id=f"{number:032x}")
        )
        assert answer.status_code == 201, answer.text
    issue = answer.json()["issue_id"]
    newest_first = [f"{number:032x}" for number in (1, 2, 0, 3)]
    api = client.get(f"/api/v1/issues/{issue}/events", headers=ADMIN).json()["items"]
    assert [item["event_id"] for item in api] == newest_first
    sign_in(client)
    page = client.get(f"/issues/{issue}/reports").text
    assert "newest first (by when the error happened)" in page
    assert events_in_page(page) == newest_first


def test_the_story_shows_a_hostile_report_as_text(client: TestClient) -> None:
    script = "<script>alert(1)</script>"
    event = make_event(error_message=script, first_line=script, notebook=f"nb {script}")
    assert client.post("/api/v1/events", json=event).status_code == 201
    sign_in(client)
    page = client.get(f"/reports/{event['event_id']}/session").text
    assert script not in page and page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3


def test_the_notebook_filter_shows_the_notebook_it_filters_by(client: TestClient) -> None:
    report(client, notebook="real")
    sign_in(client)
    page = client.get("/issues", params={"notebook": "never-reported"}).text
    selected = re.findall(r'<option value="([^"]*)" selected>', page)
    assert "never-reported" in selected and "" not in selected, "not 'all notebooks' while filtering"
    assert issue_rows(page) == []
    page = client.get("/issues", params={"notebook": "real"}).text
    assert re.findall(r'<option value="([^"]*)" selected>', page)[0] == "real"
