"""Meeting mode, the decision pages, plans and procedures through the browser's eyes."""

from __future__ import annotations

import re
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
from tracker.decisions.models import Decision, DecisionStatus, Procedure, ProcedurePlan
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
    asked = client.post(
        url, data=decision_data(action="validate", version=field_value(resumed, "version"))
    )
    # Saved, then the chair confirms on a page of its own: nothing validated yet.
    decision = db.session.query(Decision).one()
    assert asked.headers["Location"].endswith(f"/decisions/{decision.id}/validate")
    assert decision.status is DecisionStatus.DRAFT
    confirm = soup(client.get(asked.headers["Location"]))
    assert "This cannot be undone." in text(confirm)
    assert "The case then becomes “Procedure planned”." in text(confirm)
    validated = client.post(
        asked.headers["Location"], data={"version": field_value(confirm, "version")}
    )
    assert validated.headers["Location"].endswith(f"item={items[1].id}")

    # The other two: medical treatment and a postponement.
    for item, data in (
        (items[1], {"outcome": "MEDICAL_TREATMENT", "reasons": "Try pregabalin first"}),
        (items[2], {"outcome": "POSTPONED", "reasons": "Awaiting MRI"}),
    ):
        asked = client.post(
            f"/meetings/{meeting.id}/mode?item={item.id}", data={**data, "action": "validate"}
        )
        confirm = soup(client.get(asked.headers["Location"]))
        client.post(asked.headers["Location"], data={"version": field_value(confirm, "version")})
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

    answer = {
        "informed_on": "2026-11-26",
        "informed_by_id": str(meeting.chair_id),
        "patient_answer": "ACCEPTS",
    }
    # The patient accepts: the form asks about the informed consent.
    asked = client.post(f"/decisions/{decision.id}/patient", data=answer)
    assert asked.status_code == 422
    assert "say whether they signed" in field_errors(soup(asked), "consent_signed")
    client.post(f"/decisions/{decision.id}/patient", data={**answer, "consent_signed": "yes"})
    plan = decision.plan
    case_page = soup(client.get(f"/cases/{referral_id}"))
    assert "✓ Informed consent (26 Nov 2026)" in text(case_page.find(id="plan"))
    assert "Patient informed: Accepts" in text(case_page)
    # Consent recorded: not asked again.
    assert (
        soup(client.get(f"/decisions/{decision.id}/patient")).find(attrs={"name": "consent_signed"})
        is None
    )

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
    refusal = field_errors(soup(bad), "performed_on")
    assert "cannot come before the decision" in refusal
    # The decision's day in words, as in any sentence: never ISO.
    assert not re.search(r"\d{4}-\d{2}-\d{2}", refusal)

    deviation = client.post(
        f"/plans/{plan.id}/procedure",
        data={
            "performed_on": "2026-12-01",
            "operator_ids": [str(meeting.chair_id)],
            "technique_id": str(technique("radiofrequency").id),
        },
    )
    assert "say why" in field_errors(soup(deviation), "deviation_reason")

    # Consent is ticked; the others are said done (a date) or not (why).
    prerequisites = {
        "blood_tests_on": "2026-11-30",
        "anticoagulation_managed_on_why_not": "No anticoagulant or antiplatelet therapy",
        "fasting_on_why_not": "Local anaesthesia",
    }
    no_grade = client.post(
        f"/plans/{plan.id}/procedure",
        data={
            "performed_on": "2026-12-01",
            "operator_ids": [str(meeting.chair_id)],
            "technique_id": str(plan.technique_id),
            "ae_description": "Bruising",
            **prerequisites,
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
            **prerequisites,
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
    assert "✓ Blood tests (30 Nov 2026)" in case_page
    skipped = "Not done before the procedure: Fasting instructions (when sedated) (Local anaes"
    assert skipped in case_page


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
    # 12, then 3 more: the readings of the patient (one query) and the record of
    # the opening (the chain's head, the entry).
    assert counts[1] <= 15
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


# --- confirmations and the chair's sheet ------------------------------------------------


def test_validating_is_confirmed_on_a_page_of_its_own(app, chair_client):
    meeting, client = chair_client
    item = meeting.agenda[0]
    asked = client.post(
        f"/meetings/{meeting.id}/mode?item={item.id}", data=decision_data(action="validate")
    )
    decision = db.session.query(Decision).one()
    confirm_url = f"/decisions/{decision.id}/validate"
    assert asked.headers["Location"] == confirm_url
    page = soup(client.get(confirm_url))
    assert "Third common digital nerve" in text(page)
    assert "Dr Karim Haddad" in text(page)  # who decides
    # Someone saves the draft meanwhile: the chair validates only what they read.
    version = field_value(page, "version")
    colleague = app.test_client()
    colleague.post("/login", data={"email": radiologist().email, "password": PASSWORD})
    colleague.post(
        f"/meetings/{meeting.id}/mode?item={item.id}",
        data=decision_data(reasons="Changed meanwhile", action="save", version=version),
    )
    stale = client.post(confirm_url, data={"version": version}, follow_redirects=True)
    assert "changed since you read it" in text(soup(stale))
    db.session.expire_all()
    assert db.session.get(Decision, decision.id).status is DecisionStatus.DRAFT
    # Only the chair confirms.
    assert colleague.get(confirm_url).status_code == 403
    assert colleague.post(confirm_url, data={"version": version}).status_code == 403
    page = soup(client.get(confirm_url))
    done = client.post(confirm_url, data={"version": field_value(page, "version")})
    assert done.headers["Location"].endswith(f"item={meeting.agenda[1].id}")
    db.session.expire_all()
    assert db.session.get(Decision, decision.id).status is DecisionStatus.VALIDATED
    again = client.get(confirm_url, follow_redirects=True)
    assert "already validated" in text(soup(again))


def test_the_chair_signs_the_attendance_sheet_from_meeting_mode(app, clock):
    meeting = running_meeting(2, sign_attendance=False)
    chair = app.test_client()
    chair.post("/login", data={"email": meeting.chair.email, "password": PASSWORD})
    url = f"/meetings/{meeting.id}/mode?item={meeting.agenda[1].id}"
    # Before the sheet is signed, a validation is refused on the form, and nothing is kept.
    refused = chair.post(url, data=decision_data(action="validate"))
    assert refused.status_code == 422
    assert "attendance sheet first" in text(soup(refused))
    assert db.session.query(Decision).count() == 0
    banner = soup(chair.get(url)).find(id="attendance-sheet")
    assert "Dr Karim Haddad" in text(banner)
    back = banner.find("input", {"name": "next"})["value"]
    signed = chair.post(banner.find("form")["action"], data={"next": back})
    assert signed.headers["Location"] == url  # back on the same case
    page = soup(chair.get(url))
    assert page.find(id="attendance-sheet") is None
    asked = chair.post(url, data=decision_data(action="validate"))
    assert asked.status_code == 302
    assert "/validate" in asked.headers["Location"]


def test_only_the_chair_is_offered_the_attendance_sheet(app):
    meeting = running_meeting(sign_attendance=False)
    other = app.test_client()
    other.post("/login", data={"email": radiologist().email, "password": PASSWORD})
    banner = soup(other.get(f"/meetings/{meeting.id}/mode")).find(id="attendance-sheet")
    assert "not validated yet" in text(banner)
    assert banner.find("form") is None


def test_the_confirmation_says_why_it_cannot_validate(client, auth):
    meeting = running_meeting(sign_attendance=False)
    decision = make_decision(meeting.agenda[0], validate=False)
    auth.login_as(meeting.chair)
    page = soup(client.get(f"/decisions/{decision.id}/validate"))
    assert "attendance sheet first" in text(page.find(id="refusal"))
    assert page.find("button", string="Validate the decision") is None
    client.post(f"/decisions/{decision.id}/validate", data={"version": str(decision.version)})
    db.session.expire_all()
    assert db.session.get(Decision, decision.id).status is DecisionStatus.DRAFT


# --- safety facts, and the procedure's prerequisites --------------------------------------


def anticoagulated_decision(clock):
    from tracker.cases.models import Anticoagulation

    meeting = running_meeting()
    referral = meeting.agenda[0].referral
    referral.anticoagulation = Anticoagulation.ANTICOAGULANT
    referral.anticoagulation_details = "Apixaban 5 mg twice daily"
    referral.allergies = "Iodinated contrast"
    db.session.commit()
    clock.set(datetime(2026, 11, 24, 18, 0, tzinfo=PARIS))
    decision = make_decision(meeting.agenda[0], validate=False)
    return meeting, decision


def badges(page) -> dict[str, str]:
    return {
        badge["data-safety"]: text(badge)
        for badge in page.find(id="safety-facts").find_all(attrs={"data-safety": True})
    }


def test_safety_facts_are_badges_with_words_wherever_the_case_is_planned(client, auth, clock):
    meeting, decision = anticoagulated_decision(clock)
    auth.login_as(meeting.chair)
    expected = {
        "anticoagulation": "⚠ Anticoagulant therapy: Apixaban 5 mg twice daily",
        "allergy": "⚠ Allergy: Iodinated contrast",
    }
    assert badges(soup(client.get(f"/meetings/{meeting.id}/mode"))) == expected
    assert badges(soup(client.get(f"/decisions/{decision.id}/validate"))) == expected
    client.post(f"/decisions/{decision.id}/validate", data={"version": str(decision.version)})
    assert badges(soup(client.get(f"/cases/{decision.referral_id}"))) == expected
    assert badges(soup(client.get(f"/plans/{decision.plan.id}/edit"))) == expected
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=PARIS))
    auth.login_as(meeting.chair)  # days later: a new login
    assert badges(soup(client.get(f"/plans/{decision.plan.id}/procedure"))) == expected
    for url in (f"/meetings/{meeting.id}", f"/meetings/{meeting.id}/print"):
        row = soup(client.get(url)).find("tbody")
        assert "Anticoagulant therapy: Apixaban" in text(row)
        assert "Allergy: Iodinated contrast" in text(row)


