"""The team's side of online questionnaires: the case page's invitations and what
may be done with them, the worklist's words, the owner's home alert, and the
case header saying whether the patient receives questionnaires online."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import give_contact, make_invitation, make_procedure, make_user
from tests.html import soup, text
from tracker.cases import services as case_services
from tracker.core.audit import AuditAction, AuditEntry
from tracker.core.mail import OutboxMessage
from tracker.core.time import utcnow
from tracker.extensions import db
from tracker.followups.models import FollowUp
from tracker.selfreport import services
from tracker.selfreport.models import Invitation
from tracker.selfreport.rules import InvitationStatus
from tracker.web.permissions import Role

PARIS = ZoneInfo("Europe/Paris")
TODAY = date(2026, 11, 20)


@pytest.fixture
def nurse(auth):
    user = make_user(roles={Role.CLINICIAN}, full_name="Claire Martin")
    auth.login_as(user)
    return user


@pytest.fixture
def later(auth, clock, nurse):
    """Moves the clock on, and logs the nurse in again (sessions end meanwhile)."""

    def move(**delta):
        clock.advance(**delta)
        auth.login_as(nurse)

    return move


def invitation_rows(client, referral_id):
    block = soup(client.get(f"/cases/{referral_id}")).find(id="invitations")
    return block, block.select("tr.invitation")


def patient_answers(invitation, moment=None, **values):
    answers = {"nrs_average": 3, "nrs_now": 3, "pain_is_back": False, **values}
    assessment = services.answer(invitation, answers, moment or utcnow())
    db.session.commit()
    return assessment


# --- the case page ------------------------------------------------------------------


def test_the_case_page_lists_each_invitation_with_its_times_and_what_can_be_done(
    client, later, nurse
):
    invitation = make_invitation(followup_owner=nurse)
    later(days=2)
    services.remind_due(utcnow())
    services.opened(invitation, utcnow() + timedelta(hours=3))
    db.session.commit()
    _block, [row] = invitation_rows(client, invitation.referral_id)
    words = text(row)
    assert "Week 1" in words
    assert "E-mail" in words
    assert "Opened" in words
    assert "Sent 20 Nov 2026, 10:00" in words
    assert "Reminded once, 22 Nov 2026, 10:00" in words
    assert "Opened 22 Nov 2026, 13:00" in words
    assert "The link works until 26 Nov 2026, 00:00" in words
    buttons = [text(button) for button in row.select("button, summary")]
    assert buttons == [
        "Resend Week 1",
        "Show the link to read Week 1",
        "Revoke Week 1",
        "Revoke the link",
    ]
    # Revoking is asked twice: its button is inside a closed <details>.
    revoke = row.find("details", class_="invitation-revoke")
    assert not revoke.has_attr("open")
    assert revoke.find("form")["method"] == "post"


def test_revoking_ends_the_link_and_leaves_nothing_to_do(client, nurse):
    invitation = make_invitation()
    response = client.post(f"/invitations/{invitation.id}/revoke")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("#invitations")
    db.session.expire_all()
    assert invitation.status is InvitationStatus.REVOKED
    assert invitation.revoked_by_id == nurse.id
    _block, [row] = invitation_rows(client, invitation.referral_id)
    assert "Revoked 20 Nov 2026, 10:00" in text(row)
    assert row.select("button, summary") == []
    # The case's history says it in words.
    history = text(soup(client.get(f"/cases/{invitation.referral_id}/history")))
    assert "Revoked by" in history
    assert "Claire Martin" in history
    # Twice: said plainly, nothing changed.
    again = client.post(f"/invitations/{invitation.id}/revoke", follow_redirects=True)
    assert "This invitation is no longer open." in text(soup(again))


def test_resending_sends_the_same_link_again(client, nurse):
    invitation = make_invitation()
    response = client.post(f"/invitations/{invitation.id}/resend", follow_redirects=True)
    assert "sent again, with the same link" in text(soup(response))
    first, again = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.dedup_key.startswith(f"invitation:{invitation.id}:"))
        .order_by(OutboxMessage.id)
    ).all()
    link = services.link_for(invitation)
    assert link in first.body
    assert link in again.body


def test_the_link_is_shown_once_on_a_post_and_its_reading_is_audited(client, nurse):
    invitation = make_invitation()
    link = services.link_for(invitation)
    case_page = client.get(f"/cases/{invitation.referral_id}").get_data(as_text=True)
    assert link not in case_page
    assert client.get(f"/invitations/{invitation.id}/link").status_code == 405
    shown = client.post(f"/invitations/{invitation.id}/link")
    assert shown.status_code == 200
    assert link in text(soup(shown))
    assert shown.headers["Cache-Control"].startswith("no-store")
    [read] = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "Invitation", AuditEntry.action == AuditAction.VIEW
        )
    ).all()
    assert (read.actor_id, read.entity_id, read.referral_id) == (
        nurse.id,
        str(invitation.id),
        invitation.referral_id,
    )
    assert link not in client.get(f"/cases/{invitation.referral_id}").get_data(as_text=True)


def test_coordinators_see_the_invitations_but_do_not_manage_them(client, auth):
    invitation = make_invitation()
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    _block, [row] = invitation_rows(client, invitation.referral_id)
    assert row.select("button, summary") == []
    assert client.post(f"/invitations/{invitation.id}/revoke").status_code == 403
    assert client.post(f"/invitations/{invitation.id}/link").status_code == 403


def test_an_answered_invitation_shows_its_answer_and_the_assessment_says_patient_reported(
    client, later
):
    invitation = make_invitation()
    later(days=1)
    patient_answers(invitation)
    page = soup(client.get(f"/cases/{invitation.referral_id}"))
    [row] = page.find(id="invitations").select("tr.invitation")
    assert "Answered 21 Nov 2026, 10:00" in text(row)
    assert row.select("button, summary") == []
    pain = page.find("caption", string="Average pain over time").find_parent("table")
    modes = [text(tr.find_all("td")[-1]) for tr in pain.select("tbody tr")]
    assert modes == ["—", "Patient-reported (online)"]


def test_a_case_without_invitations_shows_no_such_section(client, nurse):
    procedure = make_procedure()
    assert soup(client.get(f"/cases/{procedure.referral_id}")).find(id="invitations") is None


# --- the worklist -------------------------------------------------------------------


def worklist_rows(client) -> list[str]:
    page = soup(client.get("/followups?responsible_id="))
    return [text(row) for row in page.select(".worklist-row")]


def test_the_worklist_says_a_time_point_was_invited_and_how_far_it_went(client, later, nurse):
    invitation = make_invitation()
    [row] = [row for row in worklist_rows(client) if "Week 1" in row]
    assert "invited, sent" in row
    later(days=2)
    services.remind_due(utcnow())
    db.session.commit()
    [row] = [row for row in worklist_rows(client) if "Week 1" in row]
    assert "invited, reminded" in row
    services.revoke(invitation, by=nurse)
    db.session.commit()
    [row] = [row for row in worklist_rows(client) if "Week 1" in row]
    assert "invited" not in row


def test_the_worklist_says_when_the_last_reading_was_the_patients_own(client, auth, clock, nurse):
    # Treated on 19 October: week 1 is answered online on day 7; month 1 is overdue.
    clock.set(datetime(2026, 10, 26, 10, 0, tzinfo=PARIS))
    invitation = make_invitation(performed_on=date(2026, 10, 19))
    patient_answers(invitation)
    clock.set(datetime(2026, 11, 20, 10, 0, tzinfo=PARIS))
    auth.login_as(nurse)
    [row] = [row for row in worklist_rows(client) if "Month 1" in row]
    assert "Last reading: NRS 3/10 on 26 Oct 2026, answered by the patient" in row


def test_the_worklist_runs_the_same_queries_with_10_and_300_invited_rows(
    client, nurse, count_queries
):
    invitation = make_invitation()
    procedure = db.session.get(FollowUp, invitation.followup_id).procedure

    def add(count):
        for number in range(count):
            followup = FollowUp(
                procedure_id=procedure.id,
                referral_id=procedure.referral_id,
                offset_days=7,
                due_on=TODAY + timedelta(days=(number % 15) - 7),
            )
            db.session.add(followup)
            db.session.flush()
            db.session.add(
                Invitation(
                    followup_id=followup.id,
                    referral_id=procedure.referral_id,
                    patient_id=procedure.referral.patient_id,
                    channel=invitation.channel,
                    status=InvitationStatus.REMINDED,
                    nonce=f"{followup.id:032d}",
                    token_hash=f"{followup.id:064d}",
                )
            )
        db.session.commit()

    counts = []
    for total in (10, 290):
        add(total)
        with count_queries() as counter:
            page = client.get("/followups?responsible_id=")
        assert page.status_code == 200
        assert "invited, reminded" in page.get_data(as_text=True)
        counts.append(counter.count)
    assert counts[0] == counts[1]


# --- the owner's home ----------------------------------------------------------------


def home_alerts(client):
    title = soup(client.get("/")).find(id="home-pain-back")
    return None if title is None else title.find_parent("section")


def test_the_owner_is_told_on_the_home_page_and_by_e_mail_when_a_patient_reports_pain_back(
    client, later, nurse
):
    # Baseline 8: 7 is only 12% less, below the 30% of a recurrence.
    worse = make_invitation(followup_owner=nurse, referral_values={"nrs_average": 8})
    better = make_invitation(followup_owner=nurse, referral_values={"nrs_average": 8})
    someone_elses = make_invitation(referral_values={"nrs_average": 8})
    assert home_alerts(client) is None  # nothing to call about: no panel
    later(days=1)
    patient_answers(worse, nrs_average=7)
    patient_answers(better, nrs_average=2)
    patient_answers(someone_elses, nrs_average=7, pain_is_back=True)
    panel = home_alerts(client)
    listed = text(panel.find(id="pains-back"))
    assert worse.referral.case_number in listed
    assert "NRS 7/10 on 21 Nov 2026" in listed
    assert better.referral.case_number not in listed
    assert someone_elses.referral.case_number not in listed
    alerts = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.dedup_key.startswith("selfreport_pain_back:"))
    ).all()
    assert {(m.recipient_id, m.dedup_key) for m in alerts if m.recipient_id == nurse.id} == {
        (nurse.id, f"selfreport_pain_back:{worse.id}")
    }
    assert worse.referral.case_number in alerts[0].body
    # A month later, the alert has done its work.
    later(days=30)
    assert home_alerts(client) is None


def test_the_owner_sees_links_locked_after_wrong_birth_dates(client, clock, nurse):
    invitation = make_invitation(followup_owner=nurse)
    for _ in range(5):
        services.check_birth_date(invitation, date(1970, 1, 1), utcnow())
    db.session.commit()
    panel = home_alerts(client)
    assert invitation.referral.case_number in text(panel.find(id="locked-links"))
    assert "None in the last 30 days." in text(panel)
    [mail] = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.dedup_key.startswith("selfreport_locked:"))
    ).all()
    assert mail.recipient_id == nurse.id
    _block, [row] = invitation_rows(client, invitation.referral_id)
    assert "locked after wrong dates of birth" in text(row)
    assert row.select("button, summary") == []  # nothing to send or read: a call
    assert "invited, link locked" in " ".join(worklist_rows(client))


def test_the_owners_alerts_take_the_same_queries_for_one_patient_and_for_ten(
    client, clock, nurse, count_queries
):
    def answered(count):
        for _ in range(count):
            invitation = make_invitation(followup_owner=nurse, referral_values={"nrs_average": 8})
            patient_answers(invitation, nrs_average=8, pain_is_back=True)

    counts = []
    for count in (1, 9):
        answered(count)
        with count_queries() as counter:
            assert client.get("/").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]
    assert len(home_alerts(client).select("#pains-back li")) == 10


# --- the case header: online questionnaires, consent and opting out -----------------


def header(client, referral_id) -> str:
    return text(soup(client.get(f"/cases/{referral_id}")).find(id="patient-contact"))


def test_the_header_says_whether_the_patient_receives_questionnaires_online(client, app, nurse):
    invitation = make_invitation()
    patient = invitation.patient
    assert "receives the questionnaires online, by e-mail" in header(client, invitation.referral_id)
    give_contact(patient, email="patient@example.org", preferred_channel="SMS")
    assert "this site sends no text messages" in header(client, invitation.referral_id)
    app.config["SMS_URL"] = "http://127.0.0.1:9/sms"
    try:
        assert "by text message" in header(client, invitation.referral_id)
    finally:
        app.config["SMS_URL"] = None
    give_contact(patient, preferred_channel="PHONE")
    assert "no online questionnaires" in header(client, invitation.referral_id)


def test_opting_out_shows_on_the_case_and_ends_once_consent_is_recorded_again(client, later, nurse):
    invitation = make_invitation()
    patient = invitation.patient
    later(days=1)
    services.opt_out(invitation, utcnow())
    db.session.commit()
    assert patient.contact_opted_out_on == date(2026, 11, 21)
    shown = header(client, invitation.referral_id)
    assert "opted out of online questionnaires on 21 Nov 2026" in shown
    assert "receives the questionnaires online" not in shown
    form = text(soup(client.get(f"/patients/{patient.id}/contact")))
    assert "Opted out of online questionnaires on 21 Nov 2026, from a message" in form
    # Saved again without the consent: still opted out.
    case_services.update_contact(
        patient,
        {"email": "patient@example.org", "preferred_channel": "EMAIL", "contact_consent": False},
        by=nurse,
    )
    db.session.commit()
    assert patient.contact_opted_out_on == date(2026, 11, 21)
    # The patient agrees again: invited again, the opt-out forgotten.
    give_contact(patient, email="patient@example.org", preferred_channel="EMAIL")
    assert patient.contact_opted_out_on is None
    assert "receives the questionnaires online, by e-mail" in header(client, invitation.referral_id)
