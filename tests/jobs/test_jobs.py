"""Each background job, on a frozen clock: what it does, and that a rerun does nothing more."""

from __future__ import annotations

import re
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, text

from tests.factories import (
    assess,
    give_contact,
    make_meeting,
    make_patient,
    make_procedure,
    make_referral,
    make_user,
    radiologist,
)
from tracker.admin.tasks import make_backup, prune_backups
from tracker.cases.models import Referral
from tracker.core.mail import OutboxMessage
from tracker.core.scheduler import JobRun, RunOutcome, run_job
from tracker.extensions import db
from tracker.followups.models import CaseVerdict, FollowUp
from tracker.followups.rules import Kind
from tracker.meetings import services as meeting_services
from tracker.meetings.models import Meeting, MeetingStatus
from tracker.web.permissions import Role

PARIS = ZoneInfo("Europe/Paris")


def at(day: date, hour: int = 7, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def outbox() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def run(job_id: str, clock, moment: datetime) -> JobRun:
    clock.set(moment)
    record = run_job(job_id, moment)
    assert record.outcome is RunOutcome.OK, record.error
    return record


# --- follow-up digest ---------------------------------------------------------------


#: Month 3 of a procedure on 16 June is due on 15 September; its window is open
#: until 15 October.
IN_MONTH_3 = date(2026, 9, 20)


def test_the_daily_digest_goes_once_to_each_clinician_with_due_follow_ups(app, clock):
    clinician = make_user(roles={Role.CLINICIAN})
    procedure = make_procedure(followup_owner=clinician)
    first = run("followups", clock, at(IN_MONTH_3))
    assert first.counts["queued"] == 1
    [message] = outbox()
    assert message.recipient_id == clinician.id
    assert message.subject == "RCP Tracker: 1 follow-up to do"
    assert procedure.referral.case_number in message.body
    assert "(overdue)" in message.body
    assert "/followups?responsible_id=" in message.body

    again = run("followups", clock, at(IN_MONTH_3, 9))
    assert again.counts["queued"] == 0
    assert len(outbox()) == 1
    tomorrow = run("followups", clock, at(IN_MONTH_3 + timedelta(days=1)))
    assert tomorrow.counts["queued"] == 1


def test_the_digest_leaves_out_time_points_whose_window_closed(app, clock):
    make_procedure(followup_owner=make_user(roles={Role.CLINICIAN}))
    # 20 November: week 1, months 1 and 3 and the regrowth check are out of
    # their windows, month 6 is not due yet.
    assert run("followups", clock, at(date(2026, 11, 20))).counts["queued"] == 0


def test_a_clinician_who_turned_the_digest_off_gets_none(app, clock):
    clinician = make_user(roles={Role.CLINICIAN})
    make_procedure(followup_owner=clinician)
    clinician.email_followup_digest = False
    db.session.commit()
    assert run("followups", clock, at(IN_MONTH_3)).counts["queued"] == 0


def test_the_digest_is_written_in_the_clinicians_language(app, clock):
    clinician = make_user(roles={Role.CLINICIAN}, locale="fr")
    make_procedure(followup_owner=clinician)
    run("followups", clock, at(IN_MONTH_3))
    [message] = outbox()
    assert message.subject == "RCP Tracker\xa0: 1 suivi à faire"
    assert "en retard" in message.body


def test_the_windows_job_stamps_closed_windows_once_and_audits_it(app, clock):
    from tracker.core.audit import AuditEntry

    procedure = make_procedure()

    def followup_entries() -> int:
        return db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.entity_type == "FollowUp")
        )

    before = followup_entries()
    first = run("windows", clock, at(date(2026, 11, 20), 6, 15))
    # Week 1, month 1, month 3 and the regrowth check closed with nothing recorded.
    assert first.counts == {"closed": 4}
    statuses = sorted(
        f.status.name
        for f in db.session.scalars(select(FollowUp).where(FollowUp.procedure_id == procedure.id))
    )
    assert statuses == ["OUT_OF_WINDOW"] * 4 + ["PLANNED"] * 2
    assert followup_entries() == before + 4
    assert run("windows", clock, at(date(2026, 11, 21), 6, 15)).counts == {"closed": 0}


