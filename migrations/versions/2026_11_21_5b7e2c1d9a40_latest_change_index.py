"""Latest change index on the audit trail

Pages that keep results until the data changes ask for the newest change entry
of each kind: one index step each.

Revision ID: 5b7e2c1d9a40
Revises: c56c930ce931
Create Date: 2026-11-21 23:00:00

"""

from alembic import op

revision = "5b7e2c1d9a40"
down_revision = "c56c930ce931"
branch_labels = None
depends_on = None


def upgrade():
    # Outside batch mode: the audit table keeps its triggers (no table rebuild).
    op.create_index("ix_audit_entries_action_id", "audit_entries", ["action", "id"])


def downgrade():
    op.drop_index("ix_audit_entries_action_id", table_name="audit_entries")
