"""The small contract between the capture methods and the reporter."""

from __future__ import annotations

from typing import Callable

try:
    from typing import Protocol
except ImportError:  # pragma: no cover - Python < 3.8
    Protocol = object  # type: ignore[assignment,misc]

ErrorCallback = Callable[[BaseException, str, int], None]
"""Called as ``on_error(error, raw_cell, execution_count)`` once per failing cell."""


class Capture(Protocol):
    """An installed hook; ``method`` names it, ``uninstall`` removes exactly what ``install`` added."""

    method: str

    def install(self) -> None: ...

    def uninstall(self) -> None: ...