# --- retreatment ------------------------------------------------------------------


def test_a_newly_eligible_case_is_announced_once_to_its_referrer(app, clock):
    procedure = make_procedure()
    assess(procedure, assessed_on=date(2026, 6, 23), nrs_average=1)
    assess(procedure, assessed_on=date(2026, 11, 2), nrs_average=5)
    first = run("retreatment", clock, at(date(2026, 11, 20), 6, 30))
    assert first.counts == {"refreshed": 0, "eligible": 1, "queued": 1}
    [message] = outbox()
    assert message.recipient_id == procedure.referral.referrer_id
    assert procedure.referral.case_number in message.subject
    assert "Responded: 83% less pain" in message.body
    # The next day the case is not even looked at again: its referrer was told.
    again = run("retreatment", clock, at(date(2026, 11, 21), 6, 30))
    assert again.counts == {"refreshed": 0, "eligible": 0, "queued": 0}


def test_a_verdict_waiting_for_the_interval_becomes_eligible_with_time(app, clock):
    procedure = make_procedure(performed_on=date(2026, 10, 20))
    clock.set(at(date(2026, 11, 10), 12))
    assess(procedure, assessed_on=date(2026, 10, 27), nrs_average=1)
    assess(procedure, assessed_on=date(2026, 11, 10), nrs_average=6)
    row = db.session.get(CaseVerdict, procedure.referral_id)
    assert (row.kind, row.eligible_from) == (Kind.NOT_YET, date(2026, 12, 1))
    early = run("retreatment", clock, at(date(2026, 11, 30), 6, 30))
    assert early.counts["queued"] == 0
    on_time = run("retreatment", clock, at(date(2026, 12, 1), 6, 30))
    assert on_time.counts == {"refreshed": 1, "eligible": 1, "queued": 1}
    db.session.refresh(row)
    assert row.kind is Kind.ELIGIBLE


def eligible_case():
    """A treated case whose pain came back after the minimum interval."""
    procedure = make_procedure()
    assess(procedure, assessed_on=date(2026, 6, 23), nrs_average=1)
    assess(procedure, assessed_on=date(2026, 11, 2), nrs_average=5)
    return procedure.referral


def test_pruning_old_messages_does_not_tell_the_referrer_again(app, clock):
    referral = eligible_case()
    moment = at(date(2026, 11, 20), 6, 30)
    assert run("retreatment", clock, moment).counts["queued"] == 1
    verdict = db.session.get(CaseVerdict, referral.id)
    assert verdict.referrer_told_at == moment
    db.session.execute(delete(OutboxMessage))
    db.session.commit()
    again = run("retreatment", clock, at(date(2026, 11, 21), 6, 30))
    assert again.counts == {"refreshed": 0, "eligible": 0, "queued": 0}
    assert outbox() == []


def test_a_referrers_pending_proposals_come_in_one_message(app, clock, count_queries):
    """The first run after an upgrade may find many: one message per referrer
    listing them, in a number of queries that does not grow with them."""
    from tests.factories import make_decision, running_meeting

    def pending(cases: int) -> tuple[int, int]:
        clock.set(at(date(2026, 11, 24), 9))
        meeting = running_meeting(cases)
        clock.set(at(date(2026, 11, 24), 18))
        for item in meeting.agenda:
            make_decision(item)
        db.session.execute(delete(OutboxMessage))
        db.session.commit()
        with count_queries() as counter:
            result = run("pending_proposals", clock, at(date(2027, 1, 23), 6, 45))
        assert result.counts == {"pending": cases, "queued": 1}
        return counter.count, len(outbox())

    few, many = pending(2), pending(6)
    assert few == (many[0], 1)
    assert many[1] == 1
    [message] = outbox()
    assert message.subject == "RCP Tracker: 6 proposed procedures are still pending"
    assert message.body.count("\n- RCP-") == 6


