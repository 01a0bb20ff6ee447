"""Referrer told of eligibility, on the verdict

Whether a referrer was e-mailed that a case became eligible for re-discussion
was known only from the outbox message's key ('eligible:<referral id>'), so
pruning old messages would have told every referrer again. The verdict now
records it; existing messages fill it in (when each was written). Undoing this
keeps the messages, which are then again the only record.

Revision ID: 4255fb17cb21
Revises: 2f9c4e7a1b63
Create Date: 2026-12-01 13:45:50.537969

"""

import sqlalchemy as sa
from alembic import op

revision = "4255fb17cb21"
down_revision = "2f9c4e7a1b63"
branch_labels = None
depends_on = None

verdicts = sa.table(
    "case_verdicts",
    sa.column("referral_id", sa.Integer),
    sa.column("referrer_told_at", sa.DateTime(timezone=True)),
)
outbox = sa.table(
    "outbox_messages",
    sa.column("dedup_key", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def upgrade():
    with op.batch_alter_table("case_verdicts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("referrer_told_at", sa.DateTime(timezone=True), nullable=True)
        )

    # The same statement on SQLite and PostgreSQL: || and CAST AS VARCHAR.
    key = sa.literal("eligible:") + sa.cast(verdicts.c.referral_id, sa.String)
    told = outbox.c.dedup_key == key
    op.execute(
        verdicts.update()
        .where(sa.exists().where(told))
        .values(referrer_told_at=sa.select(outbox.c.created_at).where(told).scalar_subquery())
    )


def downgrade():
    with op.batch_alter_table("case_verdicts", schema=None) as batch_op:
        batch_op.drop_column("referrer_told_at")
