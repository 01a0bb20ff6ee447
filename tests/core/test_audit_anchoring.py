"""The anchored trail: entries MAC'd with a key kept outside the database,
checkpoints of its head kept outside it too, and clinical rows sealed with the
MAC of their last change.

What someone who can write to the database, but holds neither the key nor the
checkpoint folder, tries to hide: a forged suffix re-hashed without the key, the
newest entries deleted, a clinical row edited in SQL.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, insert, select, text, update

from tests.factories import assess, make_procedure, make_referral, make_user
from tracker.cases.models import Patient
from tracker.core.audit import (
    GENESIS_HASH,
    AuditAction,
    AuditEntry,
    anchored_models,
    audit_key,
    entry_digest,
    entry_mac,
    key_id,
    verify_anchors,
    verify_chain,
)
from tracker.core.checkpoints import verify_checkpoints, write_checkpoint
from tracker.core.time import utcnow
from tracker.extensions import db


def drop_append_only_triggers() -> None:
    """What someone with direct database access could do (again and again);
    undone by the test's rollback."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_update"))
        db.session.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_delete"))
    else:
        db.session.execute(
            text("DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries")
        )


def chain():
    return verify_chain(db.session.connection())


def entries() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def content(entry: AuditEntry) -> dict:
    return {**entry.content(), "action": entry.action}


def some_history() -> None:
    for number in range(3):
        make_user(full_name=f"Dr Number {number}")
    make_referral()
    db.session.flush()


def rewrite_from(first: AuditEntry, sign) -> None:
    """Re-chain every entry from ``first`` on with ``sign(previous, content)``
    -> (hash, key_id), as someone without the key would have to."""
    drop_append_only_triggers()
    rows = [entry for entry in entries() if entry.id >= first.id]
    previous = first.previous_hash
    for entry in rows:
        digest, signer = sign(previous, content(entry))
        db.session.execute(
            update(AuditEntry)
            .where(AuditEntry.id == entry.id)
            .values(previous_hash=previous, entry_hash=digest, key_id=signer)
        )
        previous = digest
    db.session.expire_all()


# --- (b) a forged suffix ------------------------------------------------------


WRONG_KEY = b"a key that is not TRACKER_AUDIT_KEY"


@pytest.mark.parametrize(
    "sign",
    [
        # What today's verifier accepted: plain SHA-256, as the migration's copy.
        lambda previous, content: (entry_digest(previous, content), None),
        # Plain SHA-256 passed off as a MAC of the right key.
        lambda previous, content: (entry_digest(previous, content), key_id(audit_key())),
        # A MAC with a key of the forger's own, under its own name or the real one's.
        lambda previous, content: (entry_mac(WRONG_KEY, previous, content), key_id(WRONG_KEY)),
        lambda previous, content: (
            entry_mac(WRONG_KEY, previous, content),
            key_id(audit_key()),
        ),
    ],
    ids=["plain-sha", "plain-sha-with-key-id", "wrong-key", "wrong-key-with-key-id"],
)
def test_a_forged_suffix_rehashed_without_the_key_is_found(app, sign):
    some_history()
    forged = entries()[2]
    assert chain().intact
    drop_append_only_triggers()
    db.session.execute(
        update(AuditEntry).where(AuditEntry.id == forged.id).values(actor_label="Dr Scapegoat")
    )
    db.session.expire_all()
    rewrite_from(db.session.get(AuditEntry, forged.id), sign)
    report = chain()
    assert not report.intact
    assert report.broken_at == forged.id


def test_the_whole_trail_rewritten_as_plain_entries_is_found(app):
    """Without the key, the only way to re-hash is plain SHA-256 from the very
    first entry: a trail that ends without a MAC."""
    some_history()
    rewrite_from(entries()[0], lambda previous, content: (entry_digest(previous, content), None))
    report = chain()
    assert not report.intact
    assert "no entry carries a MAC" in report.problem


def test_entries_made_before_the_key_verify_as_before_then_the_key_takes_over(app):
    """Plain entries (written before the key) are accepted at the start of the
    trail only; the first keyed entry seals them."""
    assert not entries()
    previous = GENESIS_HASH
    for number in range(2):
        legacy = {
            "recorded_at": utcnow(),
            "actor_id": None,
            "actor_label": f"before the key {number}",
            "action": AuditAction.UPDATE,
            "entity_type": "User",
            "entity_id": str(number),
            "changes": {},
            "referral_id": None,
            "patient_id": None,
        }
        digest = entry_digest(previous, legacy)
        db.session.execute(
            insert(AuditEntry).values(
                **legacy, previous_hash=previous, entry_hash=digest, key_id=None
            )
        )
        previous = digest
    some_history()
    report = chain()
    assert report.intact, report.problem
    assert report.unkeyed == 2
    assert report.keyed_since == entries()[2].id
    # An old entry altered: the keyed entries after it no longer follow it.
    drop_append_only_triggers()
    first = entries()[0]
    db.session.execute(
        update(AuditEntry).where(AuditEntry.id == first.id).values(actor_label="someone")
    )
    assert chain().broken_at == first.id


