"""Notes and versions: an issue's note for the notebook's users and the version that fixed it; the
notebook version of each report; when the server first saw each version of a notebook.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

Plain SQLAlchemy types only (a migration is history: it must not change when the models do).
The event index on ``notebook_id`` becomes one on ``(notebook_id, occurred_at)``: it serves the
same lookups and the per-cell counts of a notebook's last 30 days, at no extra cost per insert.
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: Union[str, None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("issue") as issue:
        issue.add_column(sa.Column("note", sa.Text(), nullable=True))
        issue.add_column(sa.Column("note_url", sa.String(length=500), nullable=True))
        issue.add_column(sa.Column("fixed_in_version", sa.String(length=64), nullable=True))
    with op.batch_alter_table("event") as event:
        event.add_column(sa.Column("notebook_version", sa.String(length=64), nullable=True))
        event.add_column(sa.Column("older_copy", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_event_issue_id_notebook_version", "event", ["issue_id", "notebook_version"])
    op.create_index("ix_event_notebook_id_occurred_at", "event", ["notebook_id", "occurred_at"])
    op.drop_index("ix_event_notebook_id", table_name="event")
    op.create_table(
        "notebook_version",
        sa.Column("notebook_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("first_seen", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["notebook_id"], ["notebook.id"], name="fk_notebook_version_notebook_id_notebook"
        ),
        sa.PrimaryKeyConstraint("notebook_id", "version", name="pk_notebook_version"),
    )


def downgrade() -> None:
    op.drop_table("notebook_version")
    op.create_index("ix_event_notebook_id", "event", ["notebook_id"])
    op.drop_index("ix_event_notebook_id_occurred_at", table_name="event")
    op.drop_index("ix_event_issue_id_notebook_version", table_name="event")
    with op.batch_alter_table("event", recreate="never") as event:
        event.drop_column("older_copy")
        event.drop_column("notebook_version")
    with op.batch_alter_table("issue", recreate="never") as issue:
        issue.drop_column("fixed_in_version")
        issue.drop_column("note_url")
        issue.drop_column("note")
