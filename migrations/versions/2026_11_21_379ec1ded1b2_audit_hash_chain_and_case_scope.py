"""Audit hash chain and case scope

Every audit entry is chained to the one before it by a SHA-256 hash, and
database triggers refuse updates and deletes of entries.  Entries also say
which case (referral) and patient they concern, for the case history tab.

Revision ID: 379ec1ded1b2
Revises: ba20fe6048f1
Create Date: 2026-11-21 19:43:40.180840

"""
import hashlib
import json
from datetime import UTC

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '379ec1ded1b2'
down_revision = 'ba20fe6048f1'
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64

#: Audited models whose rows carry the case they belong to.
CASE_TABLES = {
    "AgendaItem": "agenda_items",
    "Decision": "decisions",
    "ProcedurePlan": "procedure_plans",
    "Procedure": "procedures",
    "FollowUp": "followups",
    "Assessment": "assessments",
}

audit = sa.table(
    "audit_entries",
    sa.column("id", sa.Integer),
    sa.column("recorded_at", sa.DateTime(timezone=True)),
    sa.column("actor_id", sa.Integer),
    sa.column("actor_label", sa.String),
    sa.column("action", sa.String),
    sa.column("entity_type", sa.String),
    sa.column("entity_id", sa.String),
    sa.column("changes", sa.JSON),
    sa.column("referral_id", sa.Integer),
    sa.column("patient_id", sa.Integer),
    sa.column("previous_hash", sa.String),
    sa.column("entry_hash", sa.String),
)


def _digest(previous_hash, row):
    # A copy of tracker.core.audit.entry_digest as it was when the chain began.
    recorded_at = row.recorded_at
    if recorded_at.tzinfo is None:
        recorded_at = recorded_at.replace(tzinfo=UTC)
    payload = json.dumps(
        [
            previous_hash,
            recorded_at.astimezone(UTC).isoformat(timespec="microseconds"),
            row.actor_id,
            row.actor_label,
            row.action,
            row.entity_type,
            row.entity_id,
            row.referral_id,
            row.patient_id,
            row.changes,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _scope_existing_entries(bind):
    """Give existing entries the case and patient they concern."""
    entity_id = audit.c.entity_id
    referrals = sa.table("referrals", sa.column("id"), sa.column("patient_id"))
    bind.execute(
        audit.update()
        .where(audit.c.entity_type == "Referral")
        .values(
            referral_id=sa.cast(entity_id, sa.Integer),
            patient_id=sa.select(referrals.c.patient_id)
            .where(sa.cast(referrals.c.id, sa.String) == entity_id)
            .scalar_subquery(),
        )
    )
    bind.execute(
        audit.update()
        .where(audit.c.entity_type == "Patient")
        .values(patient_id=sa.cast(entity_id, sa.Integer))
    )
    for entity_type, name in CASE_TABLES.items():
        table = sa.table(name, sa.column("id"), sa.column("referral_id"))
        bind.execute(
            audit.update()
            .where(audit.c.entity_type == entity_type)
            .values(
                referral_id=sa.select(table.c.referral_id)
                .where(sa.cast(table.c.id, sa.String) == entity_id)
                .scalar_subquery()
            )
        )
    procedures = sa.table("procedures", sa.column("id"), sa.column("referral_id"))
    events = sa.table("adverse_events", sa.column("id"), sa.column("procedure_id"))
    bind.execute(
        audit.update()
        .where(audit.c.entity_type == "AdverseEvent")
        .values(
            referral_id=sa.select(procedures.c.referral_id)
            .select_from(events.join(procedures, procedures.c.id == events.c.procedure_id))
            .where(sa.cast(events.c.id, sa.String) == entity_id)
            .scalar_subquery()
        )
    )


def _chain_existing_entries(bind):
    previous = GENESIS_HASH
    links = []
    for row in bind.execute(sa.select(audit).order_by(audit.c.id)):
        digest = _digest(previous, row)
        links.append({"entry": row.id, "previous": previous, "digest": digest})
        previous = digest
    if links:
        bind.execute(
            audit.update()
            .where(audit.c.id == sa.bindparam("entry"))
            .values(previous_hash=sa.bindparam("previous"), entry_hash=sa.bindparam("digest")),
            links,
        )


SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER audit_entries_no_{verb.lower()} BEFORE {verb} ON audit_entries
    BEGIN
        SELECT RAISE(ABORT, 'audit entries are append-only: {verb} refused');
    END
    """
    for verb in ("UPDATE", "DELETE")
]

POSTGRESQL_TRIGGERS = [
    """
    CREATE FUNCTION audit_entries_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit entries are append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()
    """,
    """
    CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()
    """,
]


def upgrade():
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referral_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('patient_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('previous_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('entry_hash', sa.String(length=64), nullable=True))

    bind = op.get_bind()
    _scope_existing_entries(bind)
    _chain_existing_entries(bind)

    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.alter_column('previous_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('entry_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_referral_id'), ['referral_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_entries_previous_hash'), ['previous_hash'])

    # Last, once the table is in its final shape: a later batch migration that
    # rebuilds this table on SQLite must create these triggers again.
    for statement in SQLITE_TRIGGERS if bind.dialect.name == "sqlite" else POSTGRESQL_TRIGGERS:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_entries_no_update")
        op.execute("DROP TRIGGER audit_entries_no_delete")
    else:
        op.execute("DROP TRIGGER audit_entries_no_truncate ON audit_entries")
        op.execute("DROP TRIGGER audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION audit_entries_append_only()")

    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_entries_previous_hash'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_audit_entries_referral_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_patient_id'))
        batch_op.drop_column('entry_hash')
        batch_op.drop_column('previous_hash')
        batch_op.drop_column('patient_id')
        batch_op.drop_column('referral_id')