# --- (a) the newest entries deleted ------------------------------------------


def test_deleting_the_newest_entries_is_caught_by_the_checkpoints(app, runner, tmp_path, clock):
    some_history()
    write_checkpoint(db.session.connection(), tmp_path, clock())
    checkpointed = chain().head_id
    clock.advance(days=1)
    make_user(full_name="Dr Next Day")
    db.session.flush()
    write_checkpoint(db.session.connection(), tmp_path, clock())
    assert len(list(tmp_path.iterdir())) == 2
    result = runner.invoke(args=["audit", "verify", "--checkpoints", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Checkpoints: 2" in result.output

    drop_append_only_triggers()
    db.session.execute(delete(AuditEntry).where(AuditEntry.id >= checkpointed))
    # What is left is a perfectly good chain...
    assert chain().intact
    # ... but not the one the checkpoints saw.
    result = runner.invoke(args=["audit", "verify", "--checkpoints", str(tmp_path)])
    assert result.exit_code == 1
    assert f"entry {checkpointed}, the head of the trail on" in result.output
    assert "is gone" in result.output


def test_an_older_copy_of_the_trail_put_back_is_caught_by_the_checkpoints(app, tmp_path, clock):
    some_history()
    write_checkpoint(db.session.connection(), tmp_path, clock())
    head = chain().head_id
    # Re-chained with a key the forger made up: the checkpoint's MAC is gone.
    rewrite_from(
        entries()[0],
        lambda previous, content: (entry_mac(WRONG_KEY, previous, content), key_id(WRONG_KEY)),
    )
    found = verify_checkpoints(db.session.connection(), tmp_path, chain().keyed_since)
    assert not found.intact
    assert f"entry {head} no longer has the MAC" in found.problems[0]


def test_checkpoints_are_appended_one_file_a_day(app, tmp_path, clock):
    some_history()
    write_checkpoint(db.session.connection(), tmp_path, clock())
    make_user()
    db.session.flush()
    write_checkpoint(db.session.connection(), tmp_path, clock())
    (day,) = tmp_path.iterdir()
    lines = [json.loads(line) for line in day.read_text().splitlines()]
    assert [line["entry_id"] for line in lines] == sorted({line["entry_id"] for line in lines})
    assert lines[-1]["mac"] == chain().head
    assert set(lines[-1]) == {"entry_id", "mac", "keyed_since", "written_at"}


def test_no_checkpoint_is_written_for_a_trail_that_does_not_verify(app, tmp_path, clock):
    from tracker.core.checkpoints import CheckpointRefused

    some_history()
    drop_append_only_triggers()
    db.session.execute(update(AuditEntry).values(actor_label="nobody"))
    with pytest.raises(CheckpointRefused):
        write_checkpoint(db.session.connection(), tmp_path, clock())
    assert not list(tmp_path.iterdir())


def test_the_checkpoint_job_writes_into_the_backup_folder(app, tmp_path, clock):
    from tracker.admin.tasks import audit_checkpoint

    some_history()
    app.config["BACKUP_DIR"] = str(tmp_path / "backups")
    try:
        assert audit_checkpoint(clock())["entry"] == chain().head_id
    finally:
        app.config["BACKUP_DIR"] = str(tmp_path)
    assert [path.name for path in (tmp_path / "backups").iterdir()] == [
        "audit-checkpoint-2026-11-20.jsonl"
    ]


def test_the_checkpoint_is_mailed_to_the_administrators_when_the_site_asks(app, tmp_path, clock):
    from tracker.admin.tasks import audit_checkpoint
    from tracker.core.mail import OutboxMessage
    from tracker.web.permissions import Role

    admin = make_user(roles={Role.ADMIN}, locale="fr")
    make_user(roles={Role.ADMIN}, is_active=False)
    some_history()
    saved = dict(app.config)
    app.config.update(BACKUP_DIR=str(tmp_path), AUDIT_CHECKPOINT_MAIL=False)
    try:
        audit_checkpoint(clock())
        assert not db.session.scalars(select(OutboxMessage)).all()
        app.config["AUDIT_CHECKPOINT_MAIL"] = True
        assert audit_checkpoint(clock())["mailed"] == 1
        # Again with nothing new: the same checkpoint is not sent twice.
        assert audit_checkpoint(clock())["mailed"] == 0
    finally:
        app.config.clear()
        app.config.update(saved)
    (message,) = db.session.scalars(select(OutboxMessage)).all()
    assert message.recipient_id == admin.id
    head = chain()
    assert f"(entrée {head.head_id})" in message.subject
    assert head.head in message.body
    # The line to put back in a checkpoint folder, as the job wrote it.
    line = next(line for line in message.body.splitlines() if line.startswith("{"))
    assert json.loads(line)["mac"] == head.head


def test_verify_with_an_empty_checkpoint_folder_fails(app, runner, tmp_path):
    some_history()
    result = runner.invoke(args=["audit", "verify", "--checkpoints", str(tmp_path)])
    assert result.exit_code == 1
    assert "no checkpoint" in result.output


# --- (c) a clinical row edited behind the application's back -------------------


def clinical_history():
    procedure = make_procedure()
    assess(procedure, assessed_on=procedure.performed_on + timedelta(days=8), nrs_average=2)
    db.session.flush()
    return procedure


def test_every_clinical_row_is_sealed_by_the_entry_of_its_last_change(app):
    procedure = clinical_history()
    patient = procedure.referral.patient
    patient.first_name = "Jeanne"
    db.session.flush()
    report = verify_anchors(db.session.connection())
    assert report.intact, report.problems
    assert report.not_anchored == 0
    sealed = {model.__name__ for model in anchored_models()}
    assert {
        "Patient",
        "Referral",
        "Meeting",
        "Decision",
        "ProcedurePlan",
        "Procedure",
        "AdverseEvent",
        "FollowUp",
        "Assessment",
    } == sealed
    for model in anchored_models():
        count = db.session.scalar(select(func.count()).select_from(model))
        unsealed = db.session.scalar(
            select(func.count()).select_from(model).where(model.audit_seal.is_(None))
        )
        assert unsealed == 0, f"{model.__name__}: {unsealed} of {count} rows unsealed"


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("patients", "first_name", "'Forged'"),
        ("referrals", "pain_duration_months", "99"),
        ("assessments", "nrs_average", "9"),
        ("procedures", "performed_on", "'2026-01-01'"),
    ],
)
def test_a_direct_sql_update_of_a_clinical_row_is_found(app, runner, table, column, value):
    procedure = clinical_history()
    ids = {
        "patients": procedure.referral.patient_id,
        "referrals": procedure.referral_id,
        "procedures": procedure.id,
        "assessments": db.session.scalar(text("SELECT max(id) FROM assessments")),
    }
    assert verify_anchors(db.session.connection()).intact
    db.session.execute(text(f"UPDATE {table} SET {column} = {value} WHERE id = {ids[table]}"))  # noqa: S608
    report = verify_anchors(db.session.connection())
    assert not report.intact
    (problem,) = report.problems
    assert problem.entity_id == str(ids[table])
    assert "changed behind the application's back" in problem.problem
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"{problem.entity_type} {ids[table]}: its values are not those" in result.output


