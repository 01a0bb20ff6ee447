"""The audit trail is append-only, hash-chained, and says which case it concerns."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from tests.factories import make_procedure, make_referral, make_user
from tracker.core.audit import GENESIS_HASH, AuditAction, AuditEntry, verify_chain
from tracker.decisions import services as decision_services
from tracker.extensions import db


def chain():
    return verify_chain(db.session.connection())


def last_entry() -> AuditEntry:
    return db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()


def drop_append_only_triggers() -> None:
    """What someone with direct database access could do; undone by the test's
    rollback."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("DROP TRIGGER audit_entries_no_update"))
        db.session.execute(text("DROP TRIGGER audit_entries_no_delete"))
    else:
        db.session.execute(text("DROP TRIGGER audit_entries_append_only ON audit_entries"))


def test_each_entry_follows_the_one_before(app):
    before = chain()
    make_user()
    make_referral()
    db.session.flush()
    after = chain()
    assert before.intact
    assert after.intact
    assert after.checked > before.checked
    entries = list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert entries[0].previous_hash == GENESIS_HASH
    for earlier, later in itertools.pairwise(entries):
        assert later.previous_hash == earlier.entry_hash
    assert after.head == entries[-1].entry_hash


@pytest.mark.parametrize(
    "statement",
    [
        update(AuditEntry).values(actor_label="someone else"),
        delete(AuditEntry),
    ],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_or_remove_entries(app, statement):
    make_user()
    count = len(db.session.scalars(select(AuditEntry.id)).all())
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(statement)
    assert len(db.session.scalars(select(AuditEntry.id)).all()) == count


def test_an_altered_entry_breaks_the_chain_where_it_was_altered(app):
    user = make_user(full_name="Dr Original")
    user.full_name = "Dr Changed"
    make_user()
    db.session.flush()
    target = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "User",
            AuditEntry.entity_id == str(user.id),
            AuditEntry.action == AuditAction.UPDATE,
        )
    ).one()
    drop_append_only_triggers()
    db.session.execute(
        update(AuditEntry)
        .where(AuditEntry.id == target.id)
        .values(changes={"full_name": ["Dr Original", "Dr Innocent"]})
    )
    report = chain()
    assert not report.intact
    assert report.broken_at == target.id
    assert "altered" in report.problem


def test_a_removed_entry_breaks_the_chain_after_it(app):
    make_user()
    make_user()
    db.session.flush()
    removed = last_entry()
    make_user()
    db.session.flush()
    following = last_entry()
    drop_append_only_triggers()
    db.session.execute(delete(AuditEntry).where(AuditEntry.id == removed.id))
    report = chain()
    assert report.broken_at > removed.id
    assert report.broken_at <= following.id
    assert "removed" in report.problem


def test_two_entries_cannot_follow_the_same_one(app):
    make_user()
    db.session.flush()
    head = last_entry()
    copy = {
        column.key: getattr(head, column.key)
        for column in AuditEntry.__table__.columns
        if column.key != "id"
    }
    db.session.add(AuditEntry(**copy))
    with pytest.raises(DBAPIError), db.session.begin_nested():
        db.session.flush()


def test_verify_command_reports_an_intact_chain_and_a_broken_one(app, runner):
    make_user()
    db.session.flush()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output
    target = last_entry()
    drop_append_only_triggers()
    db.session.execute(
        update(AuditEntry).where(AuditEntry.id == target.id).values(actor_label="nobody")
    )
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"broken at entry {target.id}" in result.output


def test_entries_about_a_case_name_the_case_and_its_patient(app):
    referral = make_referral()
    db.session.flush()
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type.in_(["Patient", "Referral"]))
    ).all()
    patient_entry = next(e for e in entries if e.entity_type == "Patient")
    referral_entry = next(e for e in entries if e.entity_type == "Referral")
    assert patient_entry.patient_id == referral.patient_id
    assert referral_entry.referral_id == referral.id
    assert referral_entry.patient_id == referral.patient_id


def test_rows_reached_through_another_row_still_name_their_case(app):
    procedure = make_procedure()
    decision_services.add_adverse_event(
        procedure, cirse_grade=1, description="Bruise", by=procedure.operators[0]
    )
    db.session.flush()
    entry = last_entry()
    assert entry.entity_type == "AdverseEvent"
    assert entry.referral_id == procedure.referral_id
    procedure_entry = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "Procedure", AuditEntry.entity_id == str(procedure.id)
        )
    ).first()
    assert procedure_entry.referral_id == procedure.referral_id
