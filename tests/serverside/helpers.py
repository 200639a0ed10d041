"""Small builders shared by the server tests."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional

ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

FRAMES: List[Dict[str, Any]] = [
    {"filename": "<cell 7>", "fun_name": "<module>", "lineno": 2},
    {"filename": "pandas/core/frame.py", "fun_name": "__getitem__", "lineno": 3761},
]


def make_event(
    *,
    session_id: Optional[str] = None,
    occurred_at: Any = None,
    **fields: Any,
) -> Dict[str, Any]:
    """A valid wire-format report; any field can be overridden."""
    event: Dict[str, Any] = {
        "event_id": uuid.uuid4().hex,
        "session_id": session_id or uuid.uuid4().hex,
        "notebook": "protein-design",
        "error_name": "KeyError",
        "error_message": "'protein_id'",
        "traceback": [dict(frame) for frame in FRAMES],
        "first_line": "# Load the proteins",
        "execution_count": 7,
        "occurred_at": (occurred_at or datetime.now(timezone.utc)),
        "client": {"reporter": "0.2.0", "python": "3.11", "ipython": "8.12", "platform": "linux"},
    }
    if isinstance(event["occurred_at"], datetime):
        event["occurred_at"] = event["occurred_at"].isoformat()
    event.update(fields)
    return event


def errors_of_threads_at_once(
    count: int, work: Callable[[int], None], timeout: float = 120
) -> List[BaseException]:
    """Run ``work(0)`` ... ``work(count - 1)``, each in a thread of its own, all released together;
    what any of them raised (a deadlock, say), for the test to assert there was none."""
    start = threading.Barrier(count)
    errors: List[BaseException] = []

    def run(index: int) -> None:
        start.wait()
        try:
            work(index)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return errors
