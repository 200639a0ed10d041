"""The dashboard's two signed values, as pure functions of a server key (no HTTP, no database).

* The **sign-in cookie** proves that its holder typed the admin token, without being the token:
  ``v1.<issued unix time>.<HMAC-SHA256(key, "admin|<issued>|<admin token>")>``. A stolen cookie
  does not reveal the token (the key is the server's secret, ``ServerState.dashboard_secret``),
  stops working when the token changes, and expires after ``SIGN_IN_MAX_AGE``. Signing out deletes
  it from the browser; a copy taken before then stays valid until it expires (there is no
  server-side session table to revoke it in; rotate the token to cut every cookie at once).
* The **CSRF token** is a signed double submit: the browser holds a random nonce in a cookie
  (HttpOnly, SameSite=Strict), and every state-changing form carries
  ``HMAC-SHA256(key, "csrf|<nonce>")``. Another site can neither read the cookie nor compute the
  signature, so it cannot forge the pair; a page that can set cookies on our host still cannot
  sign a nonce of its choice.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Optional

SIGN_IN_MAX_AGE = 7 * 24 * 3600  # seconds
_VERSION = "v1"


def _mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def sign_in_cookie(key: bytes, admin_token: str, now: int) -> str:
    """The cookie value for a browser that has just given ``admin_token``."""
    return f"{_VERSION}.{now}.{_mac(key, f'admin|{now}|{admin_token}')}"


def sign_in_valid(key: bytes, admin_token: Optional[str], cookie: Optional[str], now: int) -> bool:
    """Whether ``cookie`` was made by ``sign_in_cookie`` for this token, no longer than the max age ago."""
    if not cookie or admin_token is None:
        return False
    parts = cookie.split(".")
    if len(parts) != 3 or parts[0] != _VERSION or not parts[1].isdigit():
        return False
    issued = int(parts[1])
    if not issued <= now + 60 or now - issued > SIGN_IN_MAX_AGE:  # a minute of clock skew between workers
        return False
    return hmac.compare_digest(parts[2], _mac(key, f"admin|{issued}|{admin_token}"))


def new_nonce() -> str:
    return secrets.token_hex(16)


def csrf_token(key: bytes, nonce: str) -> str:
    """The form field that goes with the nonce cookie ``nonce``."""
    return _mac(key, f"csrf|{nonce}")


def csrf_valid(key: bytes, nonce: Optional[str], token: Optional[str]) -> bool:
    """Whether the submitted ``token`` is the signature of the browser's ``nonce`` cookie."""
    if not nonce or not token or len(nonce) > 64:
        return False
    return hmac.compare_digest(token, csrf_token(key, nonce))
