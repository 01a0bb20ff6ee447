"""An invitation's life on a frozen clock: sent when the window opens, opened,
the birth date checked, answered once, reminded while unanswered, expired,
revoked, locked after wrong birth dates, opted out of."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from tests.html import soup, text
from tests.selfreport.invited import (
    BORN,
    PERFORMED,
    at,
    born,
    invitation_of,
    link_in,
    mails,
    path_of,
    run,
)
from tracker.extensions import db
from tracker.followups.models import Assessment, AssessmentMode, FollowUp, FollowUpStatus
from tracker.followups.rules import Kind
from tracker.selfreport.rules import InvitationStatus


def test_week_1_invitation_is_answered_on_a_phone_and_closes_the_loop(client, clock, treated):
    procedure, nurse = treated
    # Week 1 is due on day 7; its window opens on day 5.
    assert run(clock, at(PERFORMED + timedelta(days=4)))["invited"] == 0
    assert run(clock, at(PERFORMED + timedelta(days=5)))["invited"] == 1
    [message] = mails()
    assert message.recipient_email == "patient@example.org"
    # The message names the team and carries the link: nothing about the patient.
    patient = procedure.referral.patient
    for secret in (patient.last_name, patient.mrn, procedure.referral.case_number, "ryo"):
        assert secret not in message.body
    assert "douleur" in message.body  # in the patient's language
    path = path_of(link_in(message))
    invitation = invitation_of(procedure)
    assert invitation.token_hash not in message.body

    # Opening the link (a mail scanner does too) does not use it up.
    page = client.get(path)
    assert page.status_code == 200
    assert "date de naissance" in text(soup(page))
    db.session.expire_all()
    assert invitation_of(procedure).status is InvitationStatus.OPENED

    form = soup(client.post(path, data=born(BORN)))
    proof = form.find("input", attrs={"name": "proof"})["value"]
    answers = {
        "proof": proof,
        "nrs_average": "7",
        "nrs_now": "7",
        "pain_is_back": "y",
        "note": "<b>mal</b>",
    }
    done = client.post(path + "/answers", data=answers)
    assert done.status_code == 200
    assert "Merci" in text(soup(done))

    db.session.expire_all()
    assessment = db.session.scalar(
        select(Assessment).where(Assessment.referral_id == procedure.referral_id)
    )
    assert assessment.mode is AssessmentMode.SELF_REPORTED
    assert assessment.nrs_average == 7
    assert assessment.note == "<b>mal</b>"  # kept as typed, escaped where shown
    week1 = db.session.get(FollowUp, assessment.followup_id)
    assert (week1.offset_days, week1.status) == (7, FollowUpStatus.DONE)
    assert invitation_of(procedure).status is InvitationStatus.ANSWERED
    # The owner is told at once.
    [alert] = mails("selfreport_pain_back:")
    assert alert.recipient_id == nurse.id
    assert procedure.referral.case_number in alert.body
    # The verdict is recomputed: 7 from a baseline of 8 on day 7 is no response.
    assert procedure.referral.verdict.kind is Kind.NO_RESPONSE

    # The link is used: a replay is refused and saves nothing twice.
    again = client.post(path + "/answers", data=answers)
    assert again.status_code == 410
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 1
    assert client.get(path).status_code == 410


def test_reminders_go_while_unanswered_twice_at_most_never_after_the_window(clock, treated):
    procedure, _nurse = treated
    opened_on = PERFORMED + timedelta(days=5)
    run(clock, at(opened_on))
    assert run(clock, at(opened_on + timedelta(days=1)))["reminded"] == 0
    assert run(clock, at(opened_on + timedelta(days=2)))["reminded"] == 1
    assert run(clock, at(opened_on + timedelta(days=3)))["reminded"] == 0
    # Week 1's window opened on day 5 and closes at the end of day 11.
    assert run(clock, at(opened_on + timedelta(days=5)))["reminded"] == 1
    assert run(clock, at(opened_on + timedelta(days=6)))["reminded"] == 0  # two at most
    assert len(mails()) == 3
    later = run(clock, at(PERFORMED + timedelta(days=12)))
    assert later["expired"] == 1
    assert invitation_of(procedure).status is InvitationStatus.EXPIRED


def test_reminders_stop_once_the_patient_has_answered(client, clock, treated):
    opened_on = PERFORMED + timedelta(days=5)
    run(clock, at(opened_on))
    path = path_of(link_in(mails()[0]))
    form = soup(client.post(path, data=born(BORN)))
    proof = form.find("input", attrs={"name": "proof"})["value"]
    answered = client.post(path + "/answers", data={"proof": proof, "nrs_average": "2"})
    assert answered.status_code == 200
    for days in (2, 5):
        assert run(clock, at(opened_on + timedelta(days=days)))["reminded"] == 0
    assert len(mails()) == 1


def test_an_expired_revoked_or_forged_link_is_refused(client, clock, treated):
    procedure, nurse = treated
    run(clock, at(PERFORMED + timedelta(days=5)))
    path = path_of(link_in(mails()[0]))
    assert client.get(path[:-2] + "xx").status_code == 404
    assert client.get("/p/" + "A" * 43).status_code == 404
    from tracker.selfreport import services

    services.revoke(invitation_of(procedure), by=nurse)
    db.session.commit()
    assert client.get(path).status_code == 410
    assert "plus utilisé" in text(soup(client.get(path)))


def test_five_wrong_birth_dates_lock_the_link_and_tell_the_owner(client, clock, treated):
    _procedure, nurse = treated
    run(clock, at(PERFORMED + timedelta(days=5)))
    path = path_of(link_in(mails()[0]))
    for _ in range(4):
        response = client.post(path, data=born(date(1970, 1, 1)))
        assert response.status_code == 422
        assert "ne correspond pas" in text(soup(response))
    assert client.post(path, data=born(date(1970, 1, 1))).status_code == 410
    # Even the right date no longer opens it.
    assert client.post(path, data=born(BORN)).status_code == 410
    [alert] = mails("selfreport_locked:")
    assert alert.recipient_id == nurse.id


def test_opting_out_ends_every_open_invitation_and_the_next_ones(client, clock, treated):
    procedure, _nurse = treated
    run(clock, at(PERFORMED + timedelta(days=5)))
    path = path_of(link_in(mails()[0]))
    assert client.post(path + "/stop").status_code == 200
    db.session.expire_all()
    assert invitation_of(procedure).status is InvitationStatus.REVOKED
    assert procedure.referral.patient.contact_consent_on is None
    # Month 1's window opens on day 23: nobody is invited any more.
    assert run(clock, at(PERFORMED + timedelta(days=23)))["invited"] == 0


def test_answers_without_the_birth_date_proof_are_refused(client, clock, treated):
    run(clock, at(PERFORMED + timedelta(days=5)))
    path = path_of(link_in(mails()[0]))
    response = client.post(path + "/answers", data={"proof": "forged", "nrs_average": "2"})
    assert response.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 0


def test_the_patient_application_serves_the_patient_pages_only():
    from tests.conftest import TEST_CONFIG
    from tracker import create_app

    app = create_app(TEST_CONFIG, patient_only=True)
    assert {rule.endpoint for rule in app.url_map.iter_rules()} == {
        "static",
        "patient.landing",
        "patient.answers",
        "patient.stop",
    }
