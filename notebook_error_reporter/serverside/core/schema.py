"""Create or upgrade the database schema by running the package's own Alembic migrations.

A fresh database is made by the migrations, never by ``metadata.create_all``: the schema a new
server gets is exactly the one an upgraded old server gets. Upgrading is idempotent and cheap when
the database is already at the newest revision, so every start runs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .db import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config() -> Config:
    """A configuration pointing at the migrations shipped inside the package (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision``, in one transaction holding the write lock (SQLite) or an
    advisory lock (PostgreSQL), so that several workers starting at once upgrade it exactly once."""
    config = alembic_config()
    with database.write_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(database: Database) -> Optional[str]:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> Optional[str]:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
