"""Indications and techniques carry their SNOMED CT code, where an admin knows it

The reference lists (DOMAIN) give no SNOMED CT code for any entry, so nothing is
seeded: the FHIR export names an entry by its text until an admin adds its code.

Revision ID: b3f6a8d2c915
Revises: b3e8d1f0a6c2
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b3f6a8d2c915"
down_revision = "b3e8d1f0a6c2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("indications", "techniques"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("snomed_code", sa.String(length=18), nullable=True))


def downgrade() -> None:
    for table in ("indications", "techniques"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("snomed_code")