def test_recording_a_procedure_without_consent_is_refused_on_the_field(client, auth, clock):
    meeting, decision = anticoagulated_decision(clock)
    from tracker.decisions import services

    services.validate(decision, by=meeting.chair)
    db.session.commit()
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=PARIS))
    auth.login_as(meeting.chair)
    url = f"/plans/{decision.plan.id}/procedure"
    form = soup(client.get(url)).find(id="prerequisites")
    # Asked of each item unticked on the plan: a date, or why not.
    assert [item["data-prerequisite"] for item in form.find_all(class_="prerequisite")] == [
        "anticoagulation_managed_on",
        "consent_on",
        "blood_tests_on",
        "fasting_on",
    ]
    data = {
        "performed_on": "2026-12-01",
        "operator_ids": [str(meeting.chair_id)],
        "technique_id": str(decision.plan.technique_id),
        "anticoagulation_managed_on": "2026-11-28",
        "consent_on_why_not": "Agreed on the phone",
        "blood_tests_on": "2026-11-28",
        "fasting_on_why_not": "Local anaesthesia",
    }
    refused = client.post(url, data=data)
    assert refused.status_code == 422
    page = soup(refused)
    assert "consent must be recorded before the procedure" in field_errors(page, "consent_on")
    assert field_value(page, "consent_on_why_not") == "Agreed on the phone"  # kept
    db.session.expire_all()
    assert db.session.query(Procedure).count() == 0
    assert db.session.get(ProcedurePlan, decision.plan.id).anticoagulation_managed_on is None

    # A site that relaxed it records the procedure with the reason, and warns.
    from tracker.core.settings import set_setting
    from tracker.decisions.settings import CONSENT_REQUIRED

    set_setting(CONSENT_REQUIRED, 0)
    db.session.commit()
    recorded = client.post(url, data=data, follow_redirects=True)
    assert "Recorded without the patient's consent: Agreed on the phone" in text(soup(recorded))
    procedure = db.session.query(Procedure).one()
    assert procedure.prerequisites_not_done == {
        "consent_on": "Agreed on the phone",
        "fasting_on": "Local anaesthesia",
    }


