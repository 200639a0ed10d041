"""Alembic environment: always run programmatically by ``core/schema.py`` on a given connection.

There is no alembic.ini: the package finds this directory next to itself, also when installed as a
wheel, and the caller hands over an open connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from notebook_error_reporter.serverside import models  # noqa: F401  (registers the tables)
from notebook_error_reporter.serverside.alerts import models as alert_models  # noqa: F401  (and these)
from notebook_error_reporter.serverside.core.metadata import SQLModel

# Any 64-bit number: PostgreSQL serialises concurrent upgrades (several workers or machines at once).
MIGRATION_LOCK_KEY = 7_224_914_020_001

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run the migrations through notebook_error_reporter.serverside.create_db()")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