def test_a_removed_seal_or_a_row_inserted_in_sql_is_found(app):
    procedure = clinical_history()
    db.session.execute(
        text(f"UPDATE referrals SET audit_seal = NULL WHERE id = {procedure.referral_id}")  # noqa: S608
    )
    report = verify_anchors(db.session.connection())
    assert [p.problem for p in report.problems] == [
        "it has no seal though it was changed with the audit key: seal removed"
    ]
    db.session.execute(
        text(f"UPDATE referrals SET audit_seal = 'x' WHERE id = {procedure.referral_id}")  # noqa: S608
    )
    # A patient slipped in with SQL: no audit entry speaks of it.
    patients = Patient.__table__
    row = dict(db.session.execute(select(patients).limit(1)).mappings().one())
    row.pop("id")
    new_id = db.session.execute(
        insert(patients).values(**{**row, "mrn": "FORGED01", "audit_seal": None})
    ).inserted_primary_key[0]
    report = verify_anchors(db.session.connection())
    assert {(p.entity_type, p.entity_id, p.problem.split(":")[0]) for p in report.problems} == {
        (
            "Referral",
            str(procedure.referral_id),
            "its values are not those its last audit entry recorded",
        ),
        ("Patient", str(new_id), "no audit entry records it"),
    }


def test_a_row_put_back_to_an_older_state_with_its_older_seal_is_found(app):
    referral = make_referral()
    db.session.flush()
    before = db.session.execute(
        text(f"SELECT pain_duration_months, audit_seal FROM referrals WHERE id = {referral.id}")  # noqa: S608
    ).one()
    referral.pain_duration_months = (before[0] or 0) + 5
    db.session.flush()
    assert verify_anchors(db.session.connection()).intact
    db.session.execute(
        text("UPDATE referrals SET pain_duration_months = :old, audit_seal = :seal WHERE id = :id"),
        {"old": before[0], "seal": before[1], "id": referral.id},
    )
    assert not verify_anchors(db.session.connection()).intact


def test_the_verify_command_reports_everything_intact(app, runner):
    clinical_history()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "Audit trail intact" in result.output
    assert "(all keyed)" in result.output
    assert "match the audit entry of their last change" in result.output
