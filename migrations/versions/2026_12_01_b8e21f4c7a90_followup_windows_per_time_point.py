"""Follow-up windows per time point, and follow-ups that someone owns

Each time point of a follow-up schedule now has a window around its due date
(DOMAIN "Follow-up windows and ownership"); a technique may set its own. The
follow-ups planned so far get the convention's windows, so an assessment
fulfils the time point whose window it falls in, and a time point whose window
closed with no assessment is missed (out of window): pages say so at once, and
the nightly follow-up job stamps it, audited. Recorded assessments are not
touched. Follow-ups without an owner go to the case's referrer.

Revision ID: b8e21f4c7a90
Revises: 2a072349d997
Create Date: 2026-12-01 17:00:00.000000

"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision = "b8e21f4c7a90"
down_revision = "2a072349d997"
branch_labels = None
depends_on = None


def _default_window(days):
    # The convention as it stood when this migration was written (frozen here:
    # the rules may move on, the data written by this step may not).
    if days < 18:
        return (-2, 4)
    if days < 60:
        return (-7, 14)
    if days < 135:
        return (-14, 30)
    if days < 270:
        return (-30, 30)
    return (-30, 60)


def upgrade():
    with op.batch_alter_table("techniques", schema=None) as batch_op:
        batch_op.add_column(sa.Column("followup_windows", sa.JSON(), nullable=True))

    bind = op.get_bind()
    followups = sa.table(
        "followups",
        sa.column("id", sa.Integer),
        sa.column("procedure_id", sa.Integer),
        sa.column("referral_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("offset_days", sa.Integer),
        sa.column("due_on", sa.Date),
        sa.column("window_start_on", sa.Date),
        sa.column("window_end_on", sa.Date),
        sa.column("responsible_id", sa.Integer),
    )
    procedures = sa.table(
        "procedures", sa.column("id", sa.Integer), sa.column("performed_on", sa.Date)
    )
    referrals = sa.table(
        "referrals", sa.column("id", sa.Integer), sa.column("referrer_id", sa.Integer)
    )
    rows = bind.execute(
        sa.select(
            followups.c.id, followups.c.offset_days, followups.c.due_on, procedures.c.performed_on
        )
        .join(procedures, procedures.c.id == followups.c.procedure_id)
        .where(followups.c.kind == "SCHEDULED", followups.c.window_start_on.is_(None))
    ).all()
    windows = []
    for row in rows:
        opens, closes = _default_window(row.offset_days)
        start = max(row.performed_on + timedelta(days=1), row.due_on + timedelta(days=opens))
        windows.append({"key": row.id, "start": start, "end": row.due_on + timedelta(days=closes)})
    if windows:
        bind.execute(
            followups.update()
            .where(followups.c.id == sa.bindparam("key"))
            .values(window_start_on=sa.bindparam("start"), window_end_on=sa.bindparam("end")),
            windows,
        )
    referrer = (
        sa.select(referrals.c.referrer_id)
        .where(referrals.c.id == followups.c.referral_id)
        .scalar_subquery()
    )
    bind.execute(
        followups.update()
        .where(followups.c.responsible_id.is_(None))
        .values(responsible_id=referrer)
    )


def downgrade():
    # The windows of scheduled time points were not stored before: clear them.
    op.execute(
        "UPDATE followups SET window_start_on = NULL, window_end_on = NULL WHERE kind = 'SCHEDULED'"
    )
    op.execute("UPDATE followups SET status = 'PLANNED' WHERE status = 'OUT_OF_WINDOW'")
    with op.batch_alter_table("techniques", schema=None) as batch_op:
        batch_op.drop_column("followup_windows")
