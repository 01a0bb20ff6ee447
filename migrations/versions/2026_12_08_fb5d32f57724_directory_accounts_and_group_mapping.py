"""Directory accounts (hospital LDAP / Active Directory) and the groups mapped to roles

Revision ID: fb5d32f57724
Revises: c8e2d4a6f193
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "fb5d32f57724"
down_revision = "c8e2d4a6f193"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "directory_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_dn", sa.String(length=500), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "ADMIN",
                "COORDINATOR",
                "RADIOLOGIST",
                "CLINICIAN",
                name="role",
                native_enum=False,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column(
            "specialty",
            sa.Enum(
                "INTERVENTIONAL_RADIOLOGY",
                "ANAESTHESIOLOGY",
                "PAIN_MEDICINE",
                "SURGERY",
                "ONCOLOGY",
                "NEUROLOGY",
                "PSYCHIATRY",
                "RADIOTHERAPY",
                "RHEUMATOLOGY",
                "GENERAL_PRACTICE",
                "NURSING",
                "OTHER",
                name="specialty",
                native_enum=False,
                length=40,
            ),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_groups")),
        sa.UniqueConstraint("group_dn", name=op.f("uq_directory_groups_group_dn")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "auth_source",
                sa.Enum("LOCAL", "DIRECTORY", name="authsource", native_enum=False, length=40),
                nullable=False,
                server_default="LOCAL",
            )
        )
        batch_op.add_column(sa.Column("directory_dn", sa.String(length=500), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_users_directory_dn"), ["directory_dn"])


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_directory_dn"), type_="unique")
        batch_op.drop_column("directory_dn")
        batch_op.drop_column("auth_source")
    op.drop_table("directory_groups")
