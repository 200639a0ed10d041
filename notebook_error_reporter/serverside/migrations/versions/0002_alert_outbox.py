"""Alert outbox: one row per alert and target, written by ingest; each target's delivery health.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Plain SQLAlchemy types only (a migration is history: it must not change when the models do).
The foreign key has no ON DELETE: nothing is ever deleted by a cascade.
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Timestamp, nullable=False),
        sa.Column("claimed_until", Timestamp, nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("finished_at", Timestamp, nullable=True),
        sa.ForeignKeyConstraint(["issue_id"], ["issue.id"], name="fk_alert_issue_id_issue"),
        sa.PrimaryKeyConstraint("id", name="pk_alert"),
    )
    op.create_index("ix_alert_issue_id", "alert", ["issue_id"])
    op.create_index("ix_alert_status_target_id", "alert", ["status", "target", "id"])
    op.create_table(
        "alert_target",
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("last_sent_at", Timestamp, nullable=True),
        sa.Column("failing_since", Timestamp, nullable=True),
        sa.Column("last_failure_at", Timestamp, nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("target", name="pk_alert_target"),
    )


def downgrade() -> None:
    op.drop_table("alert_target")
    op.drop_index("ix_alert_status_target_id", table_name="alert")
    op.drop_index("ix_alert_issue_id", table_name="alert")
    op.drop_table("alert")
