"""The case a running meeting is on, and the choice of e-mails after a meeting

While a meeting runs, the line last opened in meeting mode by someone recording
decisions is kept on the meeting, so that the team following it from their own
screens sees the same case. After a meeting is held, each referrer hears what
was decided for their cases and the coordinator gets its summary: a kind of
e-mail each person can turn off (everyone receives it until then).

Revision ID: 4d6451894d0b
Revises: e5a1c9d3f7b2
Create Date: 2026-12-02 12:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "4d6451894d0b"
down_revision = "e5a1c9d3f7b2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("current_item_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_meetings_current_item_id_agenda_items"),
            "agenda_items",
            ["current_item_id"],
            ["id"],
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "email_meeting_minutes", sa.Boolean(), nullable=False, server_default=sa.true()
            )
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email_meeting_minutes")

    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_meetings_current_item_id_agenda_items"), type_="foreignkey"
        )
        batch_op.drop_column("current_item_id")
