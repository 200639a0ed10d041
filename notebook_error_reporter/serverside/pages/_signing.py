"""The dashboard's signed values, as pure functions of a server key (no HTTP, no database).

* The **sign-in cookie** proves that its holder typed the admin token, without being the token:
  ``v2.<issued unix time>.<sign-in id>.<HMAC-SHA256(key, "admin|<issued>|<id>|<admin token>")>``.
  A stolen cookie does not reveal the token (the key is the server's secret,
  ``ServerState.dashboard_secret``), stops working when the token changes, and expires after
  ``SIGN_IN_MAX_AGE``. The sign-in id is random per sign-in; the server keeps the ids of live
  sign-ins (``sign_ins.py``), so signing out ends that sign-in for every copy of the cookie.
* The **CSRF token** is a signed double submit bound to the sign-in: the browser holds a random
  nonce in a cookie (HttpOnly, SameSite=Strict), and every state-changing form carries
  ``HMAC-SHA256(key, "csrf|<sign-in id>|<nonce>")`` (no id before signing in). Another site can
  neither read the cookies nor compute the signature; a nonce planted in the browser by a page
  that can set cookies on our host does not help either: the admin's tokens also sign the sign-in
  id, which only the admin's own cookie carries, and signing in renews the nonce.

Every function takes any text a browser sent and answers False / None for junk, never raising:
values are checked for their exact shape (ASCII hex and digits) before anything compares them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Optional

SIGN_IN_MAX_AGE = 7 * 24 * 3600  # seconds
CLOCK_SKEW = 60  # seconds a cookie may seem to come from the future (workers' clocks differ)
_VERSION = "v2"
_ID = re.compile(r"[0-9a-f]{32}")
_MAC = re.compile(r"[0-9a-f]{64}")
_ISSUED = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True)
class SignIn:
    """What a valid sign-in cookie says: which sign-in, and when it was made."""

    id: str
    issued: int


def _mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def _same_mac(given: str, expected: str) -> bool:
    """Constant-time equality of a submitted MAC, after checking it is 64 hex digits at all."""
    return _MAC.fullmatch(given) is not None and hmac.compare_digest(given.encode(), expected.encode())


def new_id() -> str:
    """A random id: a sign-in's, or a CSRF nonce."""
    return secrets.token_hex(16)


def is_id(text: Optional[str]) -> bool:
    return text is not None and _ID.fullmatch(text) is not None


def sign_in_cookie(key: bytes, admin_token: str, sign_in_id: str, now: int) -> str:
    """The cookie value for a browser that has just given ``admin_token``, for the sign-in ``sign_in_id``."""
    return f"{_VERSION}.{now}.{sign_in_id}.{_mac(key, f'admin|{now}|{sign_in_id}|{admin_token}')}"


def read_sign_in(key: bytes, admin_token: Optional[str], cookie: Optional[str], now: int) -> Optional[SignIn]:
    """The sign-in ``cookie`` stands for, if ``sign_in_cookie`` made it for this token no longer
    than the max age ago; else None. Whether the sign-in is still live is the caller's question."""
    if not cookie or admin_token is None:
        return None
    parts = cookie.split(".")
    if len(parts) != 4 or parts[0] != _VERSION or not _ISSUED.fullmatch(parts[1]) or not is_id(parts[2]):
        return None
    issued, sign_in_id = int(parts[1]), parts[2]
    if not issued <= now + CLOCK_SKEW or now - issued > SIGN_IN_MAX_AGE:
        return None
    if not _same_mac(parts[3], _mac(key, f"admin|{issued}|{sign_in_id}|{admin_token}")):
        return None
    return SignIn(id=sign_in_id, issued=issued)


def csrf_token(key: bytes, sign_in_id: Optional[str], nonce: str) -> str:
    """The form field that goes with the nonce cookie ``nonce`` for this sign-in (None: signed out)."""
    return _mac(key, f"csrf|{sign_in_id or ''}|{nonce}")


def csrf_valid(key: bytes, sign_in_id: Optional[str], nonce: Optional[str], token: Optional[str]) -> bool:
    """Whether the submitted ``token`` signs the browser's ``nonce`` cookie for this sign-in."""
    if not is_id(nonce) or not token:
        return False
    assert nonce is not None
    return _same_mac(token, csrf_token(key, sign_in_id, nonce))
