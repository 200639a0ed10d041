"""Worker processes that Ctrl-C in a terminal does not reach: their parent stops them.

Ctrl-C sends SIGINT to every process of the terminal's group. A uvicorn worker process still
starting (Python's own start-up, the imports) died of it with a ``KeyboardInterrupt`` traceback,
one per worker, although the parent stops its workers with SIGTERM anyway. Workers start with the
signal mask of the thread that starts them: ``block_ctrl_c_for_workers`` blocks SIGINT in the main
thread (which uvicorn spawns the workers from) and keeps one idle thread that does not block it, so
the kernel still hands the parent's SIGINT to the process and Python runs uvicorn's handler in the
main thread as before. multiprocessing's resource tracker, started with the first worker,
unblocks SIGINT in the thread that starts it: it is started first.
"""

from __future__ import annotations

import signal
import threading
from multiprocessing import resource_tracker

__all__ = ["block_ctrl_c_for_workers"]


def block_ctrl_c_for_workers() -> None:
    """Block SIGINT for the processes the calling (main) thread starts from now on, not for this one."""
    receiver = threading.Thread(target=threading.Event().wait, name="sigint-receiver", daemon=True)
    receiver.start()  # made before the block: it keeps SIGINT deliverable to this process
    resource_tracker.ensure_running()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
