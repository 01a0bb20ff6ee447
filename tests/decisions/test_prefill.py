"""A new plan starts from the referral and from the technique's usual way."""

from __future__ import annotations

from tests.factories import make_decision, plan_values, running_meeting, technique
from tests.html import checked_values, field_value, soup
from tracker.cases.models import PainSide
from tracker.decisions.models import Anaesthesia, ProcedurePlan
from tracker.extensions import db

EMPTY_PLAN = {
    "target": None,
    "side": None,
    "guidance": [],
    "anaesthesia": None,
    "care_setting": None,
}


def test_a_new_case_in_meeting_mode_starts_from_the_referral(client, auth):
    meeting = running_meeting()
    item = meeting.agenda[0]
    auth.login_as(meeting.chair)
    page = soup(client.get(f"/meetings/{meeting.id}/mode?item={item.id}"))
    assert field_value(page, "side") == "LEFT"
    assert field_value(page, "target") == "Left foot, third web space"
    # No technique yet: no technique defaults.
    assert checked_values(page, "guidance") == set()
    assert field_value(page, "anaesthesia") == ""


def test_the_plan_shows_its_techniques_defaults_and_saves_nothing(client, auth):
    meeting = running_meeting()
    decision = make_decision(meeting.agenda[0], validate=False, plan=plan_values(**EMPTY_PLAN))
    auth.login_as(meeting.chair)
    for url in (f"/plans/{decision.plan.id}/edit", f"/meetings/{meeting.id}/mode"):
        page = soup(client.get(url))
        assert field_value(page, "side") == "LEFT"
        assert field_value(page, "target") == "Left foot, third web space"
        assert checked_values(page, "guidance") == {"ULTRASOUND"}
        assert field_value(page, "anaesthesia") == "LOCAL"
        assert field_value(page, "care_setting") == "AMBULATORY"
        assert checked_values(page, "anaesthetist_needed") == set()
    db.session.expire_all()
    plan = db.session.get(ProcedurePlan, decision.plan.id)
    assert (plan.side, plan.target, plan.guidance, plan.anaesthesia) == (None, None, [], None)


def test_a_technique_needing_an_anaesthetist_says_so(client, auth):
    meeting = running_meeting()
    values = plan_values(**EMPTY_PLAN, technique_id=technique("cementoplasty").id)
    decision = make_decision(meeting.agenda[0], validate=False, plan=values)
    auth.login_as(meeting.chair)
    page = soup(client.get(f"/plans/{decision.plan.id}/edit"))
    assert checked_values(page, "guidance") == {"CT", "FLUOROSCOPY"}
    assert field_value(page, "anaesthesia") == "SEDATION"
    assert field_value(page, "care_setting") == "SHORT_STAY"
    assert checked_values(page, "anaesthetist_needed") == {"y"}


def test_what_the_team_typed_is_never_replaced(client, auth):
    meeting = running_meeting()
    typed = {**EMPTY_PLAN, "target": "Sural nerve", "side": PainSide.RIGHT}
    typed["anaesthesia"] = Anaesthesia.GENERAL
    decision = make_decision(meeting.agenda[0], validate=False, plan=plan_values(**typed))
    auth.login_as(meeting.chair)
    page = soup(client.get(f"/plans/{decision.plan.id}/edit"))
    assert field_value(page, "side") == "RIGHT"
    assert field_value(page, "target") == "Sural nerve"
    assert field_value(page, "anaesthesia") == "GENERAL"
    # The anaesthesia was chosen: the technique's usual way is not mixed in.
    assert checked_values(page, "guidance") == set()
    assert field_value(page, "care_setting") == ""


def test_the_checklist_marks_the_techniques_usual_prerequisites(client, auth):
    decision = make_decision(plan=plan_values(technique_id=technique("cryoneurolysis").id))
    auth.login_as(decision.meeting.chair)
    page = soup(client.get(f"/cases/{decision.referral_id}"))
    usual = [
        item.get_text(" ", strip=True)
        for item in page.select("ul.checklist li")
        if item.select_one(".usual-prerequisite")
    ]
    # Cryoneurolysis: anticoagulant management and consent, not fasting.
    assert [text.split(" usual")[0] for text in usual] == [
        "☐ Anticoagulant / antiplatelet management",
        "☐ Informed consent",
    ]


def test_the_plans_page_shows_the_units_results_beside_it(client, auth):
    decision = make_decision(plan=plan_values(technique_id=technique("cementoplasty").id))
    auth.login_as(decision.meeting.chair)
    aside = soup(client.get(f"/plans/{decision.plan.id}/edit")).find(id="evidence")
    assert "Cementoplasty" in aside.get_text(" ", strip=True)
    assert "90% of patients relieved within 48 hours" in aside.get_text(" ", strip=True)
