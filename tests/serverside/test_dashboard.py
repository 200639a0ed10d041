"""The dashboard in-process: who may see and change what, CSRF, escaping, headers, pages and filters."""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta, timezone
from typing import Dict

import pytest
from fastapi.testclient import TestClient

from notebook_error_reporter.serverside.alerts.health import WebhookHealth
from notebook_error_reporter.serverside.pages import _signing, charts, overview
from notebook_error_reporter.serverside.pages import issues as issues_page
from notebook_error_reporter.serverside.pages.deps import ADMIN_COOKIE, CSRF_COOKIE, safe_next
from notebook_error_reporter.serverside.pages.headers import CONTENT_SECURITY_POLICY

from .dashboard_client import csrf_of, issue_rows, sign_in
from .helpers import ADMIN, ADMIN_TOKEN, MakeClient, make_event, report

HTML = {"Accept": "text/html,application/xhtml+xml"}
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
def status_of(client: TestClient, issue_id: int) -> str:
    return str(client.get(f"/api/v1/issues/{issue_id}", headers=ADMIN).json()["status"])


# --- who may look ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/issues", "/issues/1", "/issues/1/reports", "/issues?status=any"])
def test_pages_send_strangers_to_sign_in(client: TestClient, path: str) -> None:
    answer = client.get(path, headers=HTML, follow_redirects=False)
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith("/signin?next=/")
    assert client.get(location).status_code == 200


def test_programs_still_get_the_json_pointer_at_the_root(client: TestClient) -> None:
    pointer = client.get("/", headers={"Accept": "application/json"}).json()
    assert pointer["api"] == "/api/v1" and pointer["dashboard"] == "/"
    assert client.get("/").headers["content-type"].startswith("application/json")


def test_signing_in_sets_a_cookie_that_is_not_the_token(client: TestClient) -> None:
    answer = sign_in(client, next_path="/issues?status=any")
    assert answer.status_code == 303 and answer.headers["location"] == "/issues?status=any"
    cookies = answer.headers.get_list("set-cookie")
    admin = next(c for c in cookies if c.startswith(ADMIN_COOKIE + "="))
    assert "HttpOnly" in admin and "SameSite=strict" in admin and "Max-Age" in admin
    assert ADMIN_TOKEN not in admin
    page = client.get("/", headers=HTML)
    assert page.status_code == 200 and 'id="signout"' in page.text


def test_a_wrong_token_is_refused_and_sets_no_cookie(client: TestClient) -> None:
    answer = sign_in(client, token="not-the-admin-token-at-all")
    assert answer.status_code == 403 and "not the admin token" in answer.text
    assert ADMIN_COOKIE not in client.cookies
    assert client.get("/issues", follow_redirects=False).status_code == 303


def test_a_forged_or_expired_cookie_is_not_the_admin(client: TestClient) -> None:
    now = int(time.time())
    assert sign_in(client).status_code == 303
    genuine = client.cookies[ADMIN_COOKIE]
    _, _, sign_in_id, _ = genuine.split(".")
    client.cookies.clear()
    for value in (
        f"v2.{now}.{sign_in_id}.{'0' * 64}",
        "v2.notanumber.abc.def",
        ADMIN_TOKEN,
        _signing.sign_in_cookie(b"another key", ADMIN_TOKEN, sign_in_id, now),
    ):
        client.cookies.set(ADMIN_COOKIE, value)
        assert client.get("/issues", follow_redirects=False).status_code == 303, value
    key = client.app.state.server.dashboard_secret()  # type: ignore[attr-defined]
    old = now - _signing.SIGN_IN_MAX_AGE - 10
    client.cookies.set(ADMIN_COOKIE, _signing.sign_in_cookie(key, ADMIN_TOKEN, sign_in_id, old))
    assert client.get("/issues", follow_redirects=False).status_code == 303, "expired"
    never_started = _signing.sign_in_cookie(key, ADMIN_TOKEN, _signing.new_id(), now)
    client.cookies.set(ADMIN_COOKIE, never_started)
    assert client.get("/issues", follow_redirects=False).status_code == 303, "a sign-in the server never made"
    client.cookies.set(ADMIN_COOKIE, genuine)
    assert client.get("/issues", follow_redirects=False).status_code == 200, "the genuine article"


