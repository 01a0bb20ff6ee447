"""The referral form, the case page and edits, through the browser's eyes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.factories import first_indication, make_referral, make_user
from tests.html import checked_values, field_errors, field_value, soup, text
from tracker.cases.models import Patient, Referral
from tracker.cases.rules import CaseStatus
from tracker.core.specialties import Specialty
from tracker.extensions import db
from tracker.web.permissions import Role


def referral_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Referral))


@pytest.fixture
def radiologist(auth):
    user = make_user(
        roles={Role.RADIOLOGIST},
        specialty=Specialty.INTERVENTIONAL_RADIOLOGY,
        full_name="Dr Julien Moreau",
        email="julien.moreau@hospital.test",
    )
    auth.login_as(user)
    return user


def form_data(referrer, **overrides):
    data = {
        "mrn": "80012345",
        "last_name": "Lefèvre",
        "first_name": "Éloïse",
        "birth_on": "1958-02-03",
        "sex": "FEMALE",
        "referrer_id": str(referrer.id),
        "external_referrer": "Dr Martin, GP, Villeurbanne",
        "referral_on": "2026-11-18",
        "urgency": "ROUTINE",
        "indication_id": str(first_indication().id),
        "pain_site": "Left foot, third web space",
        "pain_side": "LEFT",
        "mechanism": "NEUROPATHIC",
        "pain_duration_months": "18",
        "nrs_now": "7",
        "nrs_average": "6",
        "nrs_worst": "9",
        "dn4": "6",
        "treatments_tried": ["NON_OPIOID_ANALGESICS", "INFILTRATIONS"],
        "treatments_other": "Two steroid injections",
        "anticoagulation": "ANTIPLATELET",
        "anticoagulation_details": "Aspirin 75 mg",
        "allergies": "Iodine",
        "imaging": "Ultrasound: 8 mm neuroma",
        "question": "Cryoneurolysis of the neuroma?",
        "patient_agreed_on": "2026-11-18",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_a_complete_referral_is_created_and_shown(client, radiologist):
    response = client.post("/cases/new", data=form_data(radiologist))
    assert response.status_code == 302
    referral = db.session.scalar(select(Referral))
    assert response.headers["Location"] == f"/cases/{referral.id}"
    assert referral.status is CaseStatus.REFERRED
    assert referral.treatments_tried == ["NON_OPIOID_ANALGESICS", "INFILTRATIONS"]
    page = text(soup(client.get(f"/cases/{referral.id}")))
    for expected in (
        "RCP-2026-0001",
        "LEFÈVRE Éloïse",
        "80012345",
        "Referred, waiting for a meeting",
        "Left foot, third web space",
        "7 / 6 / 9",
        "Antiplatelet therapy: Aspirin 75 mg",
        "Iodine",
        "Cryoneurolysis of the neuroma?",
        "Dr Julien Moreau",
        "Referral registered",
    ):
        assert expected in page, expected


def test_the_new_form_proposes_today_and_the_user_as_referrer(client, radiologist):
    page = soup(client.get("/cases/new"))
    assert field_value(page, "referral_on") == "2026-11-20"
    assert field_value(page, "referrer_id") == str(radiologist.id)
    assert field_value(page, "urgency") == "ROUTINE"


def test_an_incomplete_referral_is_saved_as_a_draft_listing_what_is_missing(client, radiologist):
    response = client.post(
        "/cases/new", data=form_data(radiologist, question="", patient_agreed_on="", nrs_worst="")
    )
    assert response.status_code == 302
    page = soup(client.get(response.headers["Location"]))
    assert "Draft" in text(page)
    missing = text(page.find(id="missing-fields"))
    assert "Worst pain (NRS 0-10)" in missing
    assert "Question put to the meeting" in missing
    assert "Date the patient agreed" in missing


@pytest.mark.parametrize(
    ("locale", "heading", "label"),
    [(None, "There is a problem", "Pain now"), ("fr", "Il y a un problème", "Douleur actuelle")],
)
def test_a_refused_referral_opens_on_a_summary_linking_to_each_field_in_error(
    client, auth, locale, heading, label
):
    user = make_user(roles={Role.RADIOLOGIST}, locale=locale)
    auth.login_as(user)
    response = client.post(
        "/cases/new", data=form_data(user, nrs_now="11", sex="", treatments_tried=["NOPE"])
    )
    assert response.status_code == 422
    page = soup(response)
    summary = page.find(attrs={"data-error-summary": True})
    # First in the page's main content, before the form, and focusable by the script.
    assert summary.find_next("form") is not None
    assert summary["role"] == "alert"
    assert summary["tabindex"] == "-1"
    assert heading in text(summary.find(["h2"]))
    links = {a["href"]: text(a) for a in summary.find_all("a")}
    assert set(links) == {"#nrs_now", "#sex", "#treatments_tried"}
    assert label in links["#nrs_now"]
    for href, message in links.items():
        target = page.find(id=href[1:])
        assert target is not None
        assert target is not summary
        # The field says it is wrong and points at its message, which the link repeats.
        described = target["aria-describedby"].split()
        assert f"{target['id']}-error" in described
        error = text(page.find(id=f"{target['id']}-error"))
        assert error
        assert error in message
        if target.name != "fieldset":
            assert target["aria-invalid"] == "true"
    assert "10" in links["#nrs_now"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mrn", "12-34", "does not have the expected form"),
        ("birth_on", "2030-01-01", "birth date is in the future"),
        ("birth_on", "1890-01-01", "more than 120 years ago"),
        ("nrs_now", "11", "between 0 and 10"),
        ("nrs_average", "6.5", "Not a valid integer value"),
        ("dn4", "-1", "between 0 and 10"),
        ("referral_on", "2026-11-21", "in the future"),
        ("referral_on", "21/11/2026", "Not a valid date value"),
        ("referral_on", "1900-01-01", "before 2000: check the year"),
        ("patient_agreed_on", "1999-12-31", "before 2000: check the year"),
        ("patient_agreed_on", "2026-11-21", "in the future"),
        ("pain_site", "x" * 201, "longer than 200 characters"),
        ("question", "x" * 4001, "longer than 4000 characters"),
        ("pain_side", "UPSIDE", "Not a valid choice"),
        ("indication_id", "99999", "Not a valid choice"),
        ("sex", "", "This field is required."),
    ],
)
def test_bad_input_is_shown_on_its_field_keeps_the_rest_and_saves_nothing(
    client, radiologist, field, value, message
):
    response = client.post("/cases/new", data=form_data(radiologist, **{field: value}))
    assert response.status_code == 422
    page = soup(response)
    assert message in field_errors(page, field)
    assert field_value(page, "pain_site" if field != "pain_site" else "question") is not None
    assert field_value(page, "last_name") == "Lefèvre"
    assert checked_values(page, "treatments_tried") == {"NON_OPIOID_ANALGESICS", "INFILTRATIONS"}
    assert "nothing has been saved" in text(page)
    assert referral_count() == 0
    assert db.session.scalar(select(func.count()).select_from(Patient)) == 0


def test_a_consent_before_the_patients_birth_is_refused_and_the_input_kept(client, radiologist):
    data = form_data(radiologist, birth_on="2005-05-05", patient_agreed_on="2003-01-01")
    response = client.post("/cases/new", data=data)
    assert response.status_code == 422
    page = soup(response)
    assert "before the patient's birth date" in field_errors(page, "patient_agreed_on")
    assert field_value(page, "patient_agreed_on") == "2003-01-01"
    assert referral_count() == 0


def test_a_known_hospital_number_with_another_name_is_refused_then_confirmed(client, radiologist):
    make_referral(patient=None)  # someone else
    assert client.post("/cases/new", data=form_data(radiologist)).status_code == 302
    before = referral_count()

    response = client.post("/cases/new", data=form_data(radiologist, first_name="Elise"))
    assert response.status_code == 422
    page = soup(response)
    assert "already belongs to LEFÈVRE Éloïse" in field_errors(page, "mrn")
    assert page.find(attrs={"name": "use_existing_patient"}) is not None
    assert field_value(page, "first_name") == "Elise"
    assert referral_count() == before

    response = client.post(
        "/cases/new",
        data=form_data(radiologist, first_name="Elise", use_existing_patient="y", save_anyway="y"),
    )
    assert response.status_code == 302
    patients = db.session.scalars(select(Patient).where(Patient.mrn == "80012345")).all()
    assert [p.first_name for p in patients] == ["Éloïse"]
    assert len(patients[0].referrals) == 2


def test_admins_without_a_clinical_role_see_no_cases(client, auth):
    referral = make_referral()
    auth.login_as(make_user(roles={Role.ADMIN}))
    for url in ("/cases", "/cases/new", f"/cases/{referral.id}", f"/cases/{referral.id}/edit"):
        assert client.get(url).status_code == 403, url


def test_a_clinician_edits_their_own_referrals_only(client, auth):
    clinician = make_user(roles={Role.CLINICIAN})
    own = make_referral(referrer_id=clinician.id)
    other = make_referral()
    auth.login_as(clinician)
    assert client.get(f"/cases/{own.id}/edit").status_code == 200
    assert client.get(f"/cases/{other.id}/edit").status_code == 403
    assert client.post(f"/cases/{other.id}/withdraw", data={"reason": "x"}).status_code == 403
    page = soup(client.get(f"/cases/{other.id}"))
    assert page.find("a", string="Edit the referral sheet") is None


def test_coordinators_edit_any_referral(client, auth):
    referral = make_referral(question=None)
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    page = soup(client.get(f"/cases/{referral.id}/edit"))
    data = {
        field["name"]: field.get("value", "")
        for field in page.find_all("input")
        if field.get("name") and field.get("type") not in ("checkbox",)
    }
    for select_ in page.find_all("select"):
        chosen = select_.find("option", selected=True)
        data[select_["name"]] = chosen["value"] if chosen else ""
    data["treatments_tried"] = list(checked_values(page, "treatments_tried"))
    data["question"] = "Radiofrequency?"
    data.pop("csrf_token", None)
    response = client.post(f"/cases/{referral.id}/edit", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    updated = db.session.get(Referral, referral.id)
    assert updated.question == "Radiofrequency?"
    assert updated.status is CaseStatus.REFERRED
    assert updated.nrs_now == 7  # untouched fields kept


def edit_data(page_soup) -> dict:
    data = {}
    for field in page_soup.find_all(["input", "textarea", "select"]):
        name = field.get("name")
        if not name or name == "csrf_token":
            continue
        if field.name == "select":
            chosen = field.find("option", selected=True)
            data[name] = chosen["value"] if chosen else ""
        elif field.name == "textarea":
            data[name] = field.get_text()
        elif field.get("type") == "checkbox":
            if field.has_attr("checked"):
                data.setdefault(name, []).append(field["value"])
        else:
            data[name] = field.get("value", "")
    return data


def test_two_editors_conflict_visibly_and_nothing_is_lost(app, client, auth):
    referral = make_referral()
    first = app.test_client()
    first.post(
        "/login",
        data={
            "email": make_user(roles={Role.COORDINATOR}, email="sophie@hospital.test").email,
            "password": "a long enough test password",
        },
    )
    auth.login_as(make_user(roles={Role.RADIOLOGIST}, email="julien@hospital.test"))

    mine = edit_data(soup(client.get(f"/cases/{referral.id}/edit")))
    theirs = edit_data(soup(first.get(f"/cases/{referral.id}/edit")))

    theirs["nrs_now"] = "8"
    assert first.post(f"/cases/{referral.id}/edit", data=theirs).status_code == 302

    mine["pain_site"] = "Left foot, between 3rd and 4th toes"
    response = client.post(f"/cases/{referral.id}/edit", data=mine)
    assert response.status_code == 409
    page = soup(response)
    warning = text(page.find(id="edit-conflict"))
    assert "Someone else saved this case" in text(page)
    assert "Pain now (NRS 0-10): “7” → “8” (sophie@hospital.test" in warning
    assert field_value(page, "pain_site") == "Left foot, between 3rd and 4th toes"
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).pain_site == "Left foot, third web space"

    # Saving again, knowingly, goes through.
    again = edit_data(page)
    assert client.post(f"/cases/{referral.id}/edit", data=again).status_code == 302
    db.session.expire_all()
    saved = db.session.get(Referral, referral.id)
    assert saved.pain_site == "Left foot, between 3rd and 4th toes"
    assert saved.nrs_now == 7  # the second editor's form still said 7, and they chose to keep it


def test_withdrawal_asks_for_a_reason(client, radiologist):
    referral = make_referral(referrer_id=radiologist.id)
    assert client.get(f"/cases/{referral.id}/withdraw").status_code == 200
    response = client.post(f"/cases/{referral.id}/withdraw", data={"reason": ""})
    assert response.status_code == 422
    response = client.post(f"/cases/{referral.id}/withdraw", data={"reason": "Pain resolved"})
    assert response.status_code == 302
    page = text(soup(client.get(f"/cases/{referral.id}")))
    assert "Withdrawn: Pain resolved" in page


def test_the_case_page_is_french_for_a_french_user(client, auth):
    referral = make_referral(question=None)
    auth.login_as(make_user(roles={Role.COORDINATOR}, locale="fr"))
    page = text(soup(client.get(f"/cases/{referral.id}")))
    assert "Brouillon" in page
    assert "Névrome de Morton" in page
    assert "Question posée à la réunion" in page


def test_patient_identity_correction(client, auth):
    referral = make_referral()
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    patient = referral.patient
    response = client.post(
        f"/patients/{patient.id}/edit?case={referral.id}",
        data={
            "mrn": patient.mrn,
            "last_name": "Dupond",
            "first_name": patient.first_name,
            "birth_on": "1961-04-12",
            "sex": "FEMALE",
            "version": str(patient.version),
        },
    )
    assert response.headers["Location"] == f"/cases/{referral.id}"
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).last_name == "Dupond"


def test_clinicians_cannot_correct_identities(client, auth):
    referral = make_referral()
    auth.login_as(make_user(roles={Role.CLINICIAN}))
    assert client.get(f"/patients/{referral.patient_id}/edit").status_code == 403


def test_unknown_case_is_404(client, radiologist):
    assert client.get("/cases/424242").status_code == 404


def test_the_refusal_dates_the_other_patient_in_words(client, radiologist):
    # In French a date inside a sentence is written out, never as 1958-02-03.
    assert client.post("/cases/new", data=form_data(radiologist)).status_code == 302
    response = client.post(
        "/cases/new",
        data=form_data(radiologist, first_name="Elise"),
        headers={"Accept-Language": "fr"},
    )
    assert response.status_code == 422
    error = field_errors(soup(response), "mrn")
    assert "dont la date de naissance est le 3 février 1958" in error
    assert "1958-02-03" not in error


def test_the_case_header_says_born_as_the_patient_is(client, radiologist):
    from datetime import date

    from tests.factories import make_patient
    from tracker.cases.models import Sex

    woman = make_referral(patient=make_patient(sex=Sex.FEMALE, birth_on=date(1961, 4, 1)))
    man = make_referral(patient=make_patient(sex=Sex.MALE, birth_on=date(1961, 4, 12)))
    other = make_referral(patient=make_patient(sex=Sex.UNDETERMINED))
    french = {"Accept-Language": "fr"}
    page = text(soup(client.get(f"/cases/{woman.id}", headers=french)))
    assert "née le 1er avr. 1961" in page
    assert "né(e)" not in page
    assert "né le 12 avr. 1961" in text(soup(client.get(f"/cases/{man.id}", headers=french)))
    assert "date de naissance\xa0: " in text(soup(client.get(f"/cases/{other.id}", headers=french)))
    assert "born 12 Apr 1961" in text(soup(client.get(f"/cases/{man.id}")))
