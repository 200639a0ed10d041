"""Triage in a real browser (Debian's Chromium via Playwright, a real uvicorn server filled by the
real client on a real IPython shell): search, filters, where an issue happens, a session's story;
and every page at 390 px wide and in the dark theme.

Screenshots go to ``test-artifacts/dashboard/``; with ``NER_UPDATE_SCREENSHOTS=1`` the README's
(``docs/screenshots/``) are written too.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterator

import pytest
from helpers import FAST
from IPython.core.interactiveshell import InteractiveShell
from waiting import run

from notebook_error_reporter import ErrorServer

from .browser import Watched, sign_in
from .live_server import LiveServer, start_server

NOTEBOOK = "protein-design"
CELLS = [
    "# Plot the proteins\nplot(proteins)",
    "# Load the proteins\nproteins = {}\nproteins['protein_id']",
    "# Normalise\n1 / 0",
]
LAYOUTS: Dict[str, Dict[str, Any]] = {
    "light": {},
    "dark": {"color_scheme": "dark"},
    "narrow": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "narrow-dark": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "color_scheme": "dark"},
}

pytestmark = pytest.mark.usefixtures("fail_on_internal_errors")


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module, with one session's failing cells sent by the real client."""
    shell = InteractiveShell.instance()
    tmp = tmp_path_factory.mktemp("triage")
    server = start_server(tmp)
    try:
        reporter = ErrorServer(server.base_url, NOTEBOOK, spool_path=str(tmp / "spool.sqlite3"), **FAST)
        with pytest.MonkeyPatch.context() as patch:
            for variable in ("NOTEBOOK_ERROR_REPORTER_DISABLE", "DO_NOT_TRACK"):  # as the shell fixture does
                patch.delenv(variable, raising=False)
            reporter.enable(shell)
            try:
                for cell in CELLS:
                    run(shell, cell)
                run(shell, CELLS[1])
                assert reporter.flush(30) and reporter.stats.sent == 4, reporter.stats
            finally:
                reporter.disable()
                reporter.close()
        yield server
    finally:
        server.kill()


def open_watched(browser: Any, name: str, layout: str) -> Watched:
    return Watched(browser, name, **LAYOUTS[layout])


def test_triage_search_context_and_a_sessions_story(browser: Any, filled: LiveServer) -> None:
    server = filled
    watched = open_watched(browser, "triage", "light")
    try:
        page, base = watched.page, server.base_url
        sign_in(watched, base)
        page.goto(base + "/issues")
        assert page.inner_text("#issue-total") == "3"
        page.fill("#search", "keyerr proteins")
        page.press("#search", "Enter")
        page.wait_for_url(re.compile(r".*/issues\?q=keyerr\+proteins.*"))
        watched.readme_shot("issues-search")
        assert page.locator("tr.issue .error-name").all_inner_texts() == ["KeyError"]
        assert page.input_value("#search") == "keyerr proteins"
        page.fill("#search", "")
        page.select_option("#filter-seen", "24h")
        page.select_option("#filter-sort", "first_seen")
        page.click("#apply-filters")
        page.wait_for_url(re.compile(r".*seen=24h.*"))
        assert page.locator("tr.issue .error-name").all_inner_texts() == [
            "ZeroDivisionError",
            "KeyError",
            "NameError",
        ], "first seen, newest first"
        page.select_option("#filter-seen", "custom")
        page.fill("#filter-until", "2020-01-01")
        page.click("#apply-filters")
        assert page.inner_text("#issue-total") == "0" and page.locator("#no-issues").count() == 1

        page.goto(base + "/issues?q=KeyError")
        page.click("tr.issue a.issue-link")
        page.wait_for_url(re.compile(r".*/issues/\d+$"))
        watched.readme_shot("issue-context")
        python = page.locator("#facets table[data-facet='python'] tbody tr")
        assert python.count() == 1 and python.locator("td.count").inner_text() == "2"
        assert "100%" in python.locator("td.share").inner_text()
        colab = page.locator("#facets table[data-facet='colab'] tbody tr")
        assert colab.first.get_attribute("data-value") == "not Colab"

        page.click("#reports-link")
        page.locator("a.story-link").first.click()
        page.wait_for_url(re.compile(r".*/reports/[0-9a-f]{32}/session$"))
        watched.readme_shot("session-story")
        heads = page.locator("#story li.report pre.message").all_inner_texts()
        assert [head.split(":")[0] for head in heads] == [
            "NameError",
            "KeyError",
            "ZeroDivisionError",
            "KeyError",
        ]
        assert page.locator("#story li[aria-current='true']").count() == 1
        assert "session" not in page.locator("#story").inner_text().lower().replace("session's", "")
    finally:
        watched.context.close()
    assert watched.dialogs == [] and watched.console_errors == [], watched.console_errors


def luminance(css_color: str) -> float:
    red, green, blue = (int(part) for part in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_every_page_fits_the_screen_and_follows_the_colour_scheme(
    browser: Any, filled: LiveServer, layout: str
) -> None:
    server = filled
    watched = open_watched(browser, f"layout-{layout}", layout)
    width = LAYOUTS[layout].get("viewport", {"width": 1280})["width"]
    dark = "dark" in layout
    try:
        page, base = watched.page, server.base_url
        page.goto(base + "/signin")
        check_layout(page, width, dark, "/signin")
        sign_in(watched, base)
        issue = first_issue(page, base)
        page.goto(f"{base}/issues/{issue}/reports")
        story = page.locator("a.story-link").first.get_attribute("href")
        pages = {
            "overview": "/",
            "issues": "/issues?status=any",
            "issue": f"/issues/{issue}",
            "reports": f"/issues/{issue}/reports",
            "session": story,
        }
        for name, path in pages.items():
            page.goto(base + path)
            page.wait_for_load_state("load")
            check_layout(page, width, dark, path)
            if name in ("issues", "issue"):
                watched.readme_shot(f"{name}-{layout}")
            else:
                watched.shot(f"{name}-{layout}")
        signout = page.locator("#signout").bounding_box()
        assert signout is not None and signout["x"] >= 0 and signout["x"] + signout["width"] <= width
    finally:
        watched.context.close()
    assert watched.dialogs == [] and watched.console_errors == [], watched.console_errors


def first_issue(page: Any, base: str) -> str:
    page.goto(base + "/issues?q=KeyError")
    return str(page.locator("tr.issue").first.get_attribute("data-issue"))


def check_layout(page: Any, width: int, dark: bool, path: str) -> None:
    scroll_width = page.evaluate("() => document.scrollingElement.scrollWidth")
    assert scroll_width <= width, f"{path}: {scroll_width} px wide on a {width} px screen"
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    if background in ("rgba(0, 0, 0, 0)", "transparent"):
        background = page.evaluate("() => getComputedStyle(document.documentElement).backgroundColor")
    if dark:
        assert luminance(background) < 0.2, f"{path}: background {background} in the dark theme"
    else:
        assert luminance(background) > 0.8, f"{path}: background {background} in the light theme"
    text = page.evaluate("() => getComputedStyle(document.querySelector('main') || document.body).color")
    assert (luminance(text) > 0.6) == dark, f"{path}: text {text} against {background}"
