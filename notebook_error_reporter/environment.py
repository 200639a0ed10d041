"""Facts about this machine and process that the pure layers need, gathered in one impure place.

``event.py`` and ``privacy.py`` take these as arguments so that they stay free of I/O; this module
is the only client module that reads the environment, the home directory or package versions.
"""

from __future__ import annotations

import functools
import getpass
import os
import platform
import site
import socket
import sys
import sysconfig
from typing import List, Mapping, Optional

from ._version import __version__
from .privacy import PrivacyContext
from .types import ClientInfoType

DISABLE_VARIABLE = "NOTEBOOK_ERROR_REPORTER_DISABLE"
DO_NOT_TRACK_VARIABLE = "DO_NOT_TRACK"
URL_VARIABLE = "NOTEBOOK_ERROR_REPORTER_URL"
NOTEBOOK_VARIABLE = "NOTEBOOK_ERROR_REPORTER_NOTEBOOK"
SLACK_WEBHOOK_VARIABLE = "NOTEBOOK_ERROR_REPORTER_SLACK_WEBHOOK"
VERSION_VARIABLE = "NOTEBOOK_ERROR_REPORTER_VERSION"
COLAB_RELEASE_VARIABLE = "COLAB_RELEASE_TAG"  # set in every Colab runtime
MAX_TAG_CHARS = 64
_TRUTHY = {"1", "true", "yes", "on"}


def opt_out_variable(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The name of the environment variable by which the user switched reporting off, if any."""
    env = os.environ if environ is None else environ
    for name in (DISABLE_VARIABLE, DO_NOT_TRACK_VARIABLE):
        if env.get(name, "").strip().lower() in _TRUTHY:
            return name
    return None


def _safe(call: functools.partial[str]) -> str:
    try:
        return call() or ""
    except Exception:
        return ""


def _library_roots() -> List[str]:
    roots: List[str] = []
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.append(path)
    try:
        roots.extend(site.getsitepackages())
    except AttributeError:  # pragma: no cover - old virtualenv's site module
        pass
    user_site = getattr(site, "USER_SITE", None)
    if user_site:
        roots.append(user_site)
    # Longest first, so a site-packages inside the stdlib dir wins over the stdlib dir.
    return sorted({os.path.normpath(r) for r in roots}, key=len, reverse=True)


@functools.lru_cache(maxsize=1)
def privacy_context() -> PrivacyContext:
    """Home, user name, host name and library directories: what the privacy rules must hide."""
    return PrivacyContext(
        home=_safe(functools.partial(os.path.expanduser, "~")).rstrip("/\\") if _home_is_real() else "",
        user=_safe(functools.partial(getpass.getuser)),
        hostname=_safe(functools.partial(socket.gethostname)),
        library_roots=tuple(_library_roots()),
    )


def _home_is_real() -> bool:
    home = os.path.expanduser("~")
    return home not in ("~", "/", "")


def _tag(value: Optional[str]) -> Optional[str]:
    text = " ".join((value or "").split())[:MAX_TAG_CHARS]
    return text if text.isprintable() and text else None


def notebook_version(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The notebook's version from ``NOTEBOOK_ERROR_REPORTER_VERSION``, if set."""
    env = os.environ if environ is None else environ
    return _tag(env.get(VERSION_VARIABLE))


def colab_release(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The Colab runtime's release tag (an environment variable: no call to the front end)."""
    env = os.environ if environ is None else environ
    return _tag(env.get(COLAB_RELEASE_VARIABLE))


@functools.lru_cache(maxsize=1)
def client_info() -> ClientInfoType:
    """Versions that help an author reproduce an error; no host, no user, no paths."""
    try:
        import IPython

        ipython_version = ".".join(str(part) for part in IPython.version_info[:3])
    except Exception:
        ipython_version = ""
    info: ClientInfoType = {
        "reporter": __version__,
        "python": platform.python_version(),
        "ipython": ipython_version,
        "platform": sys.platform,
        "colab": "yes" if in_colab() else "no",
    }
    release = colab_release()
    if release is not None:  # only where there is one: older servers refuse unknown fields
        info["colab_release"] = release
    return info


def in_colab() -> bool:
    """Colab's runtime imports ``google.colab`` and sets ``COLAB_RELEASE_TAG``."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ
