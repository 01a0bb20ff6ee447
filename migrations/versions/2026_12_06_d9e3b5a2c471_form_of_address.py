"""A person's form of address, which French roles and functions agree with

Each account says whether its roles are written in the feminine ("Coordinatrice")
or the masculine ("Coordinateur"); existing accounts have not said, and keep the
labels they had.

Revision ID: d9e3b5a2c471
Revises: f2b8c4d1e6a9
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d9e3b5a2c471"
down_revision = "f2b8c4d1e6a9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "form_of_address",
                sa.Enum(
                    "UNSPECIFIED",
                    "FEMININE",
                    "MASCULINE",
                    name="formofaddress",
                    native_enum=False,
                    length=40,
                ),
                nullable=False,
                server_default="UNSPECIFIED",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("form_of_address")
