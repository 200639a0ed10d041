"""Initial schema: notebooks, sessions, issues with their daily counts, events, server secrets.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Plain SQLAlchemy types only (a migration is history: it must not change when the models do).
Foreign keys have no ON DELETE: nothing is ever deleted by a cascade.
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

Timestamp = sa.DateTime(timezone=True)


def _counter(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "notebook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_seen", Timestamp, nullable=True),
        _counter("event_count"),
        _counter("session_count"),
        _counter("client_dropped"),
        sa.PrimaryKeyConstraint("id", name="pk_notebook"),
        sa.UniqueConstraint("name", name="uq_notebook_name"),
    )
    op.create_table(
        "server_secret",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_server_secret"),
    )
    op.create_table(
        "issue",
        sa.Column("error_name", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("culprit", sa.Text(), nullable=False),
        sa.Column("regression", sa.Boolean(), nullable=False),
        _counter("event_count"),
        _counter("session_count"),
        sa.Column("first_seen", Timestamp, nullable=False),
        sa.Column("last_seen", Timestamp, nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notebook_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("regressed_at", Timestamp, nullable=True),
        sa.Column("status_changed_at", Timestamp, nullable=True),
        sa.ForeignKeyConstraint(["notebook_id"], ["notebook.id"], name="fk_issue_notebook_id_notebook"),
        sa.PrimaryKeyConstraint("id", name="pk_issue"),
        sa.UniqueConstraint("fingerprint", name="uq_issue_fingerprint"),
    )
    op.create_index("ix_issue_event_count", "issue", ["event_count"])
    op.create_index("ix_issue_last_seen", "issue", ["last_seen"])
    op.create_index("ix_issue_notebook_event_count", "issue", ["notebook_id", "event_count"])
    op.create_index("ix_issue_notebook_last_seen", "issue", ["notebook_id", "last_seen"])
    op.create_index("ix_issue_status", "issue", ["status"])
    op.create_table(
        "report_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("notebook_id", sa.Integer(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_seen", Timestamp, nullable=True),
        _counter("event_count"),
        sa.ForeignKeyConstraint(
            ["notebook_id"], ["notebook.id"], name="fk_report_session_notebook_id_notebook"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_report_session"),
        sa.UniqueConstraint("session_id", name="uq_report_session_session_id"),
    )
    op.create_index("ix_report_session_notebook_id", "report_session", ["notebook_id"])
    op.create_table(
        "event",
        sa.Column("error_name", sa.String(length=200), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("traceback", sa.JSON(), nullable=False),
        sa.Column("first_line", sa.Text(), nullable=False),
        sa.Column("execution_count", sa.Integer(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("session_pk", sa.Integer(), nullable=False),
        sa.Column("notebook_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", Timestamp, nullable=False),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.Column("client", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["issue_id"], ["issue.id"], name="fk_event_issue_id_issue"),
        sa.ForeignKeyConstraint(["notebook_id"], ["notebook.id"], name="fk_event_notebook_id_notebook"),
        sa.ForeignKeyConstraint(
            ["session_pk"], ["report_session.id"], name="fk_event_session_pk_report_session"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_event"),
        sa.UniqueConstraint("event_id", name="uq_event_event_id"),
    )
    op.create_index("ix_event_issue_id_id", "event", ["issue_id", "id"])
    op.create_index("ix_event_notebook_id", "event", ["notebook_id"])
    op.create_index("ix_event_occurred_at", "event", ["occurred_at"])
    op.create_index("ix_event_session_pk_id", "event", ["session_pk", "id"])
    op.create_table(
        "issue_day",
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        _counter("count"),
        sa.ForeignKeyConstraint(["issue_id"], ["issue.id"], name="fk_issue_day_issue_id_issue"),
        sa.PrimaryKeyConstraint("issue_id", "day", name="pk_issue_day"),
    )
    op.create_table(
        "issue_session",
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("session_pk", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["issue_id"], ["issue.id"], name="fk_issue_session_issue_id_issue"),
        sa.ForeignKeyConstraint(
            ["session_pk"], ["report_session.id"], name="fk_issue_session_session_pk_report_session"
        ),
        sa.PrimaryKeyConstraint("issue_id", "session_pk", name="pk_issue_session"),
    )


def downgrade() -> None:
    for table in (
        "issue_session",
        "issue_day",
        "event",
        "report_session",
        "issue",
        "server_secret",
        "notebook",
    ):
        op.drop_table(table)
