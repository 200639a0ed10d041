"""``notebook-error-server``: start the collection server, bring its schema up to date, purge old reports.

    notebook-error-server [serve] [--host H] [--port P] [--database-url URL] ... (every setting)
    notebook-error-server migrate [--database-url URL]
    notebook-error-server purge [--older-than-days N] [--database-url URL]
    notebook-error-server regroup [--database-url URL]

Every setting of ``core/config.py`` is a flag (``--<name>``), an environment variable
(``NOTEBOOK_ERROR_REPORTER_<NAME>``) and a line of an optional ``.env`` file; a flag wins. A command
is one function registered with ``@command``. Known failures (bad settings, an unusable database,
a port in use) end as one line on stderr and a non-zero exit, here in ``main``, never a traceback.

uvicorn runs with its proxy-header rewriting off: which ``X-Forwarded-For`` to believe is decided
by ``--trusted-proxies`` alone (see ``core/addresses.py``), and with its access log off (it would
write every client's address).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, get_args

from . import preflight
from .admin_token import load_or_create_token, token_path
from .core.config import ALIASES, Settings, SettingsError, flag, variable
from .settings_table import shown_default

__all__ = ["COMMANDS", "command", "load_or_create_token", "main", "token_path"]

PROG = "notebook-error-server"
FACTORY = "notebook_error_reporter.serverside.asgi:app_from_env"
# An idle connection is closed after this many seconds between two requests (uvicorn's default).
KEEP_ALIVE_S = 5
# Flags that worked before the settings got one name each.
OLD_FLAGS = {"trusted_proxies": ("--trusted-proxy",)}
# Put on a command line, these show in the process list: say so in their help.
SECRETS = ("admin_token", "slack_webhook_url", "alert_webhook_url")
EXIT_USAGE = 2
EXIT_FAILURE = 1

Run = Callable[[argparse.Namespace, Settings], int]


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    settings: Tuple[str, ...]  # the settings it takes as flags; () for all of them
    arguments: Optional[Callable[[argparse.ArgumentParser], None]]
    run: Run


COMMANDS: Dict[str, Command] = {}


def command(
    name: str,
    summary: str,
    settings: Sequence[str] = ("database_url",),
    arguments: Optional[Callable[[argparse.ArgumentParser], None]] = None,
) -> Callable[[Run], Run]:
    """Register a subcommand: ``run(args, settings)`` returns the exit code."""

    def register(run: Run) -> Run:
        COMMANDS[name] = Command(name, summary, tuple(settings), arguments, run)
        return run

    return register


def _out(text: str) -> None:
    """The CLI's deliberate output (the package prints nothing anywhere else)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _fail(message: str, code: int = EXIT_FAILURE) -> int:
    sys.stderr.write(f"{PROG}: {message}\n")
    sys.stderr.flush()
    return code


# --- the parser -----------------------------------------------------------------------------------


def _add_settings(parser: argparse.ArgumentParser, names: Sequence[str]) -> None:
    """One flag per setting, its help made from the setting's description, default and variable."""
    group = parser.add_argument_group("settings (each also NOTEBOOK_ERROR_REPORTER_<NAME>, or in .env)")
    fields = Settings.model_fields
    for name in names or fields:
        info = fields[name]
        variables = ", ".join([variable(name)] + ([ALIASES[name]] if name in ALIASES else []))
        text = f"{info.description} (default: {shown_default(name)}; env {variables})"
        if name in SECRETS:
            text += "; a secret: prefer the environment, a flag shows in the process list"
        options: Dict[str, Any] = {"help": text.replace("%", "%%"), "default": argparse.SUPPRESS}
        kind = info.annotation
        if kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif "Tuple" in str(kind) or "tuple" in str(kind):
            options.update(action="append", metavar="CIDR[,CIDR...]")
        elif get_args(kind) and all(isinstance(choice, str) for choice in get_args(kind)):
            options["choices"] = get_args(kind)
        else:
            options["metavar"] = _metavar(name, str(kind))
        group.add_argument(flag(name), *OLD_FLAGS.get(name, ()), dest=name, **options)


def _metavar(name: str, kind: str) -> str:
    if name.endswith("_url"):
        return "URL"
    if name.startswith("rate_limit_"):
        return "LIMIT"
    if "int" in kind:
        return "N"
    return "SECONDS" if "float" in kind else name.upper()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        usage="%(prog)s [COMMAND] [SETTINGS...]",
        description="Collect the error reports of shared Jupyter and Colab notebooks. "
        "Without a command: serve.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for item in COMMANDS.values():
        sub = commands.add_parser(
            item.name, prog=f"{PROG} {item.name}", help=item.summary, description=item.summary
        )
        if item.arguments is not None:
            item.arguments(sub)
        _add_settings(sub, item.settings)
    _add_settings(parser, COMMANDS["serve"].settings)  # plain ``notebook-error-server ...`` serves
    return parser


# --- the commands ---------------------------------------------------------------------------------


