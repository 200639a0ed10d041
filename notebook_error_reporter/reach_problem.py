"""Why a server could not be asked, in plain words for the one line a notebook user reads.

``requests`` reports a refused connection as ``HTTPConnectionPool(host=…): Max retries exceeded
… NewConnectionError(…)``; the user needs "could not reach https://… — is the server running?
(connection refused)". These functions find the cause in an exception's chain (``__cause__``,
``__context__``, urllib3's ``reason``, exception arguments) or in an HTTP status, and say it.
"""

from __future__ import annotations

import errno
import http
import socket
import ssl
from typing import Dict, List, Optional, Tuple, Type, Union

from .transport import Timeout

_MAX_CHAIN = 32


def _chain(error: BaseException) -> List[BaseException]:
    """``error`` and every exception it was caused by or wraps, outermost first."""
    found: List[BaseException] = []
    todo: List[BaseException] = [error]
    while todo and len(found) < _MAX_CHAIN:
        current = todo.pop(0)
        if any(current is seen for seen in found):
            continue
        found.append(current)
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += [arg for arg in current.args if isinstance(arg, BaseException)]
        todo.extend(item for item in linked if isinstance(item, BaseException))
    return found


def _first(
    chain: List[BaseException], kind: Union[Type[BaseException], Tuple[Type[BaseException], ...]]
) -> Optional[BaseException]:
    return next((error for error in chain if isinstance(error, kind)), None)


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _tls_words(chain: List[BaseException]) -> str:
    verify = _first(chain, ssl.SSLCertVerificationError)
    if verify is not None:
        detail = getattr(verify, "verify_message", "") or "not trusted"
        return f"its TLS certificate was not accepted ({detail})"
    failed = _first(chain, ssl.SSLError)
    reason = getattr(failed, "reason", None) if failed is not None else None
    detail = str(reason).replace("_", " ").lower() if reason else "TLS error"
    return f"the TLS handshake failed ({detail}); is it an https server?"


def connection_problem(error: BaseException, destination: str, timeout: Timeout) -> str:
    """What went wrong before any HTTP answer came, as one sentence naming ``destination``."""
    import requests  # already imported by whoever made the request

    chain = _chain(error)
    failed = f"could not reach {destination}"
    if _first(chain, requests.exceptions.ProxyError) is not None:  # before its own causes
        return f"{failed} — the proxy did not let the request through (is the proxy setting right?)"
    if _first(chain, ConnectionRefusedError) is not None:
        return f"{failed} — is the server running? (connection refused)"
    if _first(chain, socket.gaierror) is not None:
        return f"{failed} — is the address right? (host name not found)"
    if _first(chain, ssl.SSLError) is not None or _first(chain, requests.exceptions.SSLError) is not None:
        return f"{failed} — {_tls_words(chain)}"
    if _first(chain, requests.exceptions.ConnectTimeout) is not None:
        waited = _seconds(timeout[0])
        return f"{failed} — is the server running and the network up? (no connection within {waited})"
    if _first(chain, requests.exceptions.ReadTimeout) is not None:
        return f"{destination} did not answer within {_seconds(timeout[1])} — is the server overloaded?"
    if _first(chain, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)) is not None:
        return f"{failed} — the connection was closed before an answer came (connection reset)"
    system = next((e for e in chain if isinstance(e, OSError) and e.errno in errno.errorcode), None)
    if system is not None and system.errno is not None:
        words = system.strerror or errno.errorcode[system.errno]
        return f"{failed} — is the network up? ({words.lower()})"
    return f"{failed} — is the server running? (no connection)"


def _status_words(status: int) -> str:
    try:
        return f"HTTP {status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


_SERVER_ADDRESS = "is it a notebook-error-reporter server's address?"
_STATUS_WORDS: Dict[int, str] = {
    401: "{d} refused to show this session's reports ({said}) — does a proxy ask for a login?",
    403: "{d} refused to show this session's reports ({said}) — does a proxy ask for a login?",
    404: "{d} has no reports to read here ({said}) — " + _SERVER_ADDRESS,
    429: "{d} is limiting requests ({said}) — try again in a minute",
    502: "the proxy in front of {d} got no answer from it ({said}) — is the server running?",
    503: "{d} is unavailable ({said}) — is it starting, overloaded or in maintenance?",
    504: "the proxy in front of {d} got no answer from it ({said}) — is the server running?",
}


def answer_problem(destination: str, status: int) -> str:
    """What an HTTP answer other than 200 means for reading a session's reports."""
    if status in _STATUS_WORDS:
        template = _STATUS_WORDS[status]
    elif status >= 500:
        template = "{d} failed while reading this session's reports ({said}) — its log says why"
    elif 300 <= status < 400:
        template = "{d} redirects elsewhere ({said}) — to a network's login page, or is the address wrong?"
    else:
        template = "{d} answered {said} to a request for this session's reports"
    return template.format(d=destination, said=_status_words(status))


def unreadable_answer(destination: str) -> str:
    """A 200 whose body is not a list of reports."""
    return f"{destination} answered with something that is not a list of reports — {_SERVER_ADDRESS}"
