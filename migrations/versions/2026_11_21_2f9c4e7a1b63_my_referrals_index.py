"""My referrals index: a referrer's cases, newest first

The radiologists' and clinicians' homes list their own referrals by creation
time; without this index SQLite sorted all of a referrer's cases.

Revision ID: 2f9c4e7a1b63
Revises: 8d3f6a2b4c17
Create Date: 2026-11-21 23:35:00

"""

from alembic import op

revision = "2f9c4e7a1b63"
down_revision = "8d3f6a2b4c17"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_referrals_referrer_id_created_at", "referrals", ["referrer_id", "created_at"]
    )


def downgrade():
    op.drop_index("ix_referrals_referrer_id_created_at", table_name="referrals")
