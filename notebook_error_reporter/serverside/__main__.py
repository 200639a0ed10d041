"""``python -m notebook_error_reporter.serverside``: the same as the ``notebook-error-server`` command."""

from .cli import main

raise SystemExit(main())