def test_changing_the_token_signs_everybody_out(make_client: MakeClient) -> None:
    first = make_client()
    assert sign_in(first).status_code == 303
    cookie = first.cookies[ADMIN_COOKIE]
    second = make_client(admin_token="a-new-admin-token-0123456789")
    second.cookies.set(ADMIN_COOKIE, cookie)
    assert second.get("/issues", follow_redirects=False).status_code == 303


def test_sign_out_clears_the_cookie(client: TestClient) -> None:
    sign_in(client)
    page = client.get("/", headers=HTML)
    answer = client.post("/signout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/signin"
    assert ADMIN_COOKIE not in client.cookies
    assert client.get("/issues", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "issues"])
def test_after_sign_in_the_browser_stays_on_this_site(client: TestClient, target: str) -> None:
    assert safe_next(target) == "/"
    assert sign_in(client, next_path=target).headers["location"] == "/"


# --- CSRF -------------------------------------------------------------------------------------------------


def test_sign_in_without_or_with_a_forged_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/signin")  # the nonce cookie
    for data in ({"token": ADMIN_TOKEN}, {"token": ADMIN_TOKEN, "csrf": "0" * 64}):
        answer = client.post("/signin", data=data, follow_redirects=False)
        assert answer.status_code == 403 and "expired" in answer.text
        assert ADMIN_COOKIE not in client.cookies


def test_a_token_from_another_browser_does_not_fit_this_one(make_client: MakeClient) -> None:
    mine, theirs = make_client(), make_client()
    their_token = csrf_of(theirs.get("/signin").text)
    mine.get("/signin")
    answer = mine.post("/signin", data={"token": ADMIN_TOKEN, "csrf": their_token}, follow_redirects=False)
    assert answer.status_code == 403


def test_a_status_change_without_csrf_changes_nothing(client: TestClient) -> None:
    issue_id = report(client)
    sign_in(client)
    for data in ({"status": "resolved"}, {"status": "resolved", "csrf": "f" * 64}):
        answer = client.post(f"/issues/{issue_id}/status", data=data, follow_redirects=False)
        assert answer.status_code == 403
    assert status_of(client, issue_id) == "open"


def test_the_api_does_not_take_the_dashboard_cookie(client: TestClient) -> None:
    issue_id = report(client)
    sign_in(client)
    answer = client.patch(f"/api/v1/issues/{issue_id}", json={"status": "resolved"})
    assert answer.status_code == 401, "a browser's cookie must not authorise the JSON API"
    assert status_of(client, issue_id) == "open"


# --- status changes ----------------------------------------------------------------------------------------


