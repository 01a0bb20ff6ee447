"""The unit's figures kept for meeting mode: one row per technique and
indication, and one per technique for every indication, rebuilt nightly.

Revision ID: e5a1c9d3f7b2
Revises: b7d4e2f9a615
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tracker.core.db import UTCDateTime

revision = "e5a1c9d3f7b2"
down_revision = "b7d4e2f9a615"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("technique_id", sa.Integer(), nullable=False),
        sa.Column("indication_id", sa.Integer(), nullable=True),
        sa.Column("treated", sa.Integer(), nullable=False),
        sa.Column("patients", sa.Integer(), nullable=False),
        sa.Column("month3_compared", sa.Integer(), nullable=False),
        sa.Column("month3_moderate", sa.Integer(), nullable=False),
        sa.Column("month3_substantial", sa.Integer(), nullable=False),
        sa.Column("relief_subjects", sa.Integer(), nullable=False),
        sa.Column("relief_events", sa.Integer(), nullable=False),
        sa.Column("relief_median", sa.Float(), nullable=True),
        sa.Column("relief_median_low", sa.Float(), nullable=True),
        sa.Column("relief_median_high", sa.Float(), nullable=True),
        sa.Column("severe_events", sa.Integer(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["indication_id"],
            ["indications.id"],
            name=op.f("fk_evidence_figures_indication_id_indications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["technique_id"],
            ["techniques.id"],
            name=op.f("fk_evidence_figures_technique_id_techniques"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_figures")),
    )
    op.create_index(
        "ix_evidence_figures_technique",
        "evidence_figures",
        ["technique_id", "indication_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_evidence_figures_technique", table_name="evidence_figures")
    op.drop_table("evidence_figures")