def test_a_referrer_who_turned_these_e_mails_off_hears_once_they_are_on_again(app, clock):
    referral = eligible_case()
    referral.referrer.email_eligible_cases = False
    db.session.commit()
    quiet = run("retreatment", clock, at(date(2026, 11, 20), 6, 30))
    assert quiet.counts == {"refreshed": 0, "eligible": 1, "queued": 0}
    assert db.session.get(CaseVerdict, referral.id).referrer_told_at is None
    referral.referrer.email_eligible_cases = True
    db.session.commit()
    assert run("retreatment", clock, at(date(2026, 11, 21), 6, 30)).counts["queued"] == 1
    assert [message.recipient_id for message in outbox()] == [referral.referrer_id]


def test_a_message_already_written_counts_as_told(app, clock):
    """Two schedulers at once: the second finds the message written by the
    first, and records the referrer as told all the same."""
    from tracker.core.mail import queue_mail

    referral = eligible_case()
    queue_mail(key=f"eligible:{referral.id}", to=referral.referrer, subject="s", body="b")
    db.session.commit()
    moment = at(date(2026, 11, 20), 6, 30)
    assert run("retreatment", clock, moment).counts == {
        "refreshed": 0,
        "eligible": 1,
        "queued": 0,
    }
    assert db.session.get(CaseVerdict, referral.id).referrer_told_at == moment
    assert len(outbox()) == 1


# --- meetings ------------------------------------------------------------------


def test_presenters_chair_and_coordinator_are_reminded_once_before_the_meeting(app, clock):
    chair = radiologist()
    coordinator = make_user(roles={Role.COORDINATOR})
    meeting = make_meeting(chair_id=chair.id, coordinator_id=coordinator.id)
    presenter = radiologist()
    referral = make_referral(referrer_id=presenter.id)
    meeting_services.add_to_agenda(meeting, referral, by=None)
    db.session.commit()
    too_early = run("meetings", clock, at(date(2026, 11, 21), 17))  # 3 days before
    assert too_early.counts["reminders"] == 0
    due = run("meetings", clock, at(date(2026, 11, 22), 17, 15))
    assert due.counts["reminders"] == 3
    recipients = {message.recipient_id for message in outbox()}
    assert recipients == {chair.id, coordinator.id, presenter.id}
    body = next(m.body for m in outbox() if m.recipient_id == presenter.id)
    assert f"You present: {referral.case_number}" in body
    assert "17:00-18:30" in body
    assert run("meetings", clock, at(date(2026, 11, 22), 17, 30)).counts["reminders"] == 0


def test_a_moved_meeting_is_announced_again(app, clock):
    chair = radiologist()
    meeting = make_meeting(chair_id=chair.id)
    run("meetings", clock, at(date(2026, 11, 23), 9))
    meeting_services.update_meeting(
        meeting,
        meeting_services.MeetingDetails(
            starts_at=at(date(2026, 11, 24), 18),
            duration_minutes=60,
            capacity=12,
            place="Salle B",
            chair_id=chair.id,
        ),
        by=None,
    )
    db.session.commit()
    assert run("meetings", clock, at(date(2026, 11, 23), 10)).counts["reminders"] == 1


def test_cases_roll_over_after_a_meeting_nobody_closed(app, clock):
    meeting = make_meeting()
    following = make_meeting(starts_at=at(date(2026, 12, 1), 17))
    referral = make_referral()
    meeting_services.add_to_agenda(meeting, referral, by=None)
    db.session.commit()
    soon_after = run("meetings", clock, at(date(2026, 11, 24), 19, 0))
    assert soon_after.counts["meetings_closed"] == 0
    later = run("meetings", clock, at(date(2026, 11, 24), 22, 0))
    assert later.counts == {"reminders": 0, "meetings_closed": 1, "cases_rolled_over": 1}
    assert db.session.get(Meeting, meeting.id).status is MeetingStatus.HELD
    db.session.refresh(following)
    assert [item.referral_id for item in following.agenda] == [referral.id]
    assert run("meetings", clock, at(date(2026, 11, 24), 23, 0)).counts["meetings_closed"] == 0


# --- drafts ----------------------------------------------------------------------


