"""Recover a cell's number, source and code file from what the shell keeps.

Results of old shells don't carry them, and when ``showtraceback`` runs, whether
``shell.execution_count`` has already moved on differs between IPython versions. The history is
written before a cell runs, in every version, so its last entry is the running cell.
"""

from __future__ import annotations

import weakref
from typing import Any, Dict, Optional, Tuple


def raw_cell_from_history(shell: Any, execution_count: int) -> str:
    """The raw source of cell ``execution_count``, or "" when the shell did not store it."""
    try:
        history = shell.history_manager.input_hist_raw
        if 0 <= execution_count < len(history):
            cell = history[execution_count]
            return cell if isinstance(cell, str) else ""
    except Exception:
        pass
    return ""


def running_cell(shell: Any) -> Tuple[int, str]:
    """(execution count, raw source) of the cell running now, as best the shell can tell."""
    current = int(getattr(shell, "execution_count", 0) or 0)
    try:
        history = shell.history_manager.input_hist_raw
        last = len(history) - 1
    except Exception:
        return current, ""
    # The last stored input is the running cell unless this run did not store history
    # (silent executions); then it belongs to an older cell and must not be reported as ours.
    if last >= 1 and last in (current, current - 1):
        cell = history[last]
        return last, cell if isinstance(cell, str) else ""
    return current, ""


def cell_files(shell: Any, raw_cell: str, execution_count: int) -> Optional[Dict[str, int]]:
    """Code file name -> cell number, as the shell's compiler knows them.

    IPython >= 8 keeps a map of every cell; older compilers (IPython 7 under ipykernel, whose
    cell files are /tmp/ipykernel_<pid>/<hash>.py) only tell the name of a given cell's file, so
    the map is made from the input history (each entry named once, then remembered), with the
    failing cell's own entry made from its source.
    """
    compiler = getattr(shell, "compile", None)
    known = getattr(compiler, "_filename_map", None)
    if isinstance(known, dict):
        return known
    try:
        name = compiler.get_code_name(raw_cell, raw_cell, execution_count)  # type: ignore[union-attr]
    except Exception:
        return None
    try:
        names = _history_files(shell, compiler)
    except Exception:
        names = {}
    if isinstance(name, str) and raw_cell:
        names[name] = execution_count
    return names or None


_named: weakref.WeakKeyDictionary[Any, Tuple[int, Dict[str, int]]] = weakref.WeakKeyDictionary()


def _history_files(shell: Any, compiler: Any) -> Dict[str, int]:
    """The code file of every cell in the input history (a copy; later runs of a source win)."""
    history = shell.history_manager.input_hist_raw
    done, names = _named.get(compiler, (1, {}))
    for number in range(done, len(history)):
        source = history[number]
        if isinstance(source, str) and source:
            name = compiler.get_code_name(source, source, number)
            if isinstance(name, str):
                names[name] = number
    _named[compiler] = (len(history), names)
    return dict(names)