def test_resolve_ignore_reopen_through_the_buttons(client: TestClient) -> None:
    issue_id = report(client)
    sign_in(client)
    for status, button in (("resolved", "Resolve"), ("ignored", "Ignore"), ("open", "Reopen")):
        page = client.get(f"/issues/{issue_id}")
        assert f'id="action-{status}"' in page.text and f">{button}</button>" in page.text
        answer = client.post(
            f"/issues/{issue_id}/status",
            data={"status": status, "csrf": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert answer.status_code == 303 and answer.headers["location"] == f"/issues/{issue_id}"
        assert status_of(client, issue_id) == status
        assert f'id="action-{status}"' not in client.get(f"/issues/{issue_id}").text


def test_a_resolved_issue_reopens_with_the_next_report(client: TestClient) -> None:
    issue_id = report(client)
    sign_in(client)
    page = client.get(f"/issues/{issue_id}")
    client.post(f"/issues/{issue_id}/status", data={"status": "resolved", "csrf": csrf_of(page.text)})
    assert "status-resolved" in client.get(f"/issues/{issue_id}").text
    report(client)
    page = client.get(f"/issues/{issue_id}").text
    assert "status-open" in page and "status-regression" in page
    assert '<dd id="event-count">2</dd>' in page


def test_unknown_issue_is_an_html_404(client: TestClient) -> None:
    sign_in(client)
    answer = client.get("/issues/999")
    assert answer.status_code == 404 and "no such issue" in answer.text
    assert answer.headers["content-type"].startswith("text/html")
    csrf = csrf_of(answer.text)
    assert client.post("/issues/999/status", data={"status": "open", "csrf": csrf}).status_code == 404


# --- max_transparency: read-only pages public, changes for the admin ---------------------------------------


def test_transparency_opens_the_pages_but_not_the_buttons(make_client: MakeClient) -> None:
    client = make_client(max_transparency=True)
    issue_id = report(client, notebook="open-science")
    for path in ("/", "/issues", f"/issues/{issue_id}", f"/issues/{issue_id}/reports"):
        answer = client.get(path, headers=HTML, follow_redirects=False)
        assert answer.status_code == 200, path
        assert "open-science" in answer.text
    page = client.get(f"/issues/{issue_id}").text
    assert 'id="action-resolved"' not in page and "Sign in</a> to resolve" in page
    csrf = csrf_of(client.get("/signin").text)  # a valid token: the refusal is for not being the admin
    answer = client.post(
        f"/issues/{issue_id}/status", data={"status": "resolved", "csrf": csrf}, follow_redirects=False
    )
    assert answer.status_code == 403 and "Only the admin" in answer.text
    assert status_of(client, issue_id) == "open"
    sign_in(client)
    page = client.get(f"/issues/{issue_id}").text
    client.post(f"/issues/{issue_id}/status", data={"status": "resolved", "csrf": csrf_of(page)})
    assert status_of(client, issue_id) == "resolved"


# --- what strangers wrote is text ---------------------------------------------------------------------------


def test_report_contents_are_escaped_everywhere(client: TestClient) -> None:
    issue_id = report(
        client,
        notebook=f"nb {SCRIPT}",
        error_name="ValueError",
        error_message=f"bad {SCRIPT} and {IMG}",
        first_line=f"x = 1  # {IMG}",
        traceback=[{"filename": f"<cell {IMG}>", "fun_name": SCRIPT, "lineno": 1}],
    )
    sign_in(client)
    pages = [
        client.get("/", headers=HTML).text,
        client.get("/issues").text,
        client.get(f"/issues/{issue_id}").text,
        client.get(f"/issues/{issue_id}/reports").text,
    ]
    for page in pages:
        assert "<script>" not in page and "<img" not in page
        assert "&lt;script&gt;" in page
    assert (
        "&lt;img src=x onerror=alert(1)&gt;" in pages[2] and "&lt;img src=x onerror=alert(1)&gt;" in pages[3]
    )


def test_every_page_sends_the_security_headers(client: TestClient) -> None:
    issue_id = report(client)
    answers = [client.get("/signin"), client.get("/issues", follow_redirects=False)]
    sign_in(client)
    answers += [
        client.get("/", headers=HTML),
        client.get("/issues"),
        client.get(f"/issues/{issue_id}"),
        client.get(f"/issues/{issue_id}/reports"),
        client.get("/issues/12345"),
        client.get("/static/dashboard.css"),
        client.get("/api/v1/issues", headers=ADMIN),
    ]
    for answer in answers:
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, answer.url
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
    for answer in answers[2:6]:
        assert "<script" not in answer.text, "no inline script at all: the policy would refuse it"
    docs = client.get("/docs")  # the API documentation too: its files are served by the app
    assert docs.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "cdn" not in docs.text and "<script>" not in docs.text, "no CDN, no inline script"
    assert client.get("/redoc").url.path == "/docs"


# --- lists, filters, pages ---------------------------------------------------------------------------------


def test_issues_page_by_page_and_filtered_by_notebook_and_status(client: TestClient) -> None:
    ids = [report(client, notebook="big", error_name=f"Error{n}") for n in range(30)]
    other = report(client, notebook="small", error_name="OtherError")
    sign_in(client)
    first = client.get("/issues", params={"notebook": "big"}).text
    second = client.get("/issues", params={"notebook": "big", "page": 2}).text
    assert len(issue_rows(first)) == 25 and len(issue_rows(second)) == 5
    assert set(issue_rows(first)) | set(issue_rows(second)) == {str(i) for i in ids}
    assert 'id="issue-total">30<' in first and "page 1 of 2" in first
    assert 'href="/issues?page=2&amp;notebook=big&amp;status=open&amp;sort=last_seen"' in first
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert issue_rows(client.get("/issues", params={"notebook": "small"}).text) == [str(other)]

    page = client.get(f"/issues/{ids[0]}").text
    client.post(f"/issues/{ids[0]}/status", data={"status": "resolved", "csrf": csrf_of(page)})
    still_open = [client.get("/issues", params={"notebook": "big", "page": n}).text for n in (1, 2)]
    assert sorted(issue_rows("".join(still_open))) == sorted(str(i) for i in ids[1:])
    resolved = client.get("/issues", params={"status": "resolved"}).text
    assert issue_rows(resolved) == [str(ids[0])]
    assert 'id="issue-total">31<' in client.get("/issues", params={"status": "any"}).text


def test_issues_sort_by_last_seen_or_count(client: TestClient) -> None:
    now = datetime.now(timezone.utc)
    frequent = report(client, count=5, error_name="Frequent", occurred_at=now - timedelta(days=2))
    recent = report(client, count=1, error_name="Recent", occurred_at=now)
    sign_in(client)
    assert issue_rows(client.get("/issues").text) == [str(recent), str(frequent)]
    assert issue_rows(client.get("/issues", params={"sort": "count"}).text) == [str(frequent), str(recent)]


def test_bad_filters_are_refused_not_guessed_on_an_html_page_naming_them(client: TestClient) -> None:
    sign_in(client)
    refused = (({"status": "sideways"}, "status"), ({"sort": "colour"}, "sort"), ({"page": 0}, "page"))
    for params, name in refused:
        answer = client.get("/issues", params=params)
        assert answer.status_code == 422, params
        assert answer.headers["content-type"].startswith("text/html"), params
        assert f"{name}: " in answer.text and "This page cannot show that" in answer.text
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_a_bad_issue_id_or_page_of_reports_is_an_html_422_without_echoing_it(client: TestClient) -> None:
    sign_in(client)
    issue_id = report(client)
    for path in ("/issues/not-a-number", f"/issues/{issue_id}/reports?page=-1"):
        answer = client.get(path + ("&" if "?" in path else "?") + "x=<b>bold</b>")
        assert answer.status_code == 422 and answer.headers["content-type"].startswith("text/html"), path
        assert "<b>bold</b>" not in answer.text and "not-a-number" not in answer.text


def test_the_api_still_answers_bad_values_in_json(client: TestClient) -> None:
    answer = client.get("/api/v1/issues", params={"status": "sideways"}, headers=ADMIN)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", "status"]


def test_guessing_the_token_at_sign_in_is_slowed_to_429_and_never_locks_out_the_right_token(
    make_client: MakeClient,
) -> None:
    client = make_client(rate_limit_token_failures="3/minute")
    for _ in range(5):  # the admin signing in again and again is never counted
        assert sign_in(client).status_code == 303
    for _ in range(3):
        assert sign_in(client, token="not-the-token-0123456789").status_code == 403
    refused = sign_in(client, token="not-the-token-0123456789")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert "Too many wrong admin tokens" in refused.text and ADMIN_COOKIE not in refused.cookies
    wrong_bearer = {"Authorization": "Bearer not-the-token-0123456789"}
    assert client.get("/api/v1/issues", headers=wrong_bearer).status_code == 429  # one bucket, both doors
    assert sign_in(client).status_code == 303  # the right token still gets in from the guesser's address
    assert client.get("/api/v1/issues", headers=ADMIN).status_code == 200


def test_reports_page_by_page_newest_first(client: TestClient) -> None:
    sign_in(client)
    issue_id = report(client, count=45, error_message="first batch")
    report(client, error_message="the newest")
    pages = [client.get(f"/issues/{issue_id}/reports", params={"page": n}).text for n in (1, 2, 3)]
    counts = [len(re.findall(r'<li class="report"', page)) for page in pages]
    assert counts == [20, 20, 6]
    assert pages[0].index("the newest") < pages[0].index("first batch")
    assert 'id="report-total">46<' in pages[0] and "page 3 of 3" in pages[2]
    events = {e for page in pages for e in re.findall(r'data-event="([0-9a-f]{32})"', page)}
    assert len(events) == 46, "every report exactly once across the pages"
    assert '<ol class="reports" id="reports" start="41">' in pages[2]


def test_issue_page_shows_frames_first_lines_sessions_and_chart(client: TestClient) -> None:
    now = datetime.now(timezone.utc)
    session_a, session_b = "a" * 32, "b" * 32
    grouped = ["load-and-plot"]  # reports of two cells, one issue by the client's own fingerprint
    report(
        client,
        count=3,
        session_id=session_a,
        first_line="df = load()",
        occurred_at=now - timedelta(days=2),
        fingerprint=grouped,
    )
    issue_id = report(
        client, count=1, session_id=session_b, first_line="df.plot()", occurred_at=now, fingerprint=grouped
    )
    sign_in(client)
    page = client.get(f"/issues/{issue_id}").text
    assert '<dd id="event-count">4</dd>' in page and '<dd id="session-count">2</dd>' in page
    assert "pandas/core/frame.py" in page and "__getitem__" in page and ">3761<" in page
    lines = re.findall(r'<code class="first-line">([^<]*)</code> <span class="note">× (\d+)', page)
    assert lines == [("df = load()", "3"), ("df.plot()", "1")]
    bars = re.findall(r"<title>(\d{4}-\d\d-\d\d): (\d+)</title>", page)
    assert bars == [((now - timedelta(days=2)).date().isoformat(), "3"), (now.date().isoformat(), "1")]


def test_sparklines_draw_the_last_30_days(client: TestClient) -> None:
    now = datetime.now(timezone.utc)
    report(client, count=4, occurred_at=now)
    report(client, count=2, occurred_at=now - timedelta(days=29))
    report(client, count=7, occurred_at=now - timedelta(days=30))  # a day before the window
    sign_in(client)
    page = client.get("/issues").text
    assert "6 reports in the last 30 days (at most 4 a day)" in page
    points = re.search(r'<polyline class="spark-line" points="([^"]+)"', page)
    assert points is not None
    ys = [float(p.split(",")[1]) for p in points.group(1).split()]
    assert len(ys) == 30 and ys[-1] == 1.0 and ys[0] == 12.0 and set(ys[1:-1]) == {23.0}


def test_one_report_is_counted_in_the_singular(client: TestClient) -> None:
    issue_id = report(client, count=1)
    sign_in(client)
    listing = client.get("/issues").text
    assert "1 report in the last 30 days (at most 1 a day)" in listing
    page = client.get(f"/issues/{issue_id}").text
    assert "1 report in the last 90 days, at most 1 a day" in page and "1 reports" not in page
    assert "2 frames</summary>" in client.get(f"/issues/{issue_id}/reports").text


def test_overview_counts_and_the_webhook_banner(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    report(client, count=3, notebook="alpha", session_id="c" * 32)
    report(client, count=1, notebook="alpha", error_name="TypeError")
    sign_in(client)
    page = client.get("/", headers=HTML).text
    row = re.search(r"alpha</a></td>(.*?)</tr>", page, re.S)
    assert row is not None
    numbers = re.findall(r'<td class="num[^"]*">(\d+)</td>', row.group(1))
    assert numbers == ["2", "4", "2", "2"], "sessions, reports, open issues, issues"
    assert 'class="banner"' not in page
    failing = WebhookHealth("slack", f"HTTP 500 {SCRIPT}", datetime.now(timezone.utc), 3)
    monkeypatch.setattr(overview, "webhook_failures", lambda session: [failing])
    page = client.get("/", headers=HTML).text
    assert 'class="banner"' in page and "<strong>slack</strong>" in page and "(3 waiting)" in page
    assert "HTTP 500 &lt;script&gt;" in page


def test_the_notebooks_come_a_page_at_a_time_and_the_filter_offers_the_recent_ones(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"nb-{n:03d}" for n in range(120)]
    for start in range(0, 120, 40):
        events = [make_event(notebook=name) for name in names[start : start + 40]]
        assert client.post("/api/v1/events/batch", json={"events": events}).status_code == 200
    sign_in(client)
    pages = [client.get("/", params={"page": n}, headers=HTML).text for n in (1, 2, 3)]
    shown = [re.findall(r'<a class="notebook" href="[^"]*">([^<]+)</a>', page) for page in pages]
    assert [len(rows) for rows in shown] == [50, 50, 20]
    assert sum(shown, []) == names, "every notebook once, by name"
    assert "page 1 of 3" in pages[0] and 'id="next-page" href="/?page=2"' in pages[0]
    assert 'id="prev-page" href="/?page=2"' in pages[2] and 'id="next-page"' not in pages[2]
    assert client.get("/", params={"page": 0}, headers=HTML).status_code == 422

    monkeypatch.setattr(issues_page, "FILTER_NOTEBOOKS", 10)
    chosen = client.get("/issues", params={"notebook": "nb-000"}).text
    offered = re.findall(r'<option value="([^"]*)"', chosen.split('id="filter-status"')[0])
    assert offered == ["", "nb-000", *names[-10:]], "all, the chosen one, and the ten seen last"


# --- pure parts ---------------------------------------------------------------------------------------------


def test_sparkline_geometry() -> None:
    days = charts.window(date(2026, 1, 30), 30)
    assert days[0] == date(2026, 1, 1) and len(days) == 30
    empty = charts.sparkline({}, days)
    assert empty.total == 0 and {p.split(",")[1] for p in empty.points.split()} == {"23.0"}
    spark = charts.sparkline({date(2026, 1, 15): 10, date(2026, 1, 30): 5}, days)
    ys: Dict[str, str] = dict(p.split(",") for p in spark.points.split())
    assert ys["120.0"] == "12.0" and spark.peak == 10 and spark.total == 15


def test_bar_chart_keeps_zero_days_in_place() -> None:
    days = charts.window(date(2026, 1, 10), 10)
    chart = charts.bar_chart({date(2026, 1, 1): 1, date(2026, 1, 10): 100}, days, width=100, height=100)
    assert [b.count for b in chart.bars] == [1] + [0] * 8 + [100]
    assert chart.bars[-1].height == 99 and chart.bars[-1].x == 90
    assert chart.bars[0].height == 1.0, "a day with reports is never invisible"


def test_csrf_and_cookie_signatures() -> None:
    key = b"k" * 32
    nonce, sign_in_id = _signing.new_id(), _signing.new_id()
    assert _signing.csrf_valid(key, None, nonce, _signing.csrf_token(key, None, nonce))
    assert _signing.csrf_valid(key, sign_in_id, nonce, _signing.csrf_token(key, sign_in_id, nonce))
    assert not _signing.csrf_valid(key, sign_in_id, nonce, _signing.csrf_token(key, None, nonce))
    assert not _signing.csrf_valid(key, None, nonce, _signing.csrf_token(b"other", None, nonce))
    assert not _signing.csrf_valid(key, None, None, _signing.csrf_token(key, None, nonce))
    cookie = _signing.sign_in_cookie(key, "token-0123456789abcdef", sign_in_id, 1000)
    assert _signing.read_sign_in(key, "token-0123456789abcdef", cookie, 1000) == _signing.SignIn(
        sign_in_id, 1000
    )
    assert _signing.read_sign_in(key, "token-changed-0123456789", cookie, 1000) is None
    assert _signing.read_sign_in(key, None, cookie, 1000) is None
    assert (
        _signing.read_sign_in(key, "token-0123456789abcdef", cookie, 1000 + _signing.SIGN_IN_MAX_AGE + 1)
        is None
    )
    assert CSRF_COOKIE != ADMIN_COOKIE
