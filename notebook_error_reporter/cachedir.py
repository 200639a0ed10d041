"""Where the spool file lives: the user's cache directory, else a private temp dir, else memory.

A shared notebook runs on laptops, Colab, locked-down university machines and containers with no
home at all. Finding a place for the spool must therefore never fail: every candidate is only a
suggestion, tried in order, and the last resort (``MEMORY``) always works. This module only picks
directories; ``spool.py`` tries to open a database in each until one accepts a write.
"""

from __future__ import annotations

import ntpath
import os
import sys
import tempfile
from pathlib import Path
from typing import List, Mapping, Optional

APP_DIR = "notebook-error-reporter"
SPOOL_FILE = "spool.sqlite3"
MEMORY = ":memory:"


def user_cache_dir(
    environ: Optional[Mapping[str, str]] = None, platform: Optional[str] = None
) -> Optional[Path]:
    """The platform's per-user cache directory, or None when there is no usable home.

    Linux and other POSIX: ``$XDG_CACHE_HOME`` (if absolute) else ``~/.cache``; Windows:
    ``%LOCALAPPDATA%``; macOS: ``~/Library/Caches``. Nothing is created here.
    """
    env = os.environ if environ is None else environ
    system = sys.platform if platform is None else platform
    if system.startswith("win"):
        local = env.get("LOCALAPPDATA", "").strip()
        return Path(local) if local and ntpath.isabs(local) else None
    home = env.get("HOME", "").strip() or _expanded_home()
    if system == "darwin":
        return Path(home, "Library", "Caches") if _usable_home(home) else None
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    if xdg and os.path.isabs(xdg):  # the XDG spec says relative values are to be ignored
        return Path(xdg)
    return Path(home, ".cache") if _usable_home(home) else None


def _expanded_home() -> str:
    try:
        return os.path.expanduser("~")
    except Exception:  # pragma: no cover - no passwd entry and no HOME
        return ""


def _usable_home(home: str) -> bool:
    return bool(home) and home not in ("~", "/") and os.path.isabs(home)


def private_temp_dir() -> Path:
    """A per-user directory under the system temp dir (other users share /tmp; reports must not)."""
    uid = getattr(os, "getuid", None)
    suffix = str(uid()) if uid is not None else (os.environ.get("USERNAME", "") or "user")
    return Path(tempfile.gettempdir(), f"{APP_DIR}-{suffix}")


def spool_candidates(spool_path: Optional[str] = None) -> List[str]:
    """Spool files to try, best first, always ending with ``MEMORY``.

    An explicit ``spool_path`` comes first, then (only without one) the user cache dir, then the
    private temp dir.
    """
    candidates: List[str] = []
    if spool_path:
        candidates.append(str(spool_path) if spool_path == MEMORY else os.path.abspath(spool_path))
    else:
        cache = user_cache_dir()
        if cache is not None:
            candidates.append(str(cache / APP_DIR / SPOOL_FILE))
    candidates.append(str(private_temp_dir() / SPOOL_FILE))
    candidates.append(MEMORY)
    return list(dict.fromkeys(candidates))


def prepare_directory(spool_file: str) -> bool:
    """Create the spool file's directory (mode 0700) if needed; False if it cannot hold our files.

    On POSIX the private temp dir is refused if it belongs to someone else: in a shared /tmp it
    may be another user's trap, set up to read our reports.
    """
    directory = os.path.dirname(spool_file)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if not os.path.isdir(directory):
            return False
        getuid = getattr(os, "getuid", None)
        in_shared_temp = Path(directory) == private_temp_dir()
        if getuid is not None and in_shared_temp and os.stat(directory).st_uid != getuid():
            return False
        if not os.path.exists(spool_file):
            # Create the file ourselves so that it is private (sqlite would use the umask).
            os.close(os.open(spool_file, os.O_CREAT | os.O_WRONLY, 0o600))
        return True
    except OSError:
        return False
