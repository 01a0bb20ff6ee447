"""follow-ups, assessments, retreatment verdicts and technique settings

Revision ID: 3ed556244b3d
Revises: 10c553b726c0
Create Date: 2026-11-21 19:12:53.523178

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3ed556244b3d'
down_revision = '10c553b726c0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('case_verdicts',
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('RESPONDING', 'NO_RESPONSE', 'ELIGIBLE', 'NOT_YET', 'NOT_ELIGIBLE', name='kind', native_enum=False, length=40), nullable=False),
    sa.Column('eligible_from', sa.Date(), nullable=True),
    sa.Column('recurrence', sa.Boolean(), nullable=False),
    sa.Column('partial', sa.Boolean(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_case_verdicts_referral_id_referrals')),
    sa.PrimaryKeyConstraint('referral_id', name=op.f('pk_case_verdicts'))
    )
    with op.batch_alter_table('case_verdicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_verdicts_kind_eligible_from'), ['kind', 'eligible_from'], unique=False)

    op.create_table('followups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('SCHEDULED', 'REGROWTH', name='followupkind', native_enum=False, length=40), nullable=False),
    sa.Column('offset_days', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('window_start_on', sa.Date(), nullable=True),
    sa.Column('window_end_on', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('PLANNED', 'DONE', 'MISSED', name='followupstatus', native_enum=False, length=40), nullable=False),
    sa.Column('responsible_id', sa.Integer(), nullable=True),
    sa.Column('missed_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedures.id'], name=op.f('fk_followups_procedure_id_procedures')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_followups_referral_id_referrals')),
    sa.ForeignKeyConstraint(['responsible_id'], ['users.id'], name=op.f('fk_followups_responsible_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followups'))
    )
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followups_procedure_id'), ['procedure_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followups_referral_id'), ['referral_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followups_responsible_id_status_due_on'), ['responsible_id', 'status', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_followups_status_due_on'), ['status', 'due_on'], unique=False)

    op.create_table('assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('followup_id', sa.Integer(), nullable=True),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('mode', sa.Enum('VISIT', 'PHONE', 'MESSAGE', name='assessmentmode', native_enum=False, length=40), nullable=False),
    sa.Column('nrs_now', sa.Integer(), nullable=True),
    sa.Column('nrs_average', sa.Integer(), nullable=False),
    sa.Column('nrs_worst', sa.Integer(), nullable=True),
    sa.Column('relief_pct', sa.Integer(), nullable=True),
    sa.Column('pgic', sa.Integer(), nullable=True),
    sa.Column('dn4', sa.Integer(), nullable=True),
    sa.Column('side_effects', sa.JSON(), nullable=False),
    sa.Column('side_effects_other', sa.String(length=300), nullable=True),
    sa.Column('analgesic_use', sa.Enum('MORE', 'SAME', 'LESS', 'STOPPED', name='analgesicuse', native_enum=False, length=40), nullable=True),
    sa.Column('pain_is_back', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['followup_id'], ['followups.id'], name=op.f('fk_assessments_followup_id_followups')),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedures.id'], name=op.f('fk_assessments_procedure_id_procedures')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_assessments_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_assessments_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments')),
    sa.UniqueConstraint('followup_id', name=op.f('uq_assessments_followup_id'))
    )
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessments_procedure_id'), ['procedure_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessments_referral_id_assessed_on'), ['referral_id', 'assessed_on'], unique=False)

    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previous_referral_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('recurrence_reason', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_referrals_previous_referral_id'), ['previous_referral_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_referrals_previous_referral_id_referrals'), 'referrals', ['previous_referral_id'], ['id'])

    # The techniques exist already: the new settings get the published defaults
    # first, then become required.
    settings = {
        'followup_days': sa.JSON(),
        'responder_pct': sa.Integer(),
        'partial_pct': sa.Integer(),
        'recurrence_pct': sa.Integer(),
        'min_retreat_days': sa.Integer(),
        'max_failed_sessions': sa.Integer(),
        'blocking_cirse_grade': sa.Integer(),
    }
    with op.batch_alter_table('techniques', schema=None) as batch_op:
        for name, type_ in settings.items():
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    techniques = sa.table(
        'techniques', sa.column('code', sa.String()),
        *(sa.column(name, type_) for name, type_ in settings.items()),
    )
    op.execute(
        techniques.update().values(
            followup_days=[7, 30, 91, 183, 365],
            responder_pct=50,
            partial_pct=30,
            recurrence_pct=30,
            min_retreat_days=42,
            max_failed_sessions=2,
            blocking_cirse_grade=3,
        )
    )
    # Botulinum toxin is not repeated within about 12 weeks (antibody risk).
    op.execute(
        techniques.update().where(techniques.c.code == 'botulinum_toxin').values(min_retreat_days=84)
    )
    with op.batch_alter_table('techniques', schema=None) as batch_op:
        for name, type_ in settings.items():
            batch_op.alter_column(name, existing_type=type_, nullable=False)



def downgrade():
    with op.batch_alter_table('techniques', schema=None) as batch_op:
        batch_op.drop_column('blocking_cirse_grade')
        batch_op.drop_column('max_failed_sessions')
        batch_op.drop_column('min_retreat_days')
        batch_op.drop_column('recurrence_pct')
        batch_op.drop_column('partial_pct')
        batch_op.drop_column('responder_pct')
        batch_op.drop_column('followup_days')

    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_referrals_previous_referral_id_referrals'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_referrals_previous_referral_id'))
        batch_op.drop_column('recurrence_reason')
        batch_op.drop_column('previous_referral_id')

    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessments_referral_id_assessed_on'))
        batch_op.drop_index(batch_op.f('ix_assessments_procedure_id'))

    op.drop_table('assessments')
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followups_status_due_on'))
        batch_op.drop_index(batch_op.f('ix_followups_responsible_id_status_due_on'))
        batch_op.drop_index(batch_op.f('ix_followups_referral_id'))
        batch_op.drop_index(batch_op.f('ix_followups_procedure_id'))

    op.drop_table('followups')
    with op.batch_alter_table('case_verdicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_verdicts_kind_eligible_from'))

    op.drop_table('case_verdicts')
