"""A meeting started before the day it is scheduled keeps the reason why

Starting (and so closing) a meeting before its day is refused unless a reason
is given; the reason is kept on the meeting, and its change is in the audit
trail with who started it.

Revision ID: b3e8d1f0a6c2
Revises: b69404844069
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b3e8d1f0a6c2"
down_revision = "b69404844069"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("early_start_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_column("early_start_reason")
