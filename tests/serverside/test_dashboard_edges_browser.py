"""The dashboard's edges on a phone, in a real browser (Debian's Chromium via Playwright).

Long words: a notebook name, an error name, a message, a cell's first line, a frame and a version
without a space to break at wrap inside a 390 px screen on every page that shows them, light and
dark. An address that is no page answers a 404 page that fits the phone (programs still get JSON).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from .browser import Watched, sign_in
from .helpers import make_event
from .live_server import LiveServer, start_server
from .test_dashboard_triage_browser import LAYOUTS, check_layout

NOTEBOOK = "protein-design-" + "n" * 100
PHONE = 390

pytestmark = pytest.mark.usefixtures("fail_on_internal_errors")


@pytest.fixture(scope="module")
def long_words(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("long-words"))
    try:
        event = make_event(
            notebook=NOTEBOOK,
            error_name="Unbroken" + "E" * 80 + "Error",
            error_message="M" * 400,
            first_line="# " + "L" * 300,
            traceback=[
                {"filename": "<cell 3>", "fun_name": "<module>", "lineno": 1},
                {"filename": "lib/" + "f" * 150 + ".py", "fun_name": "g" * 120, "lineno": 9},
            ],
            notebook_version="v" * 64,
        )
        answer = httpx.post(server.base_url + "/api/v1/events", json=event, timeout=10)
        assert answer.status_code == 201, answer.text
        yield server
    finally:
        server.kill()


@pytest.mark.parametrize("layout", ["narrow", "narrow-dark"])
def test_long_words_wrap_on_every_page_of_a_phone(
    browser: Any, long_words: LiveServer, layout: str, tmp_path: Path
) -> None:
    watched = Watched(browser, f"long-words-{layout}", **LAYOUTS[layout])
    base = long_words.base_url
    try:
        page = watched.page
        sign_in(watched, base)
        page.goto(f"{base}/issues?status=any&notebook={NOTEBOOK}")
        issue = page.locator("tr.issue").first.get_attribute("data-issue")
        check_layout(page, PHONE, "dark" in layout, "/issues?notebook=…")
        page.goto(f"{base}/issues/{issue}/reports")
        story = page.locator("a.story-link").first.get_attribute("href")
        for path in ("/", f"/issues/{issue}", f"/issues/{issue}/reports", str(story)):
            page.goto(base + path)
            check_layout(page, PHONE, "dark" in layout, path)
            shown = page.inner_text("main")
            assert re.search("E{80}", shown) or "n" * 100 in shown, f"{path}: the long words are shown"
    finally:
        watched.shot(f"long-words-{layout}")
        watched.context.close()
    assert watched.dialogs == [] and watched.console_errors == [], watched.console_errors


@pytest.mark.parametrize("layout", ["narrow", "narrow-dark"])
def test_an_address_that_is_no_page_answers_a_page(browser: Any, long_words: LiveServer, layout: str) -> None:
    watched = Watched(browser, f"no-such-page-{layout}", **LAYOUTS[layout])
    base = long_words.base_url
    try:
        page = watched.page
        for path in ("/no-such-page", "/issues/1/nothing-here", "/static/no-such.css"):
            answer = page.goto(base + path)
            assert answer is not None and answer.status == 404
            assert "There is no page at this address." in page.inner_text("main"), path
            check_layout(page, PHONE, "dark" in layout, path)
    finally:
        watched.context.close()
    for path in ("/no-such-page", "/api/v1/issues/999999"):
        headers = {"Accept": "text/html", **long_words.admin_headers} if path.startswith("/api") else {}
        answer = httpx.get(base + path, headers=headers)
        assert answer.status_code == 404 and answer.headers["content-type"] == "application/json", path
