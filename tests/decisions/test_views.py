"""Meeting mode, the decision pages, plans and procedures through the browser's eyes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.factories import (
    PASSWORD,
    make_decision,
    make_procedure,
    make_user,
    radiologist,
    running_meeting,
    technique,
)
from tests.html import field_errors, field_value, soup, text
from tracker.cases.rules import CaseStatus
from tracker.decisions.models import Decision, DecisionStatus
from tracker.extensions import db
from tracker.web.permissions import Role

PARIS = ZoneInfo("Europe/Paris")


def decision_data(**overrides):
    data = {
        "outcome": "PROCEDURE_PROPOSED",
        "reasons": "Refractory neuroma pain after two injections.",
        "follows_guidelines": "yes",
        "guideline_reference": "CIRSE standards of practice",
        "technique_id": str(technique().id),
        "target": "Third common digital nerve",
        "side": "LEFT",
        "guidance": ["ULTRASOUND"],
        "anaesthesia": "LOCAL",
        "care_setting": "AMBULATORY",
        "priority": "ROUTINE",
        "distance_mm": "60",
    }
    data.update(overrides)
    return data


@pytest.fixture
def chair_client(app):
    """The chair's browser during a started meeting of 3 cases."""
    meeting = running_meeting(3)
    client = app.test_client()
    client.post("/login", data={"email": meeting.chair.email, "password": PASSWORD})
    return meeting, client


def test_a_whole_meeting_from_first_to_last_case(chair_client):
    meeting, client = chair_client
    items = meeting.agenda
    page = soup(client.get(f"/meetings/{meeting.id}/mode"))
    assert "0 of 3 decided" in text(page)
    assert items[0].referral.case_number in text(page.find(id="case-title"))

    # First case: a draft, resumed, then validated.
    url = f"/meetings/{meeting.id}/mode?item={items[0].id}"
    draft = client.post(url, data=decision_data(reasons="Still discussing", action="save"))
    assert draft.headers["Location"].endswith(f"item={items[0].id}")
    resumed = soup(client.get(url))
    assert field_value(resumed, "reasons") == "Still discussing"
    validated = client.post(
        url, data=decision_data(action="validate", version=field_value(resumed, "version"))
    )
    assert validated.headers["Location"].endswith(f"item={items[1].id}")

    # The other two: medical treatment and a postponement.
    client.post(
        f"/meetings/{meeting.id}/mode?item={items[1].id}",
        data={
            "outcome": "MEDICAL_TREATMENT",
            "reasons": "Try pregabalin first",
            "action": "validate",
        },
    )
    client.post(
        f"/meetings/{meeting.id}/mode?item={items[2].id}",
        data={"outcome": "POSTPONED", "reasons": "Awaiting MRI", "action": "validate"},
    )
    page = soup(client.get(f"/meetings/{meeting.id}/mode"))
    assert "3 of 3 decided" in text(page)
    db.session.expire_all()
    statuses = [db.session.get(type(item.referral), item.referral_id).status for item in items]
    assert statuses == [CaseStatus.PLANNED, CaseStatus.CLOSED, CaseStatus.REFERRED]


def test_a_form_error_keeps_what_was_typed(chair_client):
    meeting, client = chair_client
    item = meeting.agenda[0]
    response = client.post(
        f"/meetings/{meeting.id}/mode?item={item.id}",
        data=decision_data(target="", reasons="Long careful reasons", action="validate"),
    )
    assert response.status_code == 422
    page = soup(response)
    assert "needs its target" in field_errors(page, "target")
    assert field_value(page, "reasons") == "Long careful reasons"
    assert db.session.query(Decision).count() == 0


def test_only_the_chair_sees_and_uses_the_validate_button(app, chair_client):
    meeting, _chair = chair_client
    other = app.test_client()
    colleague = radiologist()
    other.post("/login", data={"email": colleague.email, "password": PASSWORD})
    url = f"/meetings/{meeting.id}/mode?item={meeting.agenda[0].id}"
    page = soup(other.get(url))
    assert page.find("button", attrs={"value": "validate"}) is None
    response = other.post(url, data=decision_data(action="validate"))
    assert response.status_code == 422
    assert "Only the chair" in text(soup(response))
    decision = db.session.query(Decision).one_or_none()
    assert decision is None  # the refused validation saved nothing either


def test_clinicians_follow_meeting_mode_without_recording(app, chair_client):
    meeting, _chair = chair_client
    viewer = app.test_client()
    clinician = make_user(roles={Role.CLINICIAN})
    viewer.post("/login", data={"email": clinician.email, "password": PASSWORD})
    url = f"/meetings/{meeting.id}/mode"
    assert viewer.get(url).status_code == 200
    assert soup(viewer.get(url)).find(attrs={"name": "reasons"}) is None
    assert viewer.post(url, data=decision_data(action="save")).status_code == 403


