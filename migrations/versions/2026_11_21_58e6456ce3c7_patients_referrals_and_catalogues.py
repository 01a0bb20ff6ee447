"""patients, referrals and catalogues

The indication and technique lists are seeded from the reference list of a pain
interventional radiology unit (see the product's domain reference); admins
edit them afterwards.

Revision ID: 58e6456ce3c7
Revises: 1cd0193b890b
Create Date: 2026-11-21 18:31:58.270720

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '58e6456ce3c7'
down_revision = '1cd0193b890b'
branch_labels = None
depends_on = None

INDICATIONS = [
    ("headache_facial", "Headache and facial pain (migraine, neuralgia, cluster headache)",
     "Céphalées et douleurs faciales (migraine, névralgie, algie vasculaire de la face)"),
    ("spinal_pain", "Spinal pain", "Rachialgies"),
    ("radicular_pain", "Radicular pain (cervicobrachial neuralgia, cruralgia, sciatica)",
     "Douleur radiculaire (névralgie cervicobrachiale, cruralgie, sciatique)"),
    ("pelvic_neuralgia", "Pelvic neuralgia (pudendal, ilio-inguinal, sacroiliac)",
     "Névralgie pelvienne (pudendale, ilio-inguinale, sacro-iliaque)"),
    ("osteoporotic_fracture", "Osteoporotic vertebral compression fracture",
     "Fracture vertébrale ostéoporotique"),
    ("bone_metastasis", "Osteolytic tumour lesion / bone metastasis",
     "Lésion tumorale ostéolytique / métastase osseuse"),
    ("isthmic_lysis", "Isthmic lysis", "Lyse isthmique"),
    ("spinal_osteoarthritis", "Refractory spinal osteoarthritis",
     "Arthrose rachidienne réfractaire"),
    ("limb_osteoarthritis", "Limb osteoarthritis", "Arthrose des membres"),
    ("capsulo_ligamentous", "Capsulo-ligamentous pain", "Douleur capsulo-ligamentaire"),
    ("morton_neuroma", "Morton's neuroma", "Névrome de Morton"),
    ("peripheral_nerve", "Peripheral nerve entrapment or neuroma (e.g. post-traumatic or post-surgical)",
     "Syndrome canalaire ou névrome d'un nerf périphérique (post-traumatique ou post-chirurgical)"),
    ("intercostal_pain", "Intercostal pain", "Douleur intercostale"),
    ("levator_ani", "Levator ani syndrome / chronic pelvic floor spasm",
     "Syndrome du releveur de l'anus / spasme chronique du plancher pelvien"),
]

TECHNIQUES = [
    ("cryoneurolysis", "Cryoneurolysis / cryoablation of a nerve or neuroma",
     "Cryoneurolyse / cryoablation d'un nerf ou d'un névrome", "NERVE", "NERVE_REGROWTH"),
    ("radiofrequency", "Radiofrequency ablation (thermal or pulsed)",
     "Radiofréquence (thermique ou pulsée)", "NERVE", "NERVE_REGROWTH"),
    ("chemical_neurolysis", "Chemical neurolysis (alcohol, phenol)",
     "Neurolyse chimique (alcool, phénol)", "NERVE", "NERVE_REGROWTH"),
    ("botulinum_toxin", "Botulinum toxin injection", "Injection de toxine botulique",
     "MUSCLE", "DRUG_WEARS_OFF"),
    ("infiltration", "Corticosteroid / anaesthetic infiltration",
     "Infiltration de corticoïdes / d'anesthésique local", "JOINT_NERVE_EPIDURAL",
     "DRUG_WEARS_OFF"),
    ("cementoplasty", "Cementoplasty / vertebroplasty / kyphoplasty / vertebral implant",
     "Cimentoplastie / vertébroplastie / cyphoplastie / implant vertébral", "BONE", "STRUCTURAL"),
    ("osteosynthesis", "Percutaneous osteosynthesis", "Ostéosynthèse percutanée", "BONE",
     "STRUCTURAL"),
    ("tumour_ablation", "Microwave / radiofrequency tumour ablation",
     "Ablation tumorale par micro-ondes / radiofréquence", "TUMOUR", "TUMOUR_PROGRESSION"),
    ("embolisation", "Embolisation (sclerosing agent or endovascular)",
     "Embolisation (agent sclérosant ou endovasculaire)", "VESSEL", "REVASCULARISATION"),
]


def upgrade():
    op.create_table('case_number_counters',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_case_number_counters'))
    )
    indications = op.create_table('indications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('is_retired', sa.Boolean(), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('name_fr', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indications')),
    sa.UniqueConstraint('code', name=op.f('uq_indications_code'))
    )
    op.create_table('patients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mrn', sa.String(length=20), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('birth_on', sa.Date(), nullable=False),
    sa.Column('sex', sa.Enum('FEMALE', 'MALE', 'UNDETERMINED', name='sex', native_enum=False, length=40), nullable=False),
    sa.Column('last_first_key', sa.String(length=200).with_variant(sa.String(length=200, collation='C'), 'postgresql'), nullable=False),
    sa.Column('first_last_key', sa.String(length=200).with_variant(sa.String(length=200, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patients')),
    sa.UniqueConstraint('mrn', name=op.f('uq_patients_mrn'))
    )
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patients_first_last_key'), ['first_last_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_patients_last_first_key'), ['last_first_key'], unique=False)

    techniques = op.create_table('techniques',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('is_retired', sa.Boolean(), nullable=False),
    sa.Column('acts_on', sa.Enum('NERVE', 'MUSCLE', 'JOINT_NERVE_EPIDURAL', 'BONE', 'TUMOUR', 'VESSEL', name='actson', native_enum=False, length=40), nullable=False),
    sa.Column('wears_off_by', sa.Enum('NERVE_REGROWTH', 'DRUG_WEARS_OFF', 'STRUCTURAL', 'TUMOUR_PROGRESSION', 'REVASCULARISATION', name='wearsoffby', native_enum=False, length=40), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('name_fr', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_techniques')),
    sa.UniqueConstraint('code', name=op.f('uq_techniques_code'))
    )
    op.create_table('referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_number', sa.String(length=20), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('DRAFT', 'REFERRED', 'SCHEDULED', 'DISCUSSED', 'PLANNED', 'TREATED', 'FOLLOW_UP', 'CLOSED', 'WITHDRAWN', name='casestatus', native_enum=False, length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('referrer_id', sa.Integer(), nullable=True),
    sa.Column('external_referrer', sa.String(length=200), nullable=True),
    sa.Column('referral_on', sa.Date(), nullable=True),
    sa.Column('urgency', sa.Enum('ROUTINE', 'URGENT', name='urgency', native_enum=False, length=40), nullable=False),
    sa.Column('indication_id', sa.Integer(), nullable=True),
    sa.Column('pain_site', sa.String(length=200), nullable=True),
    sa.Column('pain_side', sa.Enum('LEFT', 'RIGHT', 'BILATERAL', 'MIDLINE', 'NOT_APPLICABLE', name='painside', native_enum=False, length=40), nullable=True),
    sa.Column('mechanism', sa.Enum('NOCICEPTIVE', 'NEUROPATHIC', 'MIXED', name='mechanism', native_enum=False, length=40), nullable=True),
    sa.Column('pain_duration_months', sa.Integer(), nullable=True),
    sa.Column('nrs_now', sa.Integer(), nullable=True),
    sa.Column('nrs_average', sa.Integer(), nullable=True),
    sa.Column('nrs_worst', sa.Integer(), nullable=True),
    sa.Column('dn4', sa.Integer(), nullable=True),
    sa.Column('treatments_tried', sa.JSON(), nullable=False),
    sa.Column('treatments_other', sa.Text(), nullable=True),
    sa.Column('anticoagulation', sa.Enum('NONE', 'ANTIPLATELET', 'ANTICOAGULANT', 'BOTH', name='anticoagulation', native_enum=False, length=40), nullable=True),
    sa.Column('anticoagulation_details', sa.String(length=500), nullable=True),
    sa.Column('allergies', sa.String(length=500), nullable=True),
    sa.Column('imaging', sa.Text(), nullable=True),
    sa.Column('is_oncology', sa.Boolean(), nullable=False),
    sa.Column('primary_tumour', sa.String(length=200), nullable=True),
    sa.Column('has_bone_metastases', sa.Boolean(), nullable=False),
    sa.Column('question', sa.Text(), nullable=True),
    sa.Column('patient_agreed_on', sa.Date(), nullable=True),
    sa.Column('withdrawn_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_referrals_created_by_id_users')),
    sa.ForeignKeyConstraint(['indication_id'], ['indications.id'], name=op.f('fk_referrals_indication_id_indications')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_referrals_patient_id_patients')),
    sa.ForeignKeyConstraint(['referrer_id'], ['users.id'], name=op.f('fk_referrals_referrer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals')),
    sa.UniqueConstraint('case_number', name=op.f('uq_referrals_case_number'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_indication_id_referral_on'), ['indication_id', 'referral_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_referral_on'), ['referral_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_referrer_id_referral_on'), ['referrer_id', 'referral_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_status_referral_on'), ['status', 'referral_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_urgency_referral_on'), ['urgency', 'referral_on'], unique=False)

    op.create_table('case_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Enum('CREATED', 'STATUS_CHANGED', 'NOTE', name='caseeventkind', native_enum=False, length=40), nullable=False),
    sa.Column('from_status', sa.Enum('DRAFT', 'REFERRED', 'SCHEDULED', 'DISCUSSED', 'PLANNED', 'TREATED', 'FOLLOW_UP', 'CLOSED', 'WITHDRAWN', name='casestatus', native_enum=False, length=40), nullable=True),
    sa.Column('to_status', sa.Enum('DRAFT', 'REFERRED', 'SCHEDULED', 'DISCUSSED', 'PLANNED', 'TREATED', 'FOLLOW_UP', 'CLOSED', 'WITHDRAWN', name='casestatus', native_enum=False, length=40), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_case_events_actor_id_users')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_case_events_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events'))
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_events_referral_id'), ['referral_id'], unique=False)

    op.bulk_insert(
        indications,
        [
            {"code": code, "position": 10 * (i + 1), "is_retired": False, "name_en": en, "name_fr": fr}
            for i, (code, en, fr) in enumerate(INDICATIONS)
        ],
    )
    op.bulk_insert(
        techniques,
        [
            {
                "code": code,
                "position": 10 * (i + 1),
                "is_retired": False,
                "acts_on": acts_on,
                "wears_off_by": wears_off_by,
                "name_en": en,
                "name_fr": fr,
            }
            for i, (code, en, fr, acts_on, wears_off_by) in enumerate(TECHNIQUES)
        ],
    )



def downgrade():
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_events_referral_id'))

    op.drop_table('case_events')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_urgency_referral_on'))
        batch_op.drop_index(batch_op.f('ix_referrals_status_referral_on'))
        batch_op.drop_index(batch_op.f('ix_referrals_referrer_id_referral_on'))
        batch_op.drop_index(batch_op.f('ix_referrals_referral_on'))
        batch_op.drop_index(batch_op.f('ix_referrals_patient_id'))
        batch_op.drop_index(batch_op.f('ix_referrals_indication_id_referral_on'))

    op.drop_table('referrals')
    op.drop_table('techniques')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patients_last_first_key'))
        batch_op.drop_index(batch_op.f('ix_patients_first_last_key'))

    op.drop_table('patients')
    op.drop_table('indications')
    op.drop_table('case_number_counters')