@command("serve", "Start the collection server (the default command).", settings=())
def serve(args: argparse.Namespace, settings: Settings) -> int:
    preflight.check_database(settings.database_url)
    preflight.check_rate_limit_storage(settings.ratelimit_storage_url)
    preflight.check_listen(settings.host, settings.port)
    from . import create_db

    create_db(settings.database_url)
    settings, token_note = _with_admin_token(settings)
    import uvicorn

    from .banner import banner, base_url
    from .head_deadline import PROTOCOL as HEAD_DEADLINE_PROTOCOL
    from .logs import log_config

    # Workers rebuild the settings from the environment; a generated token travels by its file.
    os.environ.update(settings.to_env())
    url = base_url(settings.host, settings.port, settings.public_base_url)
    database = preflight.describe_database(settings.database_url)
    for line in banner(url=url, host=settings.host, database=database, token_note=token_note):
        _out(line)
    if settings.workers > 1:
        from .worker_signals import block_ctrl_c_for_workers

        block_ctrl_c_for_workers()
    uvicorn.run(
        FACTORY,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        proxy_headers=False,
        server_header=False,
        http=HEAD_DEADLINE_PROTOCOL,  # 408 for a request head that does not arrive in time
        limit_concurrency=settings.max_connections,
        timeout_keep_alive=KEEP_ALIVE_S,
        log_config=log_config(settings.log_format, settings.log_level),
        log_level=settings.log_level,
        access_log=False,  # it would write every client's address (and session ids) to the log
        timeout_graceful_shutdown=5,
    )
    return 0


def _with_admin_token(settings: Settings) -> Tuple[Settings, str]:
    """The settings with the admin token (generated and stored if none is configured), and what to say."""
    if settings.admin_token is not None:
        return settings, "Admin token: as configured."
    path = token_path(settings.database_url)
    token, created = load_or_create_token(path)
    settings = settings.replace(admin_token_file=str(path))
    if created:
        return settings, f"Admin token (shown this once; stored in {path}):\n    {token}"
    return settings, f"Admin token: stored in {path}"


@command("migrate", "Create the database schema, or upgrade it to the newest version.")
def migrate(args: argparse.Namespace, settings: Settings) -> int:
    preflight.check_database(settings.database_url)
    from . import create_db

    create_db(settings.database_url)
    _out(f"migrate: {preflight.describe_database(settings.database_url)} is at the newest schema")
    return 0


def _purge_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--older-than-days", type=int, metavar="N", help="default: NOTEBOOK_ERROR_REPORTER_RETENTION_DAYS"
    )


@command(
    "purge",
    "Delete reports older than N days; issues and their counts stay.",
    settings=("database_url", "retention_days"),
    arguments=_purge_arguments,
)
def purge(args: argparse.Namespace, settings: Settings) -> int:
    days = args.older_than_days if args.older_than_days is not None else settings.retention_days
    if days is None or days < 1:
        return _fail("purge: give --older-than-days N (N >= 1) or set --retention-days", EXIT_USAGE)
    preflight.check_database_exists(settings.database_url)
    from .core.db import Database
    from .core.types import utcnow
    from .crud.retention import purge_events

    database = Database(settings.database_url)
    try:
        with database.write_session() as session:
            deleted = purge_events(session=session, older_than=utcnow() - timedelta(days=days))
    finally:
        database.dispose()
    _out(f"purge: deleted {deleted} report(s) older than {days} day(s); issues and their counts are kept")
    return 0


@command(
    "regroup", "Put every stored report into the issue today's grouping gives it (stop the server first)."
)
def regroup(args: argparse.Namespace, settings: Settings) -> int:
    try:
        preflight.check_database_exists(settings.database_url)
    except preflight.StartFailure as error:
        return _fail(f"regroup: {error}; nothing was changed")
    from sqlalchemy.exc import SQLAlchemyError

    from . import create_db, search_index
    from .core.db import Database
    from .regroup import regroup as regroup_reports

    try:
        create_db(settings.database_url)
        database = Database(settings.database_url)
        try:
            with database.write_engine.begin() as connection:
                done = regroup_reports(connection)
                search_index.rebuild(connection)  # issues were made, merged and deleted
        finally:
            database.dispose()
    except SQLAlchemyError as error:  # nothing changed: the transaction is rolled back
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        described = preflight.describe_database(settings.database_url)
        return _fail(f"regroup: {described}: {reason}; nothing was changed")
    _out(
        f"regroup: {done.reports} report(s), {done.reports_moved} moved; "
        f"{done.issues_before} issue(s) before, {done.issues_after} now"
    )
    return 0


# --- one place for known failures -----------------------------------------------------------------


def main(argv: Optional[List[str]] = None) -> int:
    try:
        args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit:  # --help (0), or a usage error argparse wrote to stderr (2)
        return int(exit.code or 0)
    chosen = COMMANDS[args.command or "serve"]
    given = {name: value for name, value in vars(args).items() if name in Settings.model_fields}
    try:
        settings = Settings.from_env(**given)
    except SettingsError as error:
        return _fail(str(error), EXIT_USAGE)
    try:
        return chosen.run(args, settings)
    except preflight.StartFailure as error:
        return _fail(str(error))
    except SettingsError as error:
        return _fail(str(error), EXIT_USAGE)
    except Exception as error:
        message = preflight.known_failure(error, settings.database_url)
        if message is None:
            raise
        return _fail(message)


if __name__ == "__main__":
    raise SystemExit(main())
