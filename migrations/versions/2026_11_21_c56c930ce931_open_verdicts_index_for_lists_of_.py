"""Open verdicts index for lists of eligible cases

Lists of cases eligible for re-discussion walk the verdicts that are or may
become eligible in date order and stop at their page, instead of sorting all.

Revision ID: c56c930ce931
Revises: e097df9c1e6e
Create Date: 2026-11-21 21:52:11.235403

"""

import sqlalchemy as sa
from alembic import op

revision = "c56c930ce931"
down_revision = "e097df9c1e6e"
branch_labels = None
depends_on = None

OPEN_KINDS = sa.text("kind IN ('ELIGIBLE', 'NOT_YET')")


def upgrade():
    with op.batch_alter_table("case_verdicts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_verdicts_open",
            ["eligible_from", "referral_id"],
            unique=False,
            sqlite_where=OPEN_KINDS,
            postgresql_where=OPEN_KINDS,
        )


def downgrade():
    with op.batch_alter_table("case_verdicts", schema=None) as batch_op:
        batch_op.drop_index("ix_case_verdicts_open")