def test_drafts_are_recalled_once_a_week(app, clock):
    referrer = radiologist()
    clock.set(at(date(2026, 11, 1), 10))
    draft = make_referral(
        referrer_id=referrer.id,
        question=None,
        referral_on=date(2026, 11, 1),
        patient_agreed_on=date(2026, 11, 1),
    )
    make_referral(
        referrer_id=referrer.id, referral_on=date(2026, 11, 1), patient_agreed_on=date(2026, 11, 1)
    )  # complete: no reminder
    assert run("drafts", clock, at(date(2026, 11, 7), 8)).counts["queued"] == 0
    assert run("drafts", clock, at(date(2026, 11, 9), 8)).counts["queued"] == 1
    [message] = outbox()
    assert draft.case_number in message.subject
    assert "Question put to the meeting" in message.body
    assert f"/cases/{draft.id}/edit" in message.body
    assert run("drafts", clock, at(date(2026, 11, 10), 8)).counts["queued"] == 0
    assert run("drafts", clock, at(date(2026, 11, 16), 8)).counts["queued"] == 1


# --- no patient identity in any e-mail ------------------------------------------------------


def test_no_e_mail_names_a_patient_or_gives_their_contact_details(app, clock):
    patient = make_patient(last_name="Lefèvre", first_name="Éloïse", mrn="80012345")
    give_contact(
        patient,
        phone_1="06 12 34 56 78",
        phone_2="+44 20 7946 0958",
        email="eloise.lefevre@example.fr",
    )
    procedure = make_procedure(
        referral=make_referral(
            patient=patient, referral_on=date(2026, 5, 20), patient_agreed_on=date(2026, 5, 20)
        ),
        followup_owner=make_user(roles={Role.CLINICIAN}),
    )
    assess(procedure, assessed_on=date(2026, 6, 23), nrs_average=1)
    assess(procedure, assessed_on=date(2026, 11, 2), nrs_average=5)
    meeting = make_meeting(chair_id=procedure.referral.referrer_id)
    again = make_referral(patient=patient)
    meeting_services.add_to_agenda(meeting, again, by=None)
    make_referral(patient=patient, question=None, referrer_id=procedure.referral.referrer_id)
    db.session.commit()
    for job_id, moment in [
        ("followups", at(IN_MONTH_3)),
        ("retreatment", at(date(2026, 11, 22), 6, 30)),
        ("meetings", at(date(2026, 11, 22), 18)),
        ("drafts", at(date(2026, 12, 20), 8)),
    ]:
        run(job_id, clock, moment)
    messages = outbox()
    assert {m.dedup_key.split(":")[0] for m in messages} == {
        "followup-digest",
        "eligible",
        "meeting-reminder",
        "draft-reminder",
        # The past meetings of the story, closed by the job: their minutes.
        "meeting-minutes",
        "meeting-summary",
    }
    for message in messages:
        for secret in ("Lefèvre", "LEFÈVRE", "Éloïse", "80012345", "1961", "eloise.lefevre"):
            assert secret not in message.subject
            assert secret not in message.body
        # The phone numbers, however they would be written (06 12 34 56 78,
        # +33 6..., 020 7946 0958): not even their digits in a row.
        digits = re.sub(r"\D", "", message.subject + message.body)
        for number in ("612345678", "2079460958"):
            assert number not in digits, message.dedup_key


# --- the outbox and SMTP ------------------------------------------------------------------


def queue_one(key="test:1"):
    from tracker.core.mail import queue_mail

    user = make_user(email="sophie.bernard@hopital.local")
    assert queue_mail(key=key, to=user, subject="RCP Tracker: test", body="RCP-2026-0001")
    assert not queue_mail(key=key, to=user, subject="RCP Tracker: test", body="again")
    db.session.commit()
    return user


def test_messages_reach_a_real_smtp_server(app, clock, mail_to):
    queue_one()
    record = run("outbox", clock, at(date(2026, 11, 20), 10))
    assert record.counts == {"sent": 1, "failed": 0, "waiting": 0}
    [email] = mail_to.messages
    assert email["To"] == "sophie.bernard@hopital.local"
    assert email["Subject"] == "RCP Tracker: test"
    assert email.get_content().strip() == "RCP-2026-0001"
    assert outbox()[0].sent_at is not None
    assert run("outbox", clock, at(date(2026, 11, 20), 10, 1)).counts["sent"] == 0
    assert len(mail_to.messages) == 1


