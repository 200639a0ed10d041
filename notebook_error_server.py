"""The ``notebook-error-server`` command's entry point, kept apart so that Ctrl-C at start is quiet.

Importing the server takes a few seconds; this module imports none of it until ``main`` runs, so an
interrupt during those imports, the checks or the migrations ends the command without a traceback.
"""

from __future__ import annotations

from typing import List, Optional

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command ended by Ctrl-C


def main(argv: Optional[List[str]] = None) -> int:
    try:
        from notebook_error_reporter.serverside.cli import main as run

        return run(argv)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
