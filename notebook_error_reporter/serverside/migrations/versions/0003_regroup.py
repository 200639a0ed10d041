"""Issues are "this failure at this place in this notebook": every stored report regrouped.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

Until 0.2.0 every top-level cell was ``<cell>`` and the message never counted, so different bugs of
different cells shared an issue. The fingerprint now tells cells apart by their first line and
uses the normalised message where no cell frame names the place (``notebook_error_reporter/
fingerprint.py``). This revision adds ``event.custom_fingerprint`` (a client's own grouping, set by
``before_send``) and regroups every stored report (``serverside/regroup.py``, the same code as
``notebook-error-server regroup``):

* Every report lands in the issue the new rule gives it; counts, first and last seen, reports per
  day and sessions are recomputed. Reports already deleted by retention stay counted with the new
  issue that holds their old issue's first remaining report, so no count is lost.
* A split (one old issue, several new ones): each part keeps the old issue's status, regression
  flag and times; the part with the old issue's first report keeps its id and alerts.
* A merge (several old issues, one new one): open wins over resolved, resolved over ignored, ties
  to the lowest id; the merged-away issues' alerts move to it.

Downgrading drops the column and leaves the issues as they are (grouping is not undone).
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from notebook_error_reporter.serverside.regroup import regroup

revision: str = "0003"
down_revision: Union[str, None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("event", sa.Column("custom_fingerprint", sa.JSON(), nullable=True))
    regroup(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.drop_column("custom_fingerprint")
