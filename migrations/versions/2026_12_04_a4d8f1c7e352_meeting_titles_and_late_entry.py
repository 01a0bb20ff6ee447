"""Meetings and series carry a title ("RCP douleur", "RCP rachis"); a series keeps
its video room; a meeting entered after it started keeps the reason why.

Revision ID: a4d8f1c7e352
Revises: 4d6451894d0b
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a4d8f1c7e352"
down_revision = "4d6451894d0b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meeting_series") as batch_op:
        batch_op.add_column(sa.Column("title", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("video_link", sa.String(length=500), nullable=True))
    with op.batch_alter_table("meetings") as batch_op:
        batch_op.add_column(sa.Column("title", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("retrospective_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meetings") as batch_op:
        batch_op.drop_column("retrospective_reason")
        batch_op.drop_column("title")
    with op.batch_alter_table("meeting_series") as batch_op:
        batch_op.drop_column("video_link")
        batch_op.drop_column("title")
