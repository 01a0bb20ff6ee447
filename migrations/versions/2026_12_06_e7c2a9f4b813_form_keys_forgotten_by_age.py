"""Used form keys are forgotten after a month: indexed by when they were used

Revision ID: e7c2a9f4b813
Revises: d9e3b5a2c471
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "e7c2a9f4b813"
down_revision = "d9e3b5a2c471"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("form_submissions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_form_submissions_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("form_submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_submissions_created_at"))
