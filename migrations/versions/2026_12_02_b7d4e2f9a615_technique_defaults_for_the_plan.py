"""Technique defaults for the plan

How each technique is usually done (guidance, anaesthesia, setting, whether an
anaesthetist is needed, the usual prerequisites): a new plan starts from them
and everything stays editable. Empty: no default. Seeded for the unit's
reference techniques from the usual practice (DOMAIN "Technique catalogue");
admins edit them on the technique's page.

Revision ID: b7d4e2f9a615
Revises: 9e4a2c6b1d83
Create Date: 2026-12-02 19:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "b7d4e2f9a615"
down_revision = "9e4a2c6b1d83"
branch_labels = None
depends_on = None

ANTICOAGULATION = "anticoagulation_managed_on"
CONSENT = "consent_on"
BLOOD_TESTS = "blood_tests_on"
FASTING = "fasting_on"
SEDATED = [ANTICOAGULATION, CONSENT, BLOOD_TESTS, FASTING]

#: code: (guidance in the order of its choices, anaesthesia, setting, anaesthetist needed, prerequisites).
DEFAULTS = {
    "cryoneurolysis": (["ULTRASOUND"], "LOCAL", "AMBULATORY", False, [ANTICOAGULATION, CONSENT]),
    "radiofrequency": (["FLUOROSCOPY"], "LOCAL", "AMBULATORY", False, [ANTICOAGULATION, CONSENT]),
    "chemical_neurolysis": (["CT"], "LOCAL", "AMBULATORY", False, [ANTICOAGULATION, CONSENT]),
    "botulinum_toxin": (["CT"], "LOCAL", "AMBULATORY", False, [CONSENT]),
    "infiltration": (["FLUOROSCOPY"], "LOCAL", "AMBULATORY", False, [ANTICOAGULATION, CONSENT]),
    "cementoplasty": (["CT", "FLUOROSCOPY"], "SEDATION", "SHORT_STAY", True, SEDATED),
    "osteosynthesis": (["CT", "FLUOROSCOPY"], "GENERAL", "SHORT_STAY", True, SEDATED),
    "tumour_ablation": (["ULTRASOUND", "CT"], "GENERAL", "SHORT_STAY", True, SEDATED),
    "embolisation": (["ANGIOGRAPHY"], None, None, None, [ANTICOAGULATION, CONSENT, BLOOD_TESTS]),
}


def upgrade():
    with op.batch_alter_table("techniques", schema=None) as batch_op:
        batch_op.add_column(sa.Column("default_guidance", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("default_anaesthesia", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("default_care_setting", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("default_anaesthetist_needed", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("typical_prerequisites", sa.JSON(), nullable=True))

    techniques = sa.table(
        "techniques",
        sa.column("code", sa.String),
        sa.column("default_guidance", sa.JSON),
        sa.column("default_anaesthesia", sa.String),
        sa.column("default_care_setting", sa.String),
        sa.column("default_anaesthetist_needed", sa.Boolean),
        sa.column("typical_prerequisites", sa.JSON),
    )
    for code, (guidance, anaesthesia, setting, anaesthetist, prerequisites) in DEFAULTS.items():
        op.execute(
            techniques.update()
            .where(techniques.c.code == code)
            .values(
                default_guidance=guidance,
                default_anaesthesia=anaesthesia,
                default_care_setting=setting,
                default_anaesthetist_needed=anaesthetist,
                typical_prerequisites=prerequisites,
            )
        )


def downgrade():
    with op.batch_alter_table("techniques", schema=None) as batch_op:
        batch_op.drop_column("typical_prerequisites")
        batch_op.drop_column("default_anaesthetist_needed")
        batch_op.drop_column("default_care_setting")
        batch_op.drop_column("default_anaesthesia")
        batch_op.drop_column("default_guidance")
