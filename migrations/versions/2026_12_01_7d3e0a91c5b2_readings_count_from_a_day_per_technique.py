"""Readings count from a day of each technique

A reading on the day of the procedure shows the local anaesthetic's effect,
not the treatment's: each technique now says from which day after the
procedure its readings count (as a response or a recurrence). Every
existing technique counts from day 1.

Revision ID: 7d3e0a91c5b2
Revises: 4255fb17cb21
Create Date: 2026-12-01 15:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "7d3e0a91c5b2"
down_revision = "4255fb17cb21"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("techniques", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("counts_from_day", sa.Integer(), server_default="1", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("techniques", schema=None) as batch_op:
        batch_op.drop_column("counts_from_day")
