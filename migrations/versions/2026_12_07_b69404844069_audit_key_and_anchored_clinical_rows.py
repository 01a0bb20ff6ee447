"""Audit entries MAC'd with a key kept outside the database; clinical rows sealed

Entries written from now on carry an HMAC-SHA256 keyed with TRACKER_AUDIT_KEY
(``key_id`` names the key); the entries already written keep their plain
SHA-256 (``key_id`` empty). When there are some, one keyed entry is appended
here, so that the trail ends with a MAC: it seals every plain entry before it,
and nothing unkeyed may follow it (``audit verify``). Running this migration
therefore needs the audit key, as the application does.

Clinical tables get ``audit_seal``: a MAC of the row's values bound to the MAC of
the audit entry of its last change. Existing rows stay unsealed ("not yet
anchored" in ``audit verify``) until their next change: sealing them here would
vouch for values nobody checked.

Revision ID: b69404844069
Revises: c3f1a8d5b902
Create Date: 2026-12-07
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = "b69404844069"
down_revision = "c3f1a8d5b902"
branch_labels = None
depends_on = None

ANCHORED_TABLES = (
    "patients",
    "referrals",
    "meetings",
    "decisions",
    "procedure_plans",
    "procedures",
    "adverse_events",
    "followups",
    "assessments",
)

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
    sa.column("key_id", sa.String),
)


def _canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _mac(key, previous_hash, content):
    # A copy of tracker.core.audit.entry_mac as it was when the key was introduced.
    payload = _canonical(
        [
            previous_hash,
            content["recorded_at"].astimezone(UTC).isoformat(timespec="microseconds"),
            content["actor_id"],
            content["actor_label"],
            content["action"],
            content["entity_type"],
            content["entity_id"],
            content["referral_id"],
            content["patient_id"],
            content["changes"],
        ]
    )
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def _key_id(key):
    return hmac.new(key, b"rcp-tracker audit key id", hashlib.sha256).hexdigest()[:16]


def _seal_the_plain_entries(bind):
    """Append one keyed entry after the plain ones, if any."""
    head = bind.execute(
        sa.select(audit.c.id, audit.c.entry_hash).order_by(audit.c.id.desc()).limit(1)
    ).first()
    if head is None:
        return
    key = str(current_app.config["AUDIT_KEY"]).encode()
    signer = _key_id(key)
    moment = datetime.now(UTC)
    content = {
        "recorded_at": moment,
        "actor_id": None,
        "actor_label": "migration: audit key introduced",
        "action": "UPDATE",
        "entity_type": "AuditEntry",
        "entity_id": str(head.id),
        "changes": {"key_id": [None, signer]},
        "referral_id": None,
        "patient_id": None,
    }
    mac = _mac(key, head.entry_hash, content)
    stored = moment if bind.dialect.name != "sqlite" else moment.replace(tzinfo=None)
    bind.execute(
        audit.insert().values(
            **{**content, "recorded_at": stored},
            previous_hash=head.entry_hash,
            entry_hash=mac,
            key_id=signer,
        )
    )


def upgrade() -> None:
    # Plain ADD COLUMN (no batch): SQLite keeps the append-only triggers.
    op.add_column("audit_entries", sa.Column("key_id", sa.String(length=16), nullable=True))
    for table in ANCHORED_TABLES:
        op.add_column(table, sa.Column("audit_seal", sa.String(length=64), nullable=True))
    _seal_the_plain_entries(op.get_bind())


SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER IF NOT EXISTS audit_entries_no_{verb.lower()} BEFORE {verb} ON audit_entries
    BEGIN
        SELECT RAISE(ABORT, 'audit entries are append-only: {verb} refused');
    END
    """
    for verb in ("UPDATE", "DELETE")
]


def downgrade() -> None:
    # Entries written with the key keep their MACs, which the older code reads
    # as altered entries: a downgrade gives up checking them.
    for table in ANCHORED_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("audit_seal")
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_column("key_id")
    if sqlite:
        # Rebuilt by the batch: its triggers went with the old table.
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
