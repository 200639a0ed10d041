"""``notebook-error-server``: start the collection server, or purge old reports.

    notebook-error-server [--host H] [--port P] [--database-url URL] [--admin-token T] [--workers N]
                          [--max-transparency] [--colab-only] [--trusted-proxy CIDR ...]
                          [--slack-webhook-url URL] [--alert-webhook-url URL] [--public-base-url URL]
    notebook-error-server purge --older-than-days N [--database-url URL]
    notebook-error-server migrate [--database-url URL]
    notebook-error-server regroup [--database-url URL]

Defaults: 127.0.0.1:8000 and the SQLite file ``notebook_errors.db`` in the working directory. Every
flag has an environment variable (``NOTEBOOK_ERROR_REPORTER_<FLAG>``, and ``DATABASE_URL``); a flag
wins over the environment. Without an admin token, one is generated at the first start, stored
beside the database (``notebook_errors.admin_token``, readable by the owner only) and printed once.

uvicorn runs with its proxy-header rewriting off: which ``X-Forwarded-For`` to believe is decided
by ``--trusted-proxy`` alone (see ``core/addresses.py``).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from .core.config import DEFAULT_DATABASE_FILE, PREFIX, Settings, sqlite_path

FACTORY = "notebook_error_reporter.serverside.asgi:app_from_env"
TOKEN_SUFFIX = ".admin_token"
COMMANDS = ("serve", "purge", "migrate", "regroup")


def _out(text: str) -> None:
    """The CLI's deliberate output (the package prints nothing anywhere else)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        help=f"SQLAlchemy URL (env DATABASE_URL); default sqlite:///{DEFAULT_DATABASE_FILE} here. "
        "PostgreSQL: postgresql://user:password@host/dbname",
    )


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="notebook-error-server", description="Collect notebook error reports."
    )
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, help="port (default 8000)")
    _database_option(parser)
    parser.add_argument(
        "--admin-token", help="admin token (default: generated once, stored beside the database)"
    )
    parser.add_argument("--workers", type=int, help="uvicorn worker processes (default 1)")
    parser.add_argument(
        "--max-transparency", action="store_true", default=None, help="let anybody read all reports"
    )
    parser.add_argument(
        "--colab-only", action="store_true", default=None, help="accept reports from Google's networks only"
    )
    parser.add_argument(
        "--trusted-proxy",
        action="append",
        metavar="CIDR",
        help="a reverse proxy whose X-Forwarded-For is believed (repeatable)",
    )
    parser.add_argument(
        "--slack-webhook-url",
        help="Slack incoming webhook told about new issues and regressions "
        "(a secret: prefer env NOTEBOOK_ERROR_REPORTER_SLACK_WEBHOOK_URL)",
    )
    parser.add_argument("--alert-webhook-url", help="a URL that gets the same alerts as JSON")
    parser.add_argument(
        "--public-base-url", help="this server as people reach it, for links in alerts (default http://HOST:PORT)"
    )
    parser.add_argument("--log-level", default="info", help="uvicorn's log level (default info)")
    return parser


def _purge_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="notebook-error-server purge", description="Delete reports older than N days (issues stay)."
    )
    parser.add_argument("--older-than-days", type=int, help="default: NOTEBOOK_ERROR_REPORTER_RETENTION_DAYS")
    _database_option(parser)
    return parser


def _migrate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="notebook-error-server migrate", description="Create or upgrade the database schema."
    )
    _database_option(parser)
    return parser


def _regroup_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="notebook-error-server regroup",
        description="Put every stored report into the issue today's grouping gives it "
        "(stop the server first).",
    )
    _database_option(parser)
    return parser


def token_path(database_url: str) -> Path:
    """Where a generated admin token lives: beside the SQLite file, else in the working directory."""
    path = sqlite_path(database_url)
    if path is not None:
        database = Path(path)
        return database.with_name(database.stem + TOKEN_SUFFIX)
    return Path.cwd() / (Path(DEFAULT_DATABASE_FILE).stem + TOKEN_SUFFIX)


def load_or_create_token(path: Path) -> Tuple[str, bool]:
    """The stored token, or a new one written with mode 0600; True when it was just made."""
    try:
        return path.read_text(encoding="utf-8").strip(), False
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile: use theirs
        return path.read_text(encoding="utf-8").strip(), False
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token, True


