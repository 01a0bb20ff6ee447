"""Patient opted out of online questionnaires, with the date

A patient may ask, from an invitation's message, to receive no more online
questionnaires: their consent to be contacted is withdrawn and the day they
asked is kept, so the case page can say so. Recording their consent again
clears it. Existing patients have not opted out.

Revision ID: c3f1a7d94e20
Revises: 4425bacfd26c
Create Date: 2026-12-02 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "c3f1a7d94e20"
down_revision = "4425bacfd26c"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_opted_out_on", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("contact_opted_out_on")
