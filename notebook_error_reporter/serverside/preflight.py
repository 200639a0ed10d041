"""Checks made before the server starts (and before ``migrate``/``purge`` touch a database).

Each known way to fail becomes a ``StartFailure`` with one line saying what is wrong and what to do:
a database URL that does not parse or names an unsupported database, a missing driver, a SQLite
file whose directory does not exist or cannot be written, a port in use, an address that cannot
be bound. A password in a URL is never repeated.
"""

from __future__ import annotations

import errno
import os
import socket
from typing import Optional

from .core.config import sqlite_path

SUPPORTED_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")
URL_EXAMPLES = "sqlite:///notebook_errors.db or postgresql://user:password@host/dbname"
REPORTS_TABLE = "event"


class StartFailure(Exception):
    """A known reason the command cannot go on, in one line."""


def database_url_problem(database_url: str) -> Optional[str]:
    """Why this URL cannot be used (parse, supported database, installed driver), or None."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(database_url)
    except (ArgumentError, ValueError):
        return f"the database URL does not parse; expected e.g. {URL_EXAMPLES}"
    if url.drivername not in SUPPORTED_DRIVERS:
        return f"unsupported database {url.get_backend_name()!r} in the database URL; use {URL_EXAMPLES}"
    if url.get_backend_name() == "postgresql" and not _importable("psycopg"):
        return "PostgreSQL needs the psycopg driver: pip install 'notebook-error-reporter[server,postgres]'"
    return None


def check_database(database_url: str) -> None:
    """The URL is usable and, for a SQLite file, its directory exists and it can be written there."""
    problem = database_url_problem(database_url)
    if problem is not None:
        raise StartFailure(problem)
    path = sqlite_path(database_url)
    if path is None:
        return
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise StartFailure(f"the directory of the SQLite database does not exist: {directory}")
    if os.path.exists(path):
        if not os.path.isfile(path):
            raise StartFailure(f"the SQLite database is not a file: {path}")
        if not os.access(path, os.R_OK | os.W_OK):
            raise StartFailure(f"the SQLite database cannot be written (permissions): {path}")
    # Also beside it: SQLite's -wal and -shm files, the writer-turn lock file, the admin token.
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StartFailure(f"the SQLite database's directory cannot be written (permissions): {directory}")


def check_rate_limit_storage(storage_url: str) -> None:
    if storage_url.startswith(("redis://", "rediss://", "redis+")) and not _importable("redis"):
        raise StartFailure(
            "rate limits kept in Redis need its client: pip install 'notebook-error-reporter[server,redis]'"
        )


def check_listen(host: str, port: int) -> None:
    """The address can be bound now (as uvicorn will: SO_REUSEADDR), else why not."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise StartFailure(f"cannot listen on {host}: no such host or address") from None
    for family, kind, protocol, _name, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                raise StartFailure(_bind_problem(host, port, error)) from None


def _bind_problem(host: str, port: int, error: OSError) -> str:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if error.errno == errno.EADDRINUSE:
        return f"cannot listen on {where}: address already in use (another server?); choose another --port"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: {host} is not an address of this machine"
    if error.errno == errno.EACCES:
        return f"cannot listen on {where}: permission denied (ports below 1024 need privileges)"
    return f"cannot listen on {where}: {error.strerror or error}"


def check_database_exists(database_url: str) -> None:
    """For commands that need the server's tables: the database exists and has them (nothing is made)."""
    problem = database_url_problem(database_url)
    if problem is not None:
        raise StartFailure(problem)
    path = sqlite_path(database_url)
    if path is not None and not os.path.isfile(path):
        raise StartFailure(f"no database at {path} (the server makes it when it first starts)")
    from sqlalchemy import create_engine, inspect

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            made = inspect(connection).has_table(REPORTS_TABLE)
    finally:
        engine.dispose()
    if not made:
        raise StartFailure(f"{describe_database(database_url)} has no reports table: nothing to purge")


def describe_database(database_url: str) -> str:
    """The database for people: its SQLite file, or its URL without the password."""
    path = sqlite_path(database_url)
    if path is not None:
        return f"SQLite file {path}"
    from sqlalchemy.engine import make_url

    return make_url(database_url).render_as_string(hide_password=True)


def known_failure(error: BaseException, database_url: str) -> Optional[str]:
    """One line for a failure met while using the database or the disk, or None for a real bug."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(error, DBAPIError):
        cause = " ".join(line.strip() for line in str(error.orig).splitlines() if line.strip())
        return f"cannot use the database ({describe_database(database_url)}): {cause}"
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    return None


def _importable(module: str) -> bool:
    from importlib import import_module

    try:
        import_module(module)
    except ImportError:
        return False
    return True
