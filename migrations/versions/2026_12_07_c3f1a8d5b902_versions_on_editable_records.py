"""Every record people edit in a form carries a version (optimistic lock):
patients, meetings, procedure plans, catalogue entries, site settings and
accounts, as referrals and decisions already do. Existing rows start at 1.

Revision ID: c3f1a8d5b902
Revises: b3f7d2e9a614
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c3f1a8d5b902"
down_revision = "b3f7d2e9a614"
branch_labels = None
depends_on = None

TABLES = (
    "patients",
    "meetings",
    "procedure_plans",
    "indications",
    "techniques",
    "site_settings",
    "users",
)


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("version", sa.Integer(), nullable=False, server_default="1")
            )
        # The application sets the version of new rows, as on referrals.
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("version", server_default=None)


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("version")
