"""The migrations build the schema the models describe, and can be undone."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from tracker.extensions import db


def test_models_and_migrations_agree(app):
    connection = db.session.connection()
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "render_as_batch": True}
    )
    assert compare_metadata(context, db.metadata) == []


def test_migrations_downgrade_to_nothing_and_upgrade_again(scratch_database_url, instance_path):
    from flask_migrate import downgrade, upgrade

    from tracker import create_app

    scratch = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": scratch_database_url})
    with scratch.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "user_roles", "user_sessions", "audit_entries"} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert set(inspect(db.engine).get_table_names()) == tables
        db.engine.dispose()


def test_referrers_already_told_are_read_from_the_outbox(scratch_database_url, instance_path):
    """The upgrade that records "referrer told" on the verdict fills it from the
    e-mails already written, on SQLite and PostgreSQL alike."""
    from datetime import UTC, datetime

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import insert

    from tests.conftest import TEST_CONFIG
    from tests.factories import make_referral
    from tracker import create_app
    from tracker.core.mail import OutboxMessage
    from tracker.followups.models import CaseVerdict
    from tracker.followups.rules import Kind

    told_at = datetime(2026, 11, 3, 5, 30, tzinfo=UTC)
    scratch = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": scratch_database_url})
    with scratch.app_context():
        upgrade()
        told, other_mail, untold = (make_referral() for _ in range(3))
        for referral in (told, other_mail, untold):
            db.session.add(CaseVerdict(referral_id=referral.id, kind=Kind.ELIGIBLE, reasons=[]))
        # Read now: the older schema below has no columns for newer attributes.
        told_id, other_id, untold_id = told.id, other_mail.id, untold.id
        db.session.commit()
        downgrade(revision="2f9c4e7a1b63")
        message = {
            "recipient_email": "r@hospital.test",
            "subject": "s",
            "body": "b",
            "created_at": told_at,
        }
        db.session.execute(
            insert(OutboxMessage.__table__),
            [
                {**message, "dedup_key": f"eligible:{told_id}"},
                {**message, "dedup_key": f"draft-reminder:{other_id}:0"},
                {**message, "dedup_key": f"eligible:{untold_id}0"},
            ],
        )
        db.session.commit()
        upgrade()
        kept = dict(
            db.session.execute(select(CaseVerdict.referral_id, CaseVerdict.referrer_told_at)).all()
        )
        assert kept == {told_id: told_at, other_id: None, untold_id: None}
        db.session.remove()
        db.engine.dispose()


def test_followups_planned_before_windows_get_them_and_an_owner(
    scratch_database_url, instance_path
):
    """The upgrade that brings windows gives the time points planned so far the
    convention's windows and an owner (the referrer where none), and leaves the
    recorded assessments as they were."""
    from datetime import timedelta

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import update

    from tests.conftest import TEST_CONFIG
    from tests.factories import assess, make_procedure
    from tracker import create_app
    from tracker.followups.models import Assessment, FollowUp, FollowUpKind

    scratch = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": scratch_database_url})
    with scratch.app_context():
        upgrade()
        procedure = make_procedure(distance_mm=None)
        assess(procedure, assessed_on=procedure.performed_on + timedelta(days=8), nrs_average=2)
        # Recorded values; their seals go with a downgrade below the audit key.
        recorded = [c for c in Assessment.__table__.columns if c.key != "audit_seal"]
        assessments = db.session.execute(select(*recorded)).all()
        referral_id, referrer_id = procedure.referral_id, procedure.referral.referrer_id
        db.session.commit()
        downgrade(revision="2a072349d997")
        db.session.execute(update(FollowUp.__table__).values(responsible_id=None))
        db.session.commit()
        upgrade()
        rows = db.session.execute(
            select(
                FollowUp.offset_days,
                FollowUp.due_on,
                FollowUp.window_start_on,
                FollowUp.window_end_on,
                FollowUp.responsible_id,
            ).where(FollowUp.referral_id == referral_id, FollowUp.kind == FollowUpKind.SCHEDULED)
        ).all()
        spans = {days: ((start - due).days, (end - due).days) for days, due, start, end, _ in rows}
        assert spans == {7: (-2, 4), 30: (-7, 14), 91: (-14, 30), 183: (-30, 30), 365: (-30, 60)}
        assert {row.responsible_id for row in rows} == {referrer_id}
        assert db.session.execute(select(*recorded)).all() == assessments
        db.session.remove()
        db.engine.dispose()


def test_entries_written_before_the_audit_key_are_sealed_by_the_upgrade(
    scratch_database_url, instance_path
):
    """The upgrade that brings the audit key keeps the plain entries as they are
    and appends one keyed entry after them: the trail verifies, and rewriting
    it all as plain entries no longer would."""
    from flask_migrate import upgrade
    from sqlalchemy import column, insert, table

    from tests.conftest import TEST_CONFIG
    from tests.factories import make_user
    from tracker import create_app
    from tracker.core.audit import GENESIS_HASH, AuditAction, AuditEntry, entry_digest, verify_chain
    from tracker.core.time import utcnow

    scratch = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": scratch_database_url})
    with scratch.app_context():
        upgrade(revision="e7c2a9f4b813")
        before_the_key = table(
            "audit_entries",
            *(
                column(c.key, c.type)
                for c in AuditEntry.__table__.columns
                if c.key not in {"id", "key_id"}
            ),
        )
        previous = GENESIS_HASH
        for number in range(2):
            content = {
                "recorded_at": utcnow(),
                "actor_id": None,
                "actor_label": f"before the key {number}",
                "action": AuditAction.UPDATE,
                "entity_type": "User",
                "entity_id": str(number),
                "changes": {"full_name": ["A", "B"]},
                "referral_id": None,
                "patient_id": None,
            }
            digest = entry_digest(previous, content)
            db.session.execute(
                insert(before_the_key).values(
                    **content,
                    previous_hash=previous,
                    entry_hash=digest,
                )
            )
            previous = digest
        db.session.commit()
        upgrade()
        report = verify_chain(db.session.connection())
        assert report.intact, report.problem
        assert (report.checked, report.unkeyed, report.keyed_since) == (3, 2, 3)
        marker = db.session.get(AuditEntry, 3)
        assert marker.entity_type == "AuditEntry"
        assert marker.previous_hash == previous
        make_user()
        db.session.commit()
        assert verify_chain(db.session.connection()).intact
        db.session.remove()
        db.engine.dispose()
