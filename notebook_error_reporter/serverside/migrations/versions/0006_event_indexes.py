"""Fewer event indexes: every one is paid by every stored report.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

Plain SQLAlchemy types only (a migration is history: it must not change when the models do).
``(issue_id, id)`` goes: ``(issue_id, occurred_at, id)`` serves an issue's newest reports.
``(issue_id, notebook_version)`` goes: the versions an issue was reported from are kept in the small
``issue_version`` table (filled here from the stored reports), one row per pair instead of one index
entry per report.
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: Union[str, None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "issue_version",
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["issue_id"], ["issue.id"], name="fk_issue_version_issue_id_issue"),
        sa.PrimaryKeyConstraint("issue_id", "version", name="pk_issue_version"),
    )
    op.execute(
        "INSERT INTO issue_version (issue_id, version) SELECT DISTINCT issue_id, notebook_version"
        " FROM event WHERE notebook_version IS NOT NULL"
    )
    op.drop_index("ix_event_issue_id_notebook_version", table_name="event")
    op.drop_index("ix_event_issue_id_id", table_name="event")


def downgrade() -> None:
    op.create_index("ix_event_issue_id_id", "event", ["issue_id", "id"])
    op.create_index("ix_event_issue_id_notebook_version", "event", ["issue_id", "notebook_version"])
    op.drop_table("issue_version")
