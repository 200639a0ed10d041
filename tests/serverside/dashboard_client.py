"""Browsers for the dashboard of a real server: one that asks for pages, one that signed in.

Shared by the tests that read the dashboard as a person would (``test_access_table.py``,
``test_privacy_e2e.py``): ``GET /`` answers programs with JSON, so these ask for HTML, and signing
in goes through the form with its CSRF token, exactly as a browser does.
"""

from __future__ import annotations

import re

import httpx

from .live_server import LiveServer

CSRF_FIELD = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def browser(server: LiveServer) -> httpx.Client:
    """A client that asks for pages as a browser does (``GET /`` answers programs with JSON)."""
    return httpx.Client(base_url=server.base_url, timeout=30, headers={"Accept": "text/html"})


def csrf_token(client: httpx.Client) -> str:
    """A CSRF token valid for this browser (from the sign-in form), whoever it is."""
    found = CSRF_FIELD.search(client.get("/signin").text)
    assert found, "the sign-in form has no CSRF field"
    return found.group(1)


def signed_in(server: LiveServer, token: str) -> httpx.Client:
    """A browser that went through the sign-in form with ``token`` (right or wrong)."""
    client = browser(server)
    client.post("/signin", data={"token": token, "csrf": csrf_token(client), "next": "/"})
    return client
