"""Notes, versions and where a notebook breaks, in a real browser (Debian's Chromium, Playwright)
against a real server filled through HTTP; screenshots go to ``test-artifacts/dashboard/``."""

from __future__ import annotations

import re
import uuid
from typing import Any, Dict, List, Optional

import httpx
import pytest

from .browser import SCRIPT, Watched, sign_in
from .helpers import make_event
from .live_server import LiveServer

pytestmark = pytest.mark.usefixtures("fail_on_internal_errors")
NOTEBOOK = "survey"
LOAD = "df = load('survey.csv')"
PLOT = "plot(df)"


def post(server: LiveServer, session: str, first_line: str, error: str, version: Optional[str]) -> int:
    fields: Dict[str, Any] = {"notebook_version": version} if version else {}
    event = make_event(
        notebook=NOTEBOOK, session_id=session, first_line=first_line, error_name=error, **fields
    )
    answer = httpx.post(server.url("/api/v1/events"), json=event, timeout=10)
    assert answer.status_code == 201, answer.text
    issue_id: int = answer.json()["issue_id"]
    return issue_id


def cells(page: Any) -> List[List[str]]:
    rows = page.locator("#cells tbody tr").all()
    return [[cell.inner_text() for cell in row.locator("td").all()] for row in rows]


def test_notes_versions_and_cells_in_a_real_browser(live_server: LiveServer, watched: Watched) -> None:
    ann, bob, cy = (uuid.uuid4().hex for _ in range(3))
    key_error = post(live_server, ann, LOAD, "KeyError", "1.0")
    post(live_server, ann, LOAD, "KeyError", "1.0")
    post(live_server, bob, LOAD, "KeyError", "2.0")
    plot_error = post(live_server, cy, PLOT, "ValueError", None)
    page, base = watched.page, live_server.base_url
    sign_in(watched, base)

    # Where the notebook breaks: the loading cell (2 sessions) before the plotting one (1).
    page.goto(f"{base}/issues?notebook={NOTEBOOK}&status=any")
    watched.readme_shot("notebook-cells")
    assert cells(page) == [[LOAD, "3", "2", "1"], [PLOT, "1", "1", "1"]]
    page.locator("#cells a.cell-link", has_text=PLOT).click()
    page.wait_for_url(re.compile(r".*first_line=plot"))
    watched.shot("cell-issues")
    assert page.inner_text("#issue-total") == "1"
    assert page.locator("tr.issue").evaluate_all("rows => rows.map(r => r.dataset.issue)") == [
        str(plot_error)
    ]
    assert PLOT in page.inner_text("#filter-first-line")

    # The version filter.
    page.goto(f"{base}/issues?notebook={NOTEBOOK}&status=any")
    page.fill("#filter-version", "2.0")
    page.click("#apply-filters")
    page.wait_for_url(re.compile(r".*version=2\.0"))
    assert page.locator("tr.issue").evaluate_all("rows => rows.map(r => r.dataset.issue)") == [str(key_error)]

    # The issue: versions affected, then a note (text, escaped) and its link.
    issue_url = f"{base}/issues/{key_error}"
    page.goto(issue_url)
    versions = page.locator("#versions tbody tr").evaluate_all("rows => rows.map(r => r.dataset.version)")
    assert versions == ["1.0", "2.0"]
    assert page.locator("#versions tbody tr").first.locator("td.num").inner_text() == "2"
    assert page.locator("#no-note").count() == 1
    note = f"pandas 2.2 renamed this {SCRIPT}; run !pip install pandas==2.1"
    page.fill("#note-input", note)
    page.fill("#note-url-input", "https://example.org/fix?a=1&b=2")
    page.click("#save-note")
    page.wait_for_url(issue_url)
    watched.readme_shot("issue-note")
    assert page.inner_text("#note-text") == note
    assert page.get_attribute("#note-url", "href") == "https://example.org/fix?a=1&b=2"
    assert page.locator("main script").count() == 0

    # A link that is not http(s) is refused with the field named, and the saved note stays.
    page.fill("#note-url-input", "javascript:alert(1)")
    page.click("#save-note")
    page.wait_for_load_state("load")
    watched.shot("note-refused")
    assert "note_url" in page.inner_text("main") and "http" in page.inner_text("main")
    page.goto(issue_url)
    assert page.get_attribute("#note-url", "href") == "https://example.org/fix?a=1&b=2"

    # Resolved as fixed in 2.0: a report from 1.0 counts, is from an older copy, and does not reopen.
    page.fill("#fixed-input", "2.0")
    page.click("#resolve-fixed")
    page.wait_for_url(issue_url)
    assert page.inner_text("#status") == "resolved"
    assert "2.0" in page.inner_text("#fixed-in")
    post(live_server, ann, LOAD, "KeyError", "1.0")
    page.reload()
    watched.shot("older-copy")
    assert page.inner_text("#status") == "resolved" and page.inner_text("#event-count") == "4"
    older = page.locator("#versions tr[data-version='1.0'] .older-copy")
    assert older.inner_text() == "from an older copy"
    assert page.locator("#versions tr[data-version='2.0'] .older-copy").count() == 0
    page.click("#reports-link")
    page.wait_for_url(issue_url + "/reports")
    assert page.locator("li.report").first.locator(".older-copy").inner_text() == "from an older copy"

    # The fixed version itself reopens it.
    post(live_server, bob, LOAD, "KeyError", "2.0")
    page.goto(issue_url)
    assert page.inner_text("#status") == "open" and page.locator(".status-regression").count() == 1


def test_the_forms_need_the_signed_in_admin_and_csrf(live_server: LiveServer, watched: Watched) -> None:
    issue_id = post(live_server, uuid.uuid4().hex, LOAD, "KeyError", "1.0")
    page, base = watched.page, live_server.base_url
    page.goto(f"{base}/issues/{issue_id}")
    assert page.url.startswith(base + "/signin"), "strangers see no issue page"
    # A form posted from elsewhere (no session, no CSRF token) changes nothing.
    for path, data in (("note", {"note": "x"}), ("fixed", {"fixed_in_version": "2.0"})):
        answer = httpx.post(live_server.url(f"/issues/{issue_id}/{path}"), data=data, timeout=10)
        assert answer.status_code in (401, 403), (path, answer.status_code)
    sign_in(watched, base)
    page.goto(f"{base}/issues/{issue_id}")
    assert page.locator("#no-note").count() == 1 and page.locator("#fixed-in").count() == 0