def test_meeting_mode_times_each_case_and_lists_its_shortcuts(chair_client):
    meeting, client = chair_client
    first, middle, last = meeting.agenda
    middle.minutes = 12
    db.session.commit()

    page = soup(client.get(f"/meetings/{meeting.id}/mode?item={middle.id}"))
    # The timer: the minutes allotted, even without script; the script counts.
    timer = page.find(id="case-timer")
    assert timer["data-minutes"] == "12"
    assert timer["data-item"] == str(middle.id)
    assert "12 minutes allotted" in text(timer)
    assert page.find("script", src="/static/js/meeting_room.js") is not None
    # Previous and next case, as links (Alt+P, Alt+N), and the shortcuts listed.
    mode = f"/meetings/{meeting.id}/mode"
    assert page.find(id="previous-case")["href"] == f"{mode}?item={first.id}"
    assert page.find(id="next-case")["href"] == f"{mode}?item={last.id}"
    listed = text(page.find(id="shortcuts"))
    for keys in ("Alt + N", "Alt + P", "Alt + S", "Alt + V"):
        assert keys in listed
    assert page.find("button", value="save")["aria-keyshortcuts"] == "Alt+S"
    assert page.find("button", value="validate")["aria-keyshortcuts"] == "Alt+V"

    # The first case has no previous one, the last no next one.
    assert soup(client.get(f"{mode}?item={first.id}")).find(id="previous-case") is None
    assert soup(client.get(f"{mode}?item={last.id}")).find(id="next-case") is None