def test_a_refusing_server_is_retried_later(app, clock, mail_to):
    queue_one()
    mail_to.refuse_next = 1
    first = run("outbox", clock, at(date(2026, 11, 20), 10))
    assert first.counts["failed"] == 1
    [message] = outbox()
    assert message.attempts == 1
    assert "Try again later" in message.last_error
    assert run("outbox", clock, at(date(2026, 11, 20), 10, 1)).counts["sent"] == 0  # backing off
    assert run("outbox", clock, at(date(2026, 11, 20), 10, 3)).counts["sent"] == 1
    assert len(mail_to.messages) == 1


def test_without_a_mail_server_messages_wait_in_the_outbox(app, clock):
    queue_one()
    assert run("outbox", clock, at(date(2026, 11, 20), 10)).counts == {
        "sent": 0,
        "failed": 0,
        "waiting": 1,
    }


def test_a_sender_that_died_after_claiming_is_taken_over_after_the_lease(app, clock, mail_to):
    from tracker.core.mail import _claim

    queue_one()
    clock.set(at(date(2026, 11, 20), 10))
    _claim(at(date(2026, 11, 20), 10))  # ...and the process dies here
    assert run("outbox", clock, at(date(2026, 11, 20), 10, 5)).counts["sent"] == 0
    assert run("outbox", clock, at(date(2026, 11, 20), 10, 11)).counts["sent"] == 1
    assert len(mail_to.messages) == 1


# --- backups -----------------------------------------------------------------------


def test_a_backup_is_a_consistent_copy_that_passes_the_integrity_check(tmp_path):
    source = tmp_path / "live.db"
    with sqlite3.connect(source) as live:
        live.execute("CREATE TABLE cases (number TEXT)")
        live.executemany(
            "INSERT INTO cases VALUES (?)", [(f"RCP-2026-{n:04d}",) for n in range(500)]
        )
    live.close()
    target = tmp_path / "backups" / "tracker-1.db"
    target.parent.mkdir()
    make_backup(source, target)
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT count(*) FROM cases").fetchone()[0] == 500
    copy.close()
    assert not list(target.parent.glob("*.partial"))


def test_old_backups_are_removed(tmp_path):
    import os

    old, recent = tmp_path / "tracker-old.db", tmp_path / "tracker-new.db"
    for path in (old, recent):
        path.write_bytes(b"x")
    now = datetime(2026, 11, 20, 2, 15, tzinfo=PARIS)
    os.utime(old, (now.timestamp() - 20 * 86400,) * 2)
    assert prune_backups(tmp_path, now, keep_days=14) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["tracker-new.db"]


def test_the_backup_job_on_this_database(app, clock, tmp_path):
    app.config["BACKUP_DIR"] = str(tmp_path)
    record = run("backup", clock, at(date(2026, 11, 20), 2, 15))
    if db.engine.engine.url.get_backend_name() != "sqlite":
        assert record.counts == {"skipped": 1}
        return
    [written] = list(Path(tmp_path).glob("tracker-*.db"))
    with sqlite3.connect(written) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT count(*) FROM techniques").fetchone()[0] >= 9
    copy.close()
    # The night's housekeeping: SQLite's planner has statistics to choose indexes by.
    tables = db.session.execute(text("SELECT DISTINCT tbl FROM sqlite_stat1")).scalars().all()
    assert {"techniques", "indications"} <= set(tables)


# --- runs, the command line and the admin page ----------------------------------------------


def test_a_failing_job_is_recorded_and_its_changes_rolled_back(app, clock, monkeypatch):
    from tracker.core import scheduler

    def broken(now):
        db.session.add(Referral(case_number="RCP-BROKEN", patient_id=make_patient().id, version=1))
        raise RuntimeError("disk full")

    declared = scheduler.get_job("drafts")
    monkeypatch.setattr(
        scheduler,
        "get_job",
        lambda job_id: scheduler.JobSpec("drafts", broken, declared.trigger, "broken"),
    )
    record = run_job("drafts", at(date(2026, 11, 20)))
    assert record.outcome is RunOutcome.FAILED
    assert "disk full" in record.error
    assert db.session.scalar(select(func.count()).select_from(Referral)) == 0


