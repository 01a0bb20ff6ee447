"""Prerequisites not done at the procedure, and why

Recording a procedure asks, of each prerequisite still unticked on the plan,
the date it was done or why it was not; the reasons are kept on the
procedure. Procedures recorded before say nothing (an empty record).

Revision ID: 5c1e9b7d2a40
Revises: c3f1a7d94e20
Create Date: 2026-12-02 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "5c1e9b7d2a40"
down_revision = "c3f1a7d94e20"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("procedures", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("prerequisites_not_done", sa.JSON(), server_default="{}", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("procedures", schema=None) as batch_op:
        batch_op.drop_column("prerequisites_not_done")
