"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against a real uvicorn.

The server (``live_server``: its own process on 127.0.0.1) is filled by the real client, an
``ErrorServer`` enabled on a real IPython shell whose cells fail, and, for the hostile report, by
wire-format POSTs. Every page is screenshotted into ``test-artifacts/dashboard/``. Any JavaScript
dialog, and any console error (a Content-Security-Policy violation among them), fails the test.

Chromium comes from Debian (``scripts/test`` installs it), never from ``playwright install``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, List

import httpx
import pytest
from helpers import FAST
from IPython.core.interactiveshell import InteractiveShell
from waiting import run

from notebook_error_reporter import ErrorServer

from .browser import SCRIPT, Watched, sign_in
from .helpers import make_event
from .live_server import LiveServer

NOTEBOOK = "protein-design"
IMG = "<img src=x onerror=alert(1)>"

pytestmark = pytest.mark.usefixtures("fail_on_internal_errors")


def test_admin_works_through_an_issue_in_a_real_browser(
    shell: InteractiveShell,
    live_server: LiveServer,
    reporters: List[ErrorServer],
    tmp_path: Path,
    watched: Watched,
) -> None:
    reporter = ErrorServer(live_server.base_url, NOTEBOOK, spool_path=str(tmp_path / "spool.sqlite3"), **FAST)
    reporters.append(reporter)
    reporter.enable(shell)
    failing_cell = "# Load the proteins\nproteins = {}\nproteins['protein_id']"
    for _ in range(25):
        run(shell, failing_cell)
    run(shell, "# Normalise\n1 / 0")
    assert reporter.flush(30) and reporter.stats.sent == 26, reporter.stats
    page, base = watched.page, live_server.base_url

    sign_in(watched, base)
    watched.shot("overview")
    row = page.locator("#notebooks tbody tr", has_text=NOTEBOOK)
    assert row.locator("td.reports").inner_text() == "26"
    assert row.locator("td.open-issues").inner_text() == "2"

    row.locator("a.notebook").click()
    page.wait_for_url(re.compile(r".*/issues\?notebook=protein-design$"))
    watched.shot("issues")
    assert page.inner_text("#issue-total") == "2"
    key_error = page.locator("tr.issue", has_text="KeyError")
    assert key_error.locator("td.count").inner_text() == "25"
    assert key_error.locator("svg.spark polyline").count() == 1

    key_error.locator("a.issue-link").click()
    page.wait_for_url(re.compile(r".*/issues/\d+$"))
    issue_url = page.url
    watched.shot("issue")
    assert page.inner_text("#error-name") == "KeyError"
    assert page.inner_text("#error-message") == "'protein_id'"
    assert page.inner_text("#event-count") == "25" and page.inner_text("#session-count") == "1"
    assert page.locator("#first-lines code.first-line").all_inner_texts() == ["# Load the proteins"]
    assert page.locator("#chart rect.bar").count() == 1

    page.click("#action-resolved")
    page.wait_for_url(issue_url)
    watched.shot("resolved")
    assert page.inner_text("#status") == "resolved"
    assert page.locator("#action-resolved").count() == 0 and page.locator("#action-open").count() == 1

    run(shell, failing_cell)  # the bug is back
    assert reporter.flush(30) and reporter.stats.sent == 27, reporter.stats
    page.reload()
    watched.shot("regression")
    assert page.inner_text("#status") == "open"
    assert page.locator(".status-regression").count() == 1
    assert page.inner_text("#event-count") == "26"

    page.click("#reports-link")
    page.wait_for_url(issue_url + "/reports")
    watched.shot("reports-page-1")
    assert page.inner_text("#report-total") == "26"
    first_page = page.locator("li.report").evaluate_all("nodes => nodes.map(n => n.dataset.event)")
    assert len(first_page) == 20
    page.click("#next-page")
    page.wait_for_url(issue_url + "/reports?page=2")
    watched.shot("reports-page-2")
    second_page = page.locator("li.report").evaluate_all("nodes => nodes.map(n => n.dataset.event)")
    assert len(second_page) == 6 and not set(first_page) & set(second_page)
    page.click("#prev-page")
    page.wait_for_url(issue_url + "/reports?page=1")

    page.click("#signout")
    page.wait_for_url(base + "/signin")
    watched.shot("signed-out")
    page.goto(issue_url)
    assert page.url.startswith(base + "/signin?next=/issues/"), "signed out: the pages are closed again"
    assert not [c for c in watched.context.cookies() if c["name"] == "ner_admin"]


