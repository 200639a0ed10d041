"""Which reporters are enabled on a shell, so that re-running a set-up cell replaces, not adds.

Kept on the shell object itself rather than in a module global: a notebook that re-imports or
reloads our package still finds (and replaces) the reporter its earlier cell enabled.
"""

from __future__ import annotations

import weakref
from typing import Any, Dict, Hashable, Protocol

_ATTRIBUTE = "_notebook_error_reporters"
_fallback: weakref.WeakKeyDictionary[Any, Registry] = weakref.WeakKeyDictionary()


class Disableable(Protocol):
    def disable(self) -> None: ...


class Registry:
    """Maps a reporter's target (backend and destination) to the reporter enabled for it, and to
    the session id this shell reports under there (kept after a reporter is disabled)."""

    def __init__(self) -> None:
        self.enabled: Dict[Hashable, Disableable] = {}
        self.sessions: Dict[Hashable, str] = {}

    def session_for(self, key: Hashable, proposed: str) -> str:
        """The session id of ``key`` in this shell: the first one proposed for it."""
        return self.sessions.setdefault(key, proposed)

    def replace(self, key: Hashable, reporter: Disableable) -> None:
        """Enable ``reporter`` for ``key``, disabling whichever reporter held it before."""
        previous = self.enabled.get(key)
        if previous is not None and previous is not reporter:
            previous.disable()
        self.enabled[key] = reporter

    def remove(self, key: Hashable, reporter: Disableable) -> None:
        if self.enabled.get(key) is reporter:
            del self.enabled[key]


def registry_for(shell: Any) -> Registry:
    """The registry stored on ``shell`` (made on first use)."""
    registry = getattr(shell, _ATTRIBUTE, None)
    if isinstance(registry, Registry):
        return registry
    if registry is not None and type(registry).__name__ == "Registry":
        return registry  # type: ignore[no-any-return]  # same class from a reloaded module
    registry = Registry()
    try:
        setattr(shell, _ATTRIBUTE, registry)
    except Exception:
        registry = _fallback.setdefault(shell, registry)
    return registry
