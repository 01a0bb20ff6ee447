"""Proposals not carried out, and why

A validated proposal of a procedure is carried out (by its first procedure,
as planned or with a deviation), not carried out (recorded by the team with a
reason code, a note, the date and who said so), or pending; a proposal
still pending after a set number of days is told to the referrer once
(``pending_told_at``). Plans recorded
before are pending or carried out, as their procedures say.

Revision ID: 9e4a2c6b1d83
Revises: 5c1e9b7d2a40
Create Date: 2026-12-02 18:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "9e4a2c6b1d83"
down_revision = "5c1e9b7d2a40"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("procedure_plans", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "not_carried_out_reason",
                sa.Enum(
                    "PATIENT_CHOICE",
                    "CLINICAL_CHANGE",
                    "DID_NOT_ATTEND",
                    "CONTRAINDICATION",
                    "DIED",
                    "OTHER",
                    name="notcarriedout",
                    native_enum=False,
                    length=40,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("not_carried_out_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("not_carried_out_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("not_carried_out_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pending_told_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            "fk_procedure_plans_not_carried_out_by_id_users",
            "users",
            ["not_carried_out_by_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("procedure_plans", schema=None) as batch_op:
        batch_op.drop_constraint(
            "fk_procedure_plans_not_carried_out_by_id_users", type_="foreignkey"
        )
        batch_op.drop_column("pending_told_at")
        batch_op.drop_column("not_carried_out_by_id")
        batch_op.drop_column("not_carried_out_on")
        batch_op.drop_column("not_carried_out_note")
        batch_op.drop_column("not_carried_out_reason")