def test_run_once_from_the_command_line(runner):
    result = runner.invoke(args=["scheduler", "run-once", "drafts"])
    assert result.exit_code == 0, result.output
    assert "drafts: OK" in result.output
    unknown = runner.invoke(args=["scheduler", "run-once", "coffee"])
    assert unknown.exit_code != 0
    assert "unknown job" in unknown.output


def test_the_scheduler_has_every_job_with_a_misfire_grace_time(app):
    from tracker.core.scheduler import MISFIRE_GRACE_SECONDS, build_scheduler, jobs

    scheduler = build_scheduler(app)
    ids = {job.id for job in scheduler.get_jobs()}
    # Every job the features declare (their list: tests/core/test_layout.py).
    assert ids == {spec.id for spec in jobs()}
    assert len(ids) >= 10
    assert scheduler._job_defaults["misfire_grace_time"] == MISFIRE_GRACE_SECONDS
    assert scheduler._job_defaults["max_instances"] == 1


def test_admins_see_what_ran_and_retry_messages(client, auth, clock):
    queue_one()
    run("drafts", clock, at(date(2026, 11, 20), 8))
    auth.login_as(make_user(roles={Role.ADMIN}))
    from tests.html import soup, text

    page = text(soup(client.get("/admin/jobs")))
    assert "drafts" in page
    assert "No mail server is configured" in page
    assert "RCP Tracker: test" in page
    [message] = outbox()
    message.attempts = 8
    db.session.commit()
    assert client.post(f"/admin/outbox/{message.id}/retry").status_code == 302
    db.session.refresh(message)
    assert message.attempts == 0


def test_only_admins_see_the_jobs(client, auth):
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    assert client.get("/admin/jobs").status_code == 403


def test_users_choose_their_e_mails(client, auth):
    user = make_user()
    auth.login_as(user)
    response = client.post(
        "/account/notifications",
        data={"email_meeting_reminders": "y", "version": str(user.version)},
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.email_meeting_reminders
    assert not user.email_followup_digest
    assert not user.email_eligible_cases


# --- proposals still pending ------------------------------------------------------------


def test_a_proposal_still_pending_is_flagged_once_to_its_referrer(app, clock):
    from tests.factories import make_decision, running_meeting
    from tracker.decisions import services as decision_services
    from tracker.decisions.models import NotCarriedOut

    meeting = running_meeting(2)  # 24 Nov 2026
    clock.set(at(date(2026, 11, 24), 18))
    pending, said = (make_decision(item) for item in meeting.agenda)
    decision_services.record_not_carried_out(
        said.plan,
        reason=NotCarriedOut.PATIENT_CHOICE,
        note=None,
        on=date(2026, 11, 24),
        by=meeting.chair,
    )
    db.session.commit()
    make_procedure()  # carried out (June): never flagged
    # 59 days after the decision: not yet.
    assert run("pending_proposals", clock, at(date(2027, 1, 22), 6, 45)).counts == {
        "pending": 0,
        "queued": 0,
    }
    first = run("pending_proposals", clock, at(date(2027, 1, 23), 6, 45))
    assert first.counts == {"pending": 1, "queued": 1}
    [message] = outbox()
    referral = pending.referral
    assert message.recipient_id == referral.referrer_id
    assert message.subject == "RCP Tracker: a proposed procedure is still pending"
    assert f"- {referral.case_number}: " in message.body
    assert f"/cases/{referral.id}" in message.body
    # The case number and the link only: nothing that names the patient.
    for identifier in (referral.patient.last_name, referral.patient.first_name):
        assert identifier not in message.subject + message.body
    # Told once, even after the outbox is pruned.
    db.session.execute(delete(OutboxMessage))
    db.session.commit()
    assert run("pending_proposals", clock, at(date(2027, 1, 24), 6, 45)).counts == {
        "pending": 0,
        "queued": 0,
    }
    assert outbox() == []
