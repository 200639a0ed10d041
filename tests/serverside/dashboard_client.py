"""The dashboard as a browser uses it: pages asked for as HTML, and signing in through the form with
its CSRF token. For a real server (``browser``, ``signed_in``) and for an in-process ``TestClient``
(an ``httpx.Client`` too: ``sign_in``).
"""

from __future__ import annotations

import re
from typing import List

import httpx

from .helpers import ADMIN_TOKEN
from .live_server import LiveServer

CSRF_FIELD = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def csrf_of(page_html: str) -> str:
    """The CSRF token in a page's form."""
    found = CSRF_FIELD.search(page_html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def browser(server: LiveServer) -> httpx.Client:
    """A client that asks for pages as a browser does (``GET /`` answers programs with JSON)."""
    return httpx.Client(base_url=server.base_url, timeout=30, headers={"Accept": "text/html"})


def csrf_token(client: httpx.Client) -> str:
    """A CSRF token valid for this browser (from the sign-in form), whoever it is."""
    return csrf_of(client.get("/signin").text)


def sign_in(client: httpx.Client, token: str = ADMIN_TOKEN, next_path: str = "/") -> httpx.Response:
    """Send the sign-in form with ``token`` (right or wrong); the answer, its redirect not followed."""
    data = {"token": token, "csrf": csrf_token(client), "next": next_path}
    return client.post("/signin", data=data, follow_redirects=False)


def signed_in(server: LiveServer, token: str) -> httpx.Client:
    """A browser that went through the sign-in form with ``token`` (right or wrong)."""
    client = browser(server)
    sign_in(client, token)
    return client


def issue_rows(page_html: str) -> List[str]:
    """The ids of the issues an issue list shows, in its order."""
    return re.findall(r'<tr class="issue" data-issue="(\d+)">', page_html)
