"""One index on the verdict's kind: the partial index of open verdicts

With an index on (kind, eligible_from) beside the partial one, SQLite's planner
fetched both open kinds and sorted every verdict to show the first page of
eligible cases; alone, the partial index is walked in order.

Revision ID: 8d3f6a2b4c17
Revises: 5b7e2c1d9a40
Create Date: 2026-11-21 23:20:00

"""

from alembic import op

revision = "8d3f6a2b4c17"
down_revision = "5b7e2c1d9a40"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_case_verdicts_kind_eligible_from", table_name="case_verdicts")


def downgrade():
    op.create_index(
        "ix_case_verdicts_kind_eligible_from", "case_verdicts", ["kind", "eligible_from"]
    )
