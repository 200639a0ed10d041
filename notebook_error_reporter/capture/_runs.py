"""Which cell runs are in progress, so that a run nested in another is told from a top-level one.

A cell can run others inside it: ``%%capture`` and ``%%time`` call ``run_cell`` on their body,
and so can user code. Each run fires ``pre_run_cell``/``post_run_cell``; only the outermost run
is a cell the user ran. ``post_run_cell`` also fires without a ``pre_run_cell`` for an empty cell
(and for the cell that enabled us, when no run is known yet), so a finishing run is matched by its
``ExecutionInfo`` where it can be, and by nesting depth otherwise.
"""

from __future__ import annotations

from typing import Any, List


class CellRuns:
    """The stack of runs that started and have not finished, outermost first."""

    __slots__ = ("_infos",)

    def __init__(self) -> None:
        self._infos: List[Any] = []

    @property
    def running(self) -> bool:
        """True while some run is in progress."""
        return bool(self._infos)

    @property
    def outermost(self) -> Any:
        """The ``ExecutionInfo`` of the top-level run in progress; None if unknown or none."""
        return self._infos[0] if self._infos else None

    def start(self, info: Any) -> bool:
        """Note a run starting; True when it is a top-level run."""
        top_level = not self._infos
        self._infos.append(info)
        return top_level

    def finish(self, result: Any) -> bool:
        """Note the run of ``result`` finishing; True if it was nested (another run goes on).

        An empty run, which never started, is ignored.
        """
        infos = self._infos
        if not infos:
            return False
        info = getattr(result, "info", None)
        if info is not None and infos[-1] is not info:
            for index in range(len(infos) - 2, -1, -1):
                if infos[index] is info:  # the runs above it never finished (e.g. interrupted)
                    del infos[index:]
                    return bool(infos)
            raw_cell = getattr(info, "raw_cell", None)
            if isinstance(raw_cell, str) and not raw_cell.strip():
                return True
            # Otherwise IPython made a new info for this run (when the cell failed to run at all).
        infos.pop()
        return bool(infos)

    def clear(self) -> None:
        self._infos.clear()