def _issued_key(client, url: str) -> str:
    return soup(client.get(url)).find(attrs={"name": "once_key"})["value"]


def _count(model) -> int:
    from sqlalchemy import func, select

    return db.session.scalar(select(func.count()).select_from(model))


def _twice(client, url: str, data: dict) -> None:
    """The same form sent twice leads both times to the same page."""
    data = {**data, "once_key": _issued_key(client, url)}
    first = client.post(url, data=data)
    second = client.post(url, data=data)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]


def test_the_amendment_form_sent_twice_records_one_amendment(client, auth):
    from tracker.decisions.models import DecisionAmendment

    decision = make_decision()
    auth.login_as(decision.meeting.chair)
    data = {
        "reasons": "Refractory after three injections.",
        "follows_guidelines": "yes",
        "amendment_reason": "Count corrected",
    }
    _twice(client, f"/decisions/{decision.id}/amend", data)
    assert _count(DecisionAmendment) == 1


def test_the_procedure_form_sent_twice_records_one_procedure(client, auth, clock):
    meeting = running_meeting()
    clock.set(datetime(2026, 11, 24, 18, 0, tzinfo=PARIS))
    decision = make_decision(meeting.agenda[0])
    clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=PARIS))
    auth.login_as(decision.meeting.chair)
    client.post(
        f"/decisions/{decision.id}/patient",
        data={
            "informed_on": "2026-11-26",
            "informed_by_id": str(meeting.chair_id),
            "patient_answer": "ACCEPTS",
            "consent_signed": "yes",
        },
    )
    plan = decision.plan
    data = {
        "performed_on": "2026-12-01",
        "operator_ids": [str(meeting.chair_id)],
        "technique_id": str(plan.technique_id),
        "cryo_cycles": "2",
        "blood_tests_on": "2026-11-30",
        "anticoagulation_managed_on_why_not": "No anticoagulant or antiplatelet therapy",
        "fasting_on_why_not": "Local anaesthesia",
    }
    _twice(client, f"/plans/{plan.id}/procedure", data)
    assert _count(Procedure) == 1


def test_the_adverse_event_form_sent_twice_records_one_event(client, auth):
    from tracker.decisions.models import AdverseEvent

    procedure = make_procedure()
    auth.login_as(make_user(roles={Role.RADIOLOGIST}))
    before = _count(AdverseEvent)
    _twice(
        client,
        f"/procedures/{procedure.id}/adverse-events",
        {"cirse_grade": "2", "description": "Late haematoma"},
    )
    assert _count(AdverseEvent) == before + 1