def _public_url(host: str, port: int) -> str:
    shown = "<this machine's address>" if host in ("0.0.0.0", "::") else host
    if ":" in shown and not shown.startswith("<"):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def serve(argv: Sequence[str]) -> int:
    args = _serve_parser().parse_args(argv)
    settings = Settings.from_env(
        host=args.host,
        port=args.port,
        database_url=args.database_url,
        admin_token=args.admin_token,
        workers=args.workers,
        max_transparency=args.max_transparency,
        colab_only=args.colab_only,
        trusted_proxies=tuple(args.trusted_proxy) if args.trusted_proxy else None,
        slack_webhook_url=args.slack_webhook_url,
        alert_webhook_url=args.alert_webhook_url,
        public_base_url=args.public_base_url,
    )
    token_file: Optional[Path] = None
    token_note = "Admin token: as configured."
    if settings.admin_token is None:
        token_file = token_path(settings.database_url)
        token, created = load_or_create_token(token_file)
        settings = settings.replace(admin_token=token)
        if created:
            token_note = f"Admin token (shown this once; stored in {token_file}):\n    {token}"
        else:
            token_note = f"Admin token: stored in {token_file}"
    from . import create_db

    create_db(settings.database_url)
    import uvicorn

    # Workers rebuild the settings from the environment; a generated token travels by its file.
    env: Dict[str, str] = settings.to_env()
    if token_file is not None:
        env.pop(PREFIX + "ADMIN_TOKEN", None)
        env[PREFIX + "ADMIN_TOKEN_FILE"] = str(token_file)
    os.environ.update(env)
    url = _public_url(settings.host, settings.port)
    _out(f"notebook-error-server: collecting reports at {url}/")
    _out(f"    API documentation: {url}/docs    dashboard: {url}/")
    _out(f"    database: {_describe(settings.database_url)}")
    _out(token_note)
    uvicorn.run(
        FACTORY,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        proxy_headers=False,
        server_header=False,
        log_level=args.log_level,
        access_log=False,  # it would write every client's address (and session ids) to the log
        timeout_graceful_shutdown=5,
    )
    return 0


def _describe(database_url: str) -> str:
    path = sqlite_path(database_url)
    if path is not None:
        return f"SQLite file {path}"
    from sqlalchemy.engine import make_url

    return make_url(database_url).render_as_string(hide_password=True)


def purge(argv: Sequence[str]) -> int:
    args = _purge_parser().parse_args(argv)
    settings = Settings.from_env(database_url=args.database_url)
    days: Optional[int] = (
        args.older_than_days if args.older_than_days is not None else settings.retention_days
    )
    if days is None or days < 1:
        _out("purge: give --older-than-days N (N >= 1) or set NOTEBOOK_ERROR_REPORTER_RETENTION_DAYS")
        return 2
    from . import crud
    from .core.db import Database
    from .core.types import utcnow

    database = Database(settings.database_url)
    try:
        with database.write_session() as session:
            deleted = crud.purge_events(session=session, older_than=utcnow() - timedelta(days=days))
    finally:
        database.dispose()
    _out(f"purge: deleted {deleted} report(s) older than {days} day(s); issues and their counts are kept")
    return 0


def migrate(argv: Sequence[str]) -> int:
    args = _migrate_parser().parse_args(argv)
    settings = Settings.from_env(database_url=args.database_url)
    from . import create_db

    create_db(settings.database_url)
    _out(f"migrate: {_describe(settings.database_url)} is at the newest schema")
    return 0


def regroup(argv: Sequence[str]) -> int:
    args = _regroup_parser().parse_args(argv)
    settings = Settings.from_env(database_url=args.database_url)
    from sqlalchemy.exc import SQLAlchemyError

    from . import create_db
    from .core.db import Database
    from .regroup import regroup as regroup_reports

    try:
        create_db(settings.database_url)
        database = Database(settings.database_url)
        try:
            with database.write_engine.begin() as connection:
                done = regroup_reports(connection)
        finally:
            database.dispose()
    except SQLAlchemyError as error:  # nothing changed: the transaction is rolled back
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        sys.stderr.write(f"regroup: {_describe(settings.database_url)}: {reason}; nothing was changed\n")
        return 1
    _out(
        f"regroup: {done.reports} report(s), {done.reports_moved} moved; "
        f"{done.issues_before} issue(s) before, {done.issues_after} now"
    )
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args.pop(0) if args and args[0] in COMMANDS else "serve"
    try:
        if command == "purge":
            return purge(args)
        if command == "migrate":
            return migrate(args)
        if command == "regroup":
            return regroup(args)
        return serve(args)
    except ValueError as error:  # a bad setting: say which, no traceback
        sys.stderr.write(f"notebook-error-server: {error}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
