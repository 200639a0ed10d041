"""Start the collection server on the embedded default: http://127.0.0.1:8000 with a SQLite file here.

    python run_app.py [serve|migrate|purge] [--port 8000] [--host 127.0.0.1] [--database-url URL] ...

The same as the ``notebook-error-server`` command (``--help`` lists every command and setting).
"""

from notebook_error_server import main

if __name__ == "__main__":
    raise SystemExit(main())
