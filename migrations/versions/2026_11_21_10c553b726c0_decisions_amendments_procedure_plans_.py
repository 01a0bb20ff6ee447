"""decisions, amendments, procedure plans, procedures and adverse events

Revision ID: 10c553b726c0
Revises: 9885d599ffda
Create Date: 2026-11-21 18:51:46.186287

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '10c553b726c0'
down_revision = '9885d599ffda'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('agenda_item_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('DRAFT', 'VALIDATED', name='decisionstatus', native_enum=False, length=40), nullable=False),
    sa.Column('outcome', sa.Enum('PROCEDURE_PROPOSED', 'MEDICAL_TREATMENT', 'FURTHER_INVESTIGATION', 'REFERRAL_ELSEWHERE', 'NOT_INDICATED', 'POSTPONED', name='outcome', native_enum=False, length=40), nullable=True),
    sa.Column('reasons', sa.Text(), nullable=True),
    sa.Column('follows_guidelines', sa.Boolean(), nullable=True),
    sa.Column('guideline_reference', sa.String(length=500), nullable=True),
    sa.Column('clinical_trial_proposed', sa.Boolean(), nullable=False),
    sa.Column('clinical_trial', sa.String(length=300), nullable=True),
    sa.Column('participants', sa.JSON(), nullable=False),
    sa.Column('quorum_met', sa.Boolean(), nullable=True),
    sa.Column('validated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('validated_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('informed_on', sa.Date(), nullable=True),
    sa.Column('informed_by_id', sa.Integer(), nullable=True),
    sa.Column('patient_answer', sa.Enum('ACCEPTS', 'REFUSES', 'WANTS_TIME', name='patientanswer', native_enum=False, length=40), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agenda_item_id'], ['agenda_items.id'], name=op.f('fk_decisions_agenda_item_id_agenda_items')),
    sa.ForeignKeyConstraint(['informed_by_id'], ['users.id'], name=op.f('fk_decisions_informed_by_id_users')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_decisions_meeting_id_meetings')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_decisions_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_decisions_referral_id_referrals')),
    sa.ForeignKeyConstraint(['validated_by_id'], ['users.id'], name=op.f('fk_decisions_validated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decisions')),
    sa.UniqueConstraint('agenda_item_id', name=op.f('uq_decisions_agenda_item_id'))
    )
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decisions_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_decisions_referral_id'), ['referral_id'], unique=False)

    op.create_table('decision_amendments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('amended_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('amended_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['amended_by_id'], ['users.id'], name=op.f('fk_decision_amendments_amended_by_id_users')),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], name=op.f('fk_decision_amendments_decision_id_decisions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_amendments'))
    )
    with op.batch_alter_table('decision_amendments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_amendments_decision_id'), ['decision_id'], unique=False)

    op.create_table('procedure_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('technique_id', sa.Integer(), nullable=True),
    sa.Column('target', sa.String(length=200), nullable=True),
    sa.Column('side', sa.Enum('LEFT', 'RIGHT', 'BILATERAL', 'MIDLINE', 'NOT_APPLICABLE', name='painside', native_enum=False, length=40), nullable=True),
    sa.Column('guidance', sa.JSON(), nullable=False),
    sa.Column('anaesthesia', sa.Enum('LOCAL', 'SEDATION', 'GENERAL', name='anaesthesia', native_enum=False, length=40), nullable=True),
    sa.Column('care_setting', sa.Enum('AMBULATORY', 'SHORT_STAY', name='caresetting', native_enum=False, length=40), nullable=True),
    sa.Column('anaesthetist_needed', sa.Boolean(), nullable=False),
    sa.Column('priority', sa.Enum('ROUTINE', 'PRIORITY', 'URGENT', name='planpriority', native_enum=False, length=40), nullable=False),
    sa.Column('target_on', sa.Date(), nullable=True),
    sa.Column('distance_mm', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('anticoagulation_managed_on', sa.Date(), nullable=True),
    sa.Column('consent_on', sa.Date(), nullable=True),
    sa.Column('blood_tests_on', sa.Date(), nullable=True),
    sa.Column('fasting_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], name=op.f('fk_procedure_plans_decision_id_decisions')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_procedure_plans_referral_id_referrals')),
    sa.ForeignKeyConstraint(['technique_id'], ['techniques.id'], name=op.f('fk_procedure_plans_technique_id_techniques')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procedure_plans')),
    sa.UniqueConstraint('decision_id', name=op.f('uq_procedure_plans_decision_id'))
    )
    with op.batch_alter_table('procedure_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procedure_plans_referral_id'), ['referral_id'], unique=False)

    op.create_table('procedures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('performed_on', sa.Date(), nullable=False),
    sa.Column('technique_id', sa.Integer(), nullable=False),
    sa.Column('deviation_reason', sa.Text(), nullable=True),
    sa.Column('target', sa.String(length=200), nullable=True),
    sa.Column('distance_mm', sa.Integer(), nullable=True),
    sa.Column('cryo_cycles', sa.Integer(), nullable=True),
    sa.Column('cryo_freeze_minutes', sa.Double(), nullable=True),
    sa.Column('cryo_probe_temperature_c', sa.Integer(), nullable=True),
    sa.Column('rf_temperature_c', sa.Integer(), nullable=True),
    sa.Column('rf_duration_seconds', sa.Integer(), nullable=True),
    sa.Column('toxin_units', sa.Integer(), nullable=True),
    sa.Column('cement_volume_ml', sa.Double(), nullable=True),
    sa.Column('cement_levels', sa.String(length=100), nullable=True),
    sa.Column('immediate_result', sa.Text(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['procedure_plans.id'], name=op.f('fk_procedures_plan_id_procedure_plans')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_procedures_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_procedures_referral_id_referrals')),
    sa.ForeignKeyConstraint(['technique_id'], ['techniques.id'], name=op.f('fk_procedures_technique_id_techniques')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procedures'))
    )
    with op.batch_alter_table('procedures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procedures_performed_on'), ['performed_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_procedures_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_procedures_referral_id'), ['referral_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_procedures_technique_id_performed_on'), ['technique_id', 'performed_on'], unique=False)

    op.create_table('adverse_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('cirse_grade', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedures.id'], name=op.f('fk_adverse_events_procedure_id_procedures')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adverse_events'))
    )
    with op.batch_alter_table('adverse_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_adverse_events_procedure_id'), ['procedure_id'], unique=False)

    op.create_table('procedure_operators',
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedures.id'], name=op.f('fk_procedure_operators_procedure_id_procedures'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_procedure_operators_user_id_users')),
    sa.PrimaryKeyConstraint('procedure_id', 'user_id', name=op.f('pk_procedure_operators'))
    )


def downgrade():
    op.drop_table('procedure_operators')
    with op.batch_alter_table('adverse_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_adverse_events_procedure_id'))

    op.drop_table('adverse_events')
    with op.batch_alter_table('procedures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procedures_technique_id_performed_on'))
        batch_op.drop_index(batch_op.f('ix_procedures_referral_id'))
        batch_op.drop_index(batch_op.f('ix_procedures_plan_id'))
        batch_op.drop_index(batch_op.f('ix_procedures_performed_on'))

    op.drop_table('procedures')
    with op.batch_alter_table('procedure_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procedure_plans_referral_id'))

    op.drop_table('procedure_plans')
    with op.batch_alter_table('decision_amendments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decision_amendments_decision_id'))

    op.drop_table('decision_amendments')
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decisions_referral_id'))
        batch_op.drop_index(batch_op.f('ix_decisions_meeting_id'))

    op.drop_table('decisions')
