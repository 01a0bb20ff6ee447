"""FHIR API clients: systems that read the API with a bearer token and scopes

Revision ID: c8e2d4a6f193
Revises: b3f6a8d2c915
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tracker.core.db import UTCDateTime

revision = "c8e2d4a6f193"
down_revision = "b3f6a8d2c915"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fhir_api_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_fhir_api_clients_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["users.id"], name=op.f("fk_fhir_api_clients_revoked_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fhir_api_clients")),
        sa.UniqueConstraint("name", name=op.f("uq_fhir_api_clients_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_fhir_api_clients_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("fhir_api_clients")
