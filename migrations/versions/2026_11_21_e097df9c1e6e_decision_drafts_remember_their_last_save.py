"""Decision drafts remember their last save

Revision ID: e097df9c1e6e
Revises: c6bbd6cf2e53
Create Date: 2026-11-21 20:16:30.826053

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e097df9c1e6e'
down_revision = 'c6bbd6cf2e53'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draft_saved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('draft_saved_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_decisions_draft_saved_by_id_users'), 'users', ['draft_saved_by_id'], ['id'])



def downgrade():
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_decisions_draft_saved_by_id_users'), type_='foreignkey')
        batch_op.drop_column('draft_saved_by_id')
        batch_op.drop_column('draft_saved_at')