def test_hostile_report_renders_as_text_and_fires_no_dialog(
    live_server: LiveServer, watched: Watched
) -> None:
    hostile = make_event(
        notebook=f"nb {SCRIPT}",
        error_name="ValueError",
        error_message=f"bad input {SCRIPT} {IMG}",
        first_line=f"x = 1  # {IMG} {SCRIPT}",
        traceback=[{"filename": f"<cell {IMG}>", "fun_name": SCRIPT, "lineno": 1}],
    )
    answer = httpx.post(live_server.url("/api/v1/events"), json=hostile, timeout=10)
    assert answer.status_code == 201, answer.text
    issue_id = answer.json()["issue_id"]
    page, base = watched.page, live_server.base_url
    sign_in(watched, base)

    pages = ["/", "/issues", f"/issues/{issue_id}", f"/issues/{issue_id}/reports"]
    for path in pages:
        page.goto(base + path)
        page.wait_for_load_state("load")
        watched.shot("hostile-" + (path.strip("/").replace("/", "-") or "overview"))
        assert page.locator("main script, main img, main [onerror]").count() == 0, path
        assert SCRIPT in page.inner_text("main"), f"{path}: the payload is shown, as text"
    page.goto(f"{base}/issues/{issue_id}")
    assert page.inner_text("#error-message") == f"bad input {SCRIPT} {IMG}"
    assert page.locator("#first-lines code.first-line").inner_text() == f"x = 1  # {IMG} {SCRIPT}"
    # The policy is enforced, not only sent: an inline script slipped into our page is refused ...
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'alert(2)';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_timeout(300)
    assert watched.dialogs == []
    refused = [error for error in watched.console_errors if "Content Security Policy" in error]
    assert refused, watched.console_errors
    watched.console_errors.clear()
    # ... while the same markup on a page without our policy does fire: the listener works.
    other = watched.context.new_page()
    other.on("dialog", watched._dialog)
    other.set_content(f"<p>{SCRIPT}</p>")
    assert watched.dialogs == ["1"]
    watched.dialogs.clear()


BIDI = "\u202e\u2066\u200f"  # right-to-left override, a left-to-right isolate, a right-to-left mark


def test_bidi_controls_in_a_report_are_shown_not_obeyed(live_server: LiveServer, watched: Watched) -> None:
    hostile = make_event(
        notebook=f"nb {BIDI}gnp.exe",
        error_message=f"access {BIDI}denied",
        first_line=f"is_admin = False  # {BIDI} ; is_admin = True",
    )
    answer = httpx.post(live_server.url("/api/v1/events"), json=hostile, timeout=10)
    assert answer.status_code == 201, answer.text
    issue_id = answer.json()["issue_id"]
    page, base = watched.page, live_server.base_url
    sign_in(watched, base)
    for path in ["/", "/issues", f"/issues/{issue_id}", f"/issues/{issue_id}/reports"]:
        page.goto(base + path)
        watched.shot("bidi-" + (path.strip("/").replace("/", "-") or "overview"))
        shown = page.inner_text("main")
        assert not set(BIDI) & set(shown), path
        assert "[U+202E][U+2066][U+200F]" in shown, path
    page.goto(f"{base}/issues/{issue_id}")
    assert page.inner_text("#error-message") == "access [U+202E][U+2066][U+200F]denied"


# --- the API documentation: served by the app, offline, under the same policy ----------------------------


def offline(watched: Watched, base_url: str) -> List[str]:
    """Refuse (and note) every request that is not to ``base_url``, as a machine offline would."""
    elsewhere: List[str] = []

    def route(route: Any) -> None:
        if route.request.url.startswith(base_url + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    watched.page.route("**/*", route)
    return elsewhere


def test_swagger_ui_renders_offline_under_the_policy(live_server: LiveServer, watched: Watched) -> None:
    elsewhere = offline(watched, live_server.base_url)
    answer = watched.page.goto(live_server.url("/docs"))
    assert answer is not None and "script-src 'self'" in answer.headers["content-security-policy"]
    watched.page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    assert "notebook-error-reporter server" in watched.page.inner_text(".swagger-ui .info .title")
    watched.page.wait_for_selector("[data-path='/api/v1/events/batch']", timeout=10_000)
    assert watched.page.locator(".opblock").count() >= 10, "every route is listed"
    watched.shot("docs")
    assert elsewhere == []


def test_redoc_leads_to_the_offline_docs(live_server: LiveServer, watched: Watched) -> None:
    elsewhere = offline(watched, live_server.base_url)
    watched.page.goto(live_server.url("/redoc"))
    assert watched.page.url == live_server.url("/docs")
    watched.page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    assert elsewhere == []
