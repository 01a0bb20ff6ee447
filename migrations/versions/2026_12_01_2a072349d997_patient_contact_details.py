"""Patient contact details and consent to be contacted

The nurse or pain physician who follows a treated patient up phones them: the
patient record now holds up to two phone numbers (E.164), an e-mail address,
the language and the way the patient prefers to be contacted, and when the
patient agreed to be contacted and who recorded it. Existing patients have
none of these until someone enters them.

Revision ID: 2a072349d997
Revises: 7d3e0a91c5b2
Create Date: 2026-12-01 16:29:56.100985

"""

import sqlalchemy as sa
from alembic import op

revision = "2a072349d997"
down_revision = "7d3e0a91c5b2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone_1", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("phone_2", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.add_column(
            sa.Column(
                "preferred_language",
                sa.Enum("FR", "EN", name="contactlanguage", native_enum=False, length=40),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "preferred_channel",
                sa.Enum(
                    "PHONE", "SMS", "EMAIL", name="contactchannel", native_enum=False, length=40
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("contact_consent_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("contact_consent_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_patients_contact_consent_by_id_users"),
            "users",
            ["contact_consent_by_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_patients_contact_consent_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("contact_consent_by_id")
        batch_op.drop_column("contact_consent_on")
        batch_op.drop_column("preferred_channel")
        batch_op.drop_column("preferred_language")
        batch_op.drop_column("email")
        batch_op.drop_column("phone_2")
        batch_op.drop_column("phone_1")
