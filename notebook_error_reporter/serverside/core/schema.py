"""Create or upgrade the database schema by running the package's own Alembic migrations.

A fresh database is made by the migrations, never by ``metadata.create_all``: the schema a new
server gets is exactly the one an upgraded old server gets. Upgrading is idempotent and cheap when
the database is already at the newest revision, so every start runs it: a database already at the
shipped head is recognised without importing Alembic (``revisions.py``), which is imported only
when there is something to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from .db import Database
from .revisions import single_head

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config() -> Config:
    """A configuration pointing at the migrations shipped inside the package (no alembic.ini)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision``, in one transaction holding the write lock (SQLite) or an
    advisory lock (PostgreSQL), so that several workers starting at once upgrade it exactly once."""
    if revision == "head" and at_shipped_head(database):
        return
    from alembic import command

    config = alembic_config()
    with database.write_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def shipped_head() -> Optional[str]:
    """The newest shipped revision as the migration files say it, or None (then ask Alembic)."""
    files = (MIGRATIONS_DIR / "versions").glob("*.py")
    return single_head(path.read_text(encoding="utf-8") for path in files)


def at_shipped_head(database: Database) -> bool:
    """Whether the database's recorded revision is the newest shipped one (read with plain SQL)."""
    head = shipped_head()
    if head is None:
        return False
    try:
        with database.engine.connect() as connection:
            recorded = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:  # no such table yet: a new database
        return False
    return recorded == [head]


def current_revision(database: Database) -> Optional[str]:
    from alembic.runtime.migration import MigrationContext

    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> Optional[str]:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
