"""Patient-reported follow-up: invitations and link attempts

Patients who agreed to electronic contact are invited to answer their time
point's questionnaire through a link (only the hash of its token is kept);
requests on the patient pages are counted to slow down guessing.

Revision ID: 4425bacfd26c
Revises: b8e21f4c7a90
Create Date: 2026-12-01 16:55:11.852623

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "4425bacfd26c"
down_revision = "b8e21f4c7a90"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "link_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_attempts")),
    )
    with op.batch_alter_table("link_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_link_attempts_attempted_at"), ["attempted_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_link_attempts_key_attempted_at"), ["key", "attempted_at"], unique=False
        )

    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("followup_id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("PHONE", "SMS", "EMAIL", name="contactchannel", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "PLANNED",
                "SENT",
                "REMINDED",
                "OPENED",
                "ANSWERED",
                "EXPIRED",
                "REVOKED",
                "FAILED",
                name="invitationstatus",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("last_reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("wrong_birth_dates", sa.Integer(), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assessment_id", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_invitations_assessment_id_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["followup_id"], ["followups.id"], name=op.f("fk_invitations_followup_id_followups")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_invitations_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referrals.id"], name=op.f("fk_invitations_referral_id_referrals")
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["users.id"], name=op.f("fk_invitations_revoked_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint(
            "followup_id", "channel", name=op.f("uq_invitations_followup_id_channel")
        ),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitations_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_invitations_referral_id"), ["referral_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_invitations_status_expires_at"), ["status", "expires_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitations_status_expires_at"))
        batch_op.drop_index(batch_op.f("ix_invitations_referral_id"))
        batch_op.drop_index(batch_op.f("ix_invitations_patient_id"))

    op.drop_table("invitations")
    with op.batch_alter_table("link_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_attempts_key_attempted_at"))
        batch_op.drop_index(batch_op.f("ix_link_attempts_attempted_at"))

    op.drop_table("link_attempts")
