"""The dashboard in a real browser: Debian's Chromium driven by Playwright, once per test module
(``browser``), and a page per test (``watched``) that fails the test on any JavaScript dialog or
console error; screenshots go to ``test-artifacts/dashboard/``. ``tests/serverside/conftest.py``
registers the fixtures.

Chromium comes from Debian (``scripts/test`` installs it), never from ``playwright install``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, List

import pytest
from playwright.sync_api import sync_playwright

from .helpers import ADMIN_TOKEN

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
README_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()


class Watched:
    """A page, with every dialog it tried to open and every console error it logged."""

    def __init__(self, browser: Any, name: str, **options: Any) -> None:
        """``options`` for the browser context (``viewport``, ``color_scheme``) replace the defaults."""
        self.context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **options})
        self.page = self.context.new_page()
        self.dialogs: List[str] = []
        self.console_errors: List[str] = []
        self.name = name
        self.shots = 0
        self.page.on("dialog", self._dialog)
        self.page.on("console", self._console)
        self.page.on("response", self._response)
        self.page.on("pageerror", lambda error: self.console_errors.append(str(error)))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        # A failed answer is logged as well; those are judged by ``_response`` instead.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.console_errors.append(message.text)

    def _response(self, response: Any) -> None:
        # Every page, stylesheet and icon a GET asks for must be there (the wrong token's 403 is a POST).
        if response.status >= 400 and response.request.method == "GET":
            self.console_errors.append(f"GET {response.url}: {response.status}")

    def shot(self, label: str) -> None:
        self.shots += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(
            path=str(ARTIFACTS / f"{self.name}-{self.shots:02d}-{label}.png"), full_page=True
        )

    def readme_shot(self, name: str) -> None:
        """The test's own screenshot, and the README's (``docs/screenshots/``) when
        ``NER_UPDATE_SCREENSHOTS=1`` asks to renew them."""
        self.shot(name)
        if os.environ.get("NER_UPDATE_SCREENSHOTS") == "1":
            README_SHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(README_SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def watched(browser: Any, request: pytest.FixtureRequest) -> Iterator[Watched]:
    page = Watched(browser, request.node.name.replace("test_", "", 1)[:40])
    try:
        yield page
    finally:
        page.context.close()
    assert page.dialogs == [], f"a dialog opened: {page.dialogs}"
    assert page.console_errors == [], f"console errors (CSP violations?): {page.console_errors}"


def sign_in(watched: Watched, base_url: str) -> None:
    page = watched.page
    page.goto(base_url + "/")
    assert page.url.startswith(base_url + "/signin?next=/"), "strangers are sent to the sign-in page"
    page.fill("#token", "wrong-token-0123456789abcdef")
    page.click("#signin")
    assert "not the admin token" in page.inner_text("#signin-error")
    watched.shot("signin-refused")
    page.fill("#token", ADMIN_TOKEN)
    page.click("#signin")
    page.wait_for_url(base_url + "/")