def test_the_decision_sheet_pages(client, auth):
    decision = make_decision()
    auth.login_as(decision.meeting.chair)
    page = text(soup(client.get(f"/decisions/{decision.id}")))
    assert "Dr Karim Haddad" in page
    response = client.post(
        f"/decisions/{decision.id}/amend",
        data={
            "reasons": "Refractory after three injections.",
            "follows_guidelines": "yes",
            "amendment_reason": "Count corrected",
        },
    )
    assert response.status_code == 302
    page = text(soup(client.get(f"/decisions/{decision.id}")))
    assert "Reason: Count corrected" in page
    assert (
        "“Refractory neuroma pain after two injections.” → “Refractory after three injections.”"
        in page
    )
    refused = client.post(
        f"/decisions/{decision.id}/amend",
        data={"reasons": "Again", "amendment_reason": ""},
    )
    assert refused.status_code == 422


def test_patient_answer_plan_and_procedure_through_the_case_page(client, auth, clock):
    meeting = running_meeting()
    clock.set(datetime(2026, 11, 24, 18, 0, tzinfo=PARIS))
    decision = make_decision(meeting.agenda[0])
    clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=PARIS))
    auth.login_as(decision.meeting.chair)
    referral_id = decision.referral_id

    client.post(
        f"/decisions/{decision.id}/patient",
        data={
            "informed_on": "2026-11-26",
            "informed_by_id": str(meeting.chair_id),
            "patient_answer": "ACCEPTS",
        },
    )
    plan = decision.plan
    client.post(f"/plans/{plan.id}/prerequisites/consent_on", data={"done_on": "2026-11-26"})
    case_page = soup(client.get(f"/cases/{referral_id}"))
    assert "✓ Informed consent" in text(case_page.find(id="plan"))
    assert "Patient informed: Accepts" in text(case_page)

    bad = client.post(
        f"/plans/{plan.id}/procedure",
        data={
            "performed_on": "2026-11-20",
            "operator_ids": [str(meeting.chair_id)],
            "technique_id": str(technique("radiofrequency").id),
            "ae_description": "Bruising",
        },
    )
    assert bad.status_code == 422
    assert "cannot come before the decision" in field_errors(soup(bad), "performed_on")

    deviation = client.post(
        f"/plans/{plan.id}/procedure",
        data={
            "performed_on": "2026-12-01",
            "operator_ids": [str(meeting.chair_id)],
            "technique_id": str(technique("radiofrequency").id),
        },
    )
    assert "say why" in field_errors(soup(deviation), "deviation_reason")

    no_grade = client.post(
        f"/plans/{plan.id}/procedure",
        data={
            "performed_on": "2026-12-01",
            "operator_ids": [str(meeting.chair_id)],
            "technique_id": str(plan.technique_id),
            "ae_description": "Bruising",
        },
    )
    assert "CIRSE grade goes from 1 to 6" in field_errors(soup(no_grade), "ae_grade")

    done = client.post(
        f"/plans/{plan.id}/procedure",
        data={
            "performed_on": "2026-12-01",
            "operator_ids": [str(meeting.chair_id)],
            "technique_id": str(plan.technique_id),
            "cryo_cycles": "2",
            "immediate_result": "Numbness of the third web space",
            "ae_grade": "1",
            "ae_description": "Small haematoma",
        },
    )
    assert done.status_code == 302
    case_page = text(soup(client.get(f"/cases/{referral_id}")))
    assert "Treated" in case_page
    assert "Procedure: Cryoneurolysis" in case_page
    assert "Grade 1: resolved in the same session" in case_page


def test_only_radiologists_record_procedures(client, auth):
    decision = make_decision()
    auth.login_as(make_user(roles={Role.CLINICIAN}))
    assert client.get(f"/plans/{decision.plan.id}/procedure").status_code == 403
    assert client.get(f"/decisions/{decision.id}").status_code == 200


def test_meeting_mode_runs_the_same_queries_with_5_and_40_cases(client, auth, count_queries):
    small, large = (
        running_meeting(5),
        running_meeting(40, starts_at=datetime(2026, 12, 1, 17, 0, tzinfo=PARIS), capacity=50),
    )
    for meeting in (small, large):
        make_decision(meeting.agenda[0])
        make_decision(meeting.agenda[1], validate=False)
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    counts = []
    for meeting in (small, large):
        with count_queries() as counter:
            assert client.get(f"/meetings/{meeting.id}/mode").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]
    assert counts[1] <= 12
    assert (
        db.session.query(Decision).filter(Decision.status == DecisionStatus.VALIDATED).count() == 2
    )


def test_meeting_mode_runs_the_same_queries_with_and_without_a_patients_history(
    client, auth, count_queries
):
    """A patient treated before (procedures with operators and adverse events)
    costs no more queries than a new one."""
    meeting = running_meeting(2)
    new, known = meeting.agenda
    make_procedure(
        referral_values={"patient": known.referral.patient},
        adverse_event={"cirse_grade": 1, "description": "Bruise"},
    )
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    counts = []
    for item in (new, known):
        url = f"/meetings/{meeting.id}/mode?item={item.id}"
        with count_queries() as counter:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(counter.count)
    assert "CIRSE 1" in response.get_data(as_text=True)  # the history is on the page
    assert counts[0] == counts[1]
