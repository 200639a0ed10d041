"""Posting one alert payload to one webhook: what happened, as an outcome, never an exception.

The outcome says whether to retry and when at the earliest (a 429's ``Retry-After``), and carries
an error text that is safe to store and show: it names the status or the kind of failure, never
the URL (a Slack webhook URL *is* its credential, and ``requests``' exception texts contain it).

Retried (``retry.py``): connection errors, timeouts, 408, 429, 5xx and other odd answers. Given
up: any other 4xx (a revoked or mistyped webhook will not heal by itself; Slack answers 403/404/410
for those). Not the client's ``transport.py``: this one posts alerts from the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Protocol, Tuple

import requests

from ...retry import retry_after_seconds, worth_retrying

# (connect, read) seconds: a webhook that hangs must not hold the deliverer's lease for long.
TIMEOUT: Tuple[float, float] = (5.0, 10.0)
MAX_BODY_CHARS = 100
USER_AGENT = "notebook-error-reporter-server"


@dataclass(frozen=True)
class Outcome:
    """How one post went."""

    delivered: bool
    retry: bool = False
    retry_after: Optional[float] = None
    error: str = ""


class WebhookPoster(Protocol):
    """Posts JSON to a URL; the deliverer needs nothing else (tests may pass their own)."""

    def post(self, url: str, payload: Dict[str, Any]) -> Outcome: ...

    def close(self) -> None: ...


class HttpWebhookPoster:
    """``requests`` with a connection pool, timeouts, and outcomes instead of exceptions."""

    def __init__(self, timeout: Tuple[float, float] = TIMEOUT) -> None:
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT

    def post(self, url: str, payload: Dict[str, Any]) -> Outcome:
        try:
            response = self._session.post(url, json=payload, timeout=self.timeout, allow_redirects=False)
        except requests.Timeout:
            return Outcome(False, retry=True, error="timed out")
        except requests.ConnectionError:
            return Outcome(False, retry=True, error="could not connect")
        except requests.RequestException as error:  # invalid URL and the like: never heals
            return Outcome(False, retry=False, error=f"request failed ({type(error).__name__})")
        return outcome_of(response.status_code, response.headers.get("Retry-After"), response.text, url)

    def close(self) -> None:
        self._session.close()


def outcome_of(status: int, retry_after: Optional[str], body: str, url: str) -> Outcome:
    """Classify an answer; the body (Slack says e.g. ``no_service``) is kept short and URL-free."""
    if 200 <= status < 300:
        return Outcome(True)
    detail = safe_text(body, url)
    error = f"HTTP {status}" + (f": {detail}" if detail else "")
    if worth_retrying(status):
        return Outcome(False, retry=True, retry_after=retry_after_seconds(retry_after), error=error)
    return Outcome(False, retry=False, error=error)


def safe_text(text: str, url: str) -> str:
    """``text`` on one line, cut short, with the URL and its path (the secret part) blotted out."""
    text = " ".join(text.split())
    for secret in {url, url.split("://", 1)[-1].split("/", 1)[-1]}:
        if len(secret) >= 8:
            text = text.replace(secret, "[webhook]")
    return text[:MAX_BODY_CHARS]
