"""Shows an author's note in the failing cell's output, right under its traceback.

One ``display`` call with a mimebundle: a kernel's front end renders the escaped HTML (the link
clickable), a terminal shell prints the plain text. At most once per cell, however many
reporters of the notebook know the note.
"""

from __future__ import annotations

import threading
from typing import Any, Optional, Tuple

from .notes import NoteMessage, as_html, as_text

_lock = threading.Lock()
_last_shown: Optional[Tuple[int, int]] = None  # (id of the shell, execution count)


def first_time_for(shell: Any, execution_count: int) -> bool:
    """True the first time this is asked for a cell (a cell without a count always counts as new)."""
    global _last_shown
    if execution_count < 0:
        return True
    key = (id(shell), execution_count)
    with _lock:
        if _last_shown == key:
            return False
        _last_shown = key
    return True


def mimebundle(message: NoteMessage) -> dict[str, str]:
    return {"text/plain": as_text(message), "text/html": as_html(message)}


def show(message: NoteMessage) -> None:
    from IPython.display import display

    display(mimebundle(message), raw=True)
