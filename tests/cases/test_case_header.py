"""The case page's header: where the case stands and what comes next, for this user."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from tests.factories import (
    assess,
    make_decision,
    make_meeting,
    make_procedure,
    make_referral,
    make_user,
    running_meeting,
)
from tests.html import soup, text
from tracker.cases.models import Referral
from tracker.cases.rules import CaseStatus
from tracker.core.specialties import Specialty
from tracker.extensions import db
from tracker.followups import services as followup_services
from tracker.web.permissions import Role

PARIS = ZoneInfo("Europe/Paris")


def header(client, referral_id):
    page = soup(client.get(f"/cases/{referral_id}"))
    return page, page.find(id="case-next")


def facts(block) -> dict[str, str]:
    return {text(fact.find("dt")): text(fact.find("dd")) for fact in block.select(".case-fact")}


def primary(block):
    button = block.find(id="next-action")
    return (text(button), button["href"]) if button else None


def test_a_draft_asks_its_referrer_to_complete_the_sheet(client, auth):
    referrer = make_user(roles={Role.RADIOLOGIST})
    referral = make_referral(referrer_id=referrer.id, question=None)
    assert referral.status is CaseStatus.DRAFT
    auth.login_as(referrer)
    _page, block = header(client, referral.id)
    assert primary(block) == ("Complete the referral sheet", f"/cases/{referral.id}/edit")


def test_a_waiting_case_offers_the_coordinator_the_next_meeting(client, auth):
    coordinator = make_user(roles={Role.COORDINATOR})
    referral = make_referral()
    auth.login_as(coordinator)
    _page, block = header(client, referral.id)
    assert primary(block) == ("Plan a meeting", "/meetings/new")
    meeting = make_meeting(starts_at=datetime(2026, 11, 24, 17, 0, tzinfo=PARIS))
    _page, block = header(client, referral.id)
    label, href = primary(block)
    assert label == "Put on the agenda of Tuesday 24 November 2026, 17:00"
    assert href == f"/meetings/{meeting.id}#add-cases"


def test_a_waiting_case_offers_a_clinician_nothing_to_schedule(client, auth):
    referral = make_referral()
    auth.login_as(make_user(roles={Role.CLINICIAN}))
    _page, block = header(client, referral.id)
    assert primary(block) is None
    assert "Nothing to do on this case for you now." in text(block)


def test_a_case_on_an_agenda_says_which_meeting(client, auth):
    meeting = running_meeting(1)
    item = meeting.agenda[0]
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    _page, block = header(client, item.referral_id)
    assert facts(block)["Meeting"] == (
        "Tuesday 24 November 2026, 17:00, presented by Dr Julien Moreau"
    )
    assert primary(block) == ("Open the meeting", f"/meetings/{meeting.id}#agenda")


def test_a_planned_case_shows_the_decision_the_plan_and_the_procedure_to_record(client, auth):
    decision = make_decision()
    operator = make_user(roles={Role.RADIOLOGIST}, specialty=Specialty.INTERVENTIONAL_RADIOLOGY)
    auth.login_as(operator)
    page, block = header(client, decision.referral_id)
    said = facts(block)
    assert said["Decision"] == "Procedure proposed (meeting of 24 Nov 2026)"
    assert said["Planned procedure"].startswith("Cryoneurolysis")
    assert primary(block) == ("Record the procedure", f"/plans/{decision.plan.id}/procedure")
    # The question is answered: the referral sheet is folded away under its title.
    sheet = page.find(id="sheet-details")
    assert sheet is not None
    assert not sheet.has_attr("open")


def test_a_treated_case_puts_the_verdict_and_the_next_follow_up_first(client, auth):
    procedure = make_procedure()
    assess(procedure, assessed_on=date(2026, 6, 23), nrs_average=1)
    assess(procedure, assessed_on=date(2026, 11, 2), nrs_average=5)
    auth.login_as(make_user(roles={Role.CLINICIAN}))
    page, block = header(client, procedure.referral_id)
    said = facts(block)
    assert said["Retreatment"] == "Eligible for re-discussion"
    assert said["Last procedure"].startswith("Cryoneurolysis")
    assert said["Last procedure"].endswith(" on 16 Jun 2026")
    assert said["Next follow-up"].startswith("Month 6, due ")
    label, href = primary(block)
    assert label == "Present again at the RCP"
    assert href == f"/cases/{procedure.referral_id}/present-again"
    others = [text(a) for a in block.select("#case-actions a")]
    assert "Record the follow-up: Month 6" in others
    # The header comes before the sheet, the decisions and the follow-up.
    html = str(page)
    assert (
        html.index('id="case-next"') < html.index('id="sheet-title"') < html.index('id="followup"')
    )


def test_a_case_presented_again_points_to_its_new_case(client, auth):
    procedure = make_procedure()
    assess(procedure, assessed_on=date(2026, 6, 23), nrs_average=1)
    assess(procedure, assessed_on=date(2026, 11, 2), nrs_average=5)
    again = followup_services.present_again(
        db.session.get(Referral, procedure.referral_id),
        reason="Pain back",
        question="Repeat?",
        patient_agreed_on=date(2026, 11, 20),
        pain_duration_months=24,
        by=make_user(roles={Role.CLINICIAN}),
    )
    db.session.commit()
    auth.login_as(make_user(roles={Role.CLINICIAN}))
    _page, block = header(client, procedure.referral_id)
    assert facts(block)["Retreatment"] == f"Presented again as {again.case_number}"
    assert "Present again at the RCP" not in text(block)
