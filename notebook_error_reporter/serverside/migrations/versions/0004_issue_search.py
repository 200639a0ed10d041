"""Issue search: one row of searchable text per issue, indexed for substring search; filled now.
And an index that reads an issue's reports newest first by when they happened.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

SQLite: an FTS5 table with the trigram tokenizer (the issue id as its rowid). PostgreSQL: a plain
table with a ``pg_trgm`` GIN index; where the extension cannot be created (no privilege), the table
is made without it and a search reads every issue's row (still never the reports).
"""

from __future__ import annotations

import logging
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from notebook_error_reporter.serverside.search_index import index_unindexed

revision: str = "0004"
down_revision: Union[str, None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

logger = logging.getLogger("notebook_error_reporter.server")


def _trigram_index(connection: sa.Connection) -> bool:
    """Make the ``pg_trgm`` GIN index (and the extension if need be); False, with a warning, where
    the database user may not, leaving the search to read every issue's row."""
    try:
        with connection.begin_nested():
            connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            where = connection.scalar(
                sa.text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'")
            )
            # Qualified: the extension may live in another schema than this database's tables.
            index = f"CREATE INDEX ix_issue_search_text ON issue_search USING gin (text {where}.gin_trgm_ops)"
            connection.execute(sa.text(index))
    except sa.exc.DBAPIError as error:
        logger.warning("issue search without a trigram index: %s", str(error.orig).strip().splitlines()[0])
        return False
    return True


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        op.create_table(
            "issue_search",
            sa.Column("issue_id", sa.Integer(), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("issue_id", name="pk_issue_search"),
        )
        _trigram_index(connection)
    else:
        op.execute("CREATE VIRTUAL TABLE issue_search USING fts5(text, tokenize='trigram')")
    index_unindexed(connection)
    op.create_index("ix_event_issue_id_occurred_at_id", "event", ["issue_id", "occurred_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_event_issue_id_occurred_at_id", table_name="event")
    op.execute("DROP TABLE issue_search")
