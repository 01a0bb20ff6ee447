"""A patient's contact details: recorded through the service, edited on the
patient and contact pages and the referral form, shown on the case page."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests.factories import (
    contact_values,
    give_contact,
    make_patient,
    make_referral,
    make_user,
)
from tests.html import checked_values, field_errors, field_value, soup, text
from tracker.cases import services
from tracker.cases.contact import ContactChannel, ContactLanguage
from tracker.cases.models import Patient, Referral
from tracker.core.audit import AuditAction, AuditEntry
from tracker.core.audit_trail import field_label
from tracker.core.errors import DomainError, Forbidden
from tracker.core.fields import UnknownField
from tracker.extensions import db
from tracker.web.permissions import Role

MOBILE = "+33612345678"
LANDLINE = "+33199001234"


def patient_changes(patient: Patient) -> list[dict]:
    return [
        entry.changes
        for entry in db.session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.entity_type == "Patient",
                AuditEntry.entity_id == str(patient.id),
                AuditEntry.action == AuditAction.UPDATE,
            )
            .order_by(AuditEntry.id)
        )
    ]


def reloaded(patient: Patient) -> Patient:
    db.session.expire_all()
    return db.session.get(Patient, patient.id)


@pytest.fixture
def nurse():
    return make_user(roles={Role.CLINICIAN}, full_name="Claire Nurse")


# --- the service ------------------------------------------------------------------------


def test_contact_details_are_stored_normalised_with_the_consent_and_audited(app, nurse):
    patient = make_patient()
    services.update_contact(
        patient,
        contact_values(
            phone_1="0033 6 12 34 56 78",
            phone_2="+44 20 7946 0958",
            email=" Jeanne.Dupont@Example.FR",
            preferred_language=ContactLanguage.EN,
            preferred_channel=ContactChannel.SMS,
        ),
        by=nurse,
    )
    db.session.commit()
    patient = reloaded(patient)
    assert (patient.phone_1, patient.phone_2) == (MOBILE, "+442079460958")
    assert patient.email == "Jeanne.Dupont@example.fr"
    assert patient.preferred_language is ContactLanguage.EN
    assert patient.preferred_channel is ContactChannel.SMS
    assert (patient.contact_consent_on, patient.contact_consent_by_id) == (
        date(2026, 11, 20),
        nurse.id,
    )
    [changes] = patient_changes(patient)
    assert changes["phone_1"] == [None, MOBILE]
    assert changes["preferred_channel"] == [None, "SMS"]
    assert changes["contact_consent_by_id"] == [None, nurse.id]
    entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
    assert entry.patient_id == patient.id  # in the patient's history


def test_the_audit_trail_names_the_contact_fields_in_the_forms_words(app):
    assert field_label("Patient", "phone_1") == "Phone"
    assert field_label("Patient", "phone_2") == "Second phone"
    assert field_label("Patient", "preferred_channel") == "Preferred way to be contacted"
    assert field_label("Patient", "contact_consent_on") == "Agreed to be contacted on"
    assert field_label("Patient", "contact_consent_by_id") == "Consent to be contacted recorded by"


def test_consent_is_kept_as_first_recorded_and_withdrawn_when_unticked(app, clock, nurse):
    patient = give_contact(make_patient(), by=nurse)
    clock.advance(days=30)
    other = make_user(roles={Role.COORDINATOR})
    give_contact(patient, by=other, phone_1="01 99 00 12 34")
    patient = reloaded(patient)
    assert patient.phone_1 == LANDLINE
    assert (patient.contact_consent_on, patient.contact_consent_by_id) == (
        date(2026, 11, 20),
        nurse.id,
    )
    give_contact(patient, by=other, contact_consent=False)
    patient = reloaded(patient)
    assert (patient.contact_consent_on, patient.contact_consent_by_id) == (None, None)
    give_contact(patient, by=other)
    assert reloaded(patient).contact_consent_on == date(2026, 12, 20)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"phone_1": "06 12 34"}, "phone_1", "This French number cannot exist"),
        ({"phone_2": "call me"}, "phone_2", "This is not a phone number"),
        ({"email": "jeanne.dupont"}, "email", "has no domain"),
        ({"phone_2": "+33 6 12 34 56 78"}, "phone_2", "same number as the first phone"),
        (
            {"preferred_channel": ContactChannel.EMAIL},
            "preferred_channel",
            "Add the patient's e-mail address",
        ),
        (
            {"phone_1": "01 99 00 12 34", "preferred_channel": ContactChannel.SMS},
            "preferred_channel",
            "Text messages need a mobile number",
        ),
    ],
)
def test_bad_contact_details_are_refused_on_their_field_and_change_nothing(
    app, nurse, values, field, message
):
    patient = give_contact(make_patient(), by=nurse, phone_1="06 12 34 56 78")
    before = patient_changes(patient)
    with pytest.raises(DomainError) as refused:
        services.update_contact(patient, contact_values(**values), by=nurse)
    assert refused.value.field == field
    assert message in str(refused.value.message)
    db.session.rollback()
    assert reloaded(patient).phone_1 == MOBILE
    assert patient_changes(patient) == before


def test_a_single_number_is_the_first_one(app, nurse):
    patient = give_contact(make_patient(), by=nurse, phone_1=None, phone_2="06 12 34 56 78")
    assert (patient.phone_1, patient.phone_2) == (MOBILE, None)


def test_emptied_fields_are_erased_on_the_contact_form(app, nurse):
    patient = give_contact(make_patient(), by=nurse, email="a@example.fr")
    give_contact(patient, by=nurse, phone_1=None, email=None)
    assert (patient.phone_1, patient.email) == (None, None)


def test_a_referral_adds_to_a_known_patients_contact_and_erases_nothing(app, nurse):
    patient = give_contact(
        make_patient(), by=nurse, email="a@example.fr", preferred_channel=ContactChannel.PHONE
    )
    services.update_contact(
        patient,
        contact_values(phone_1=None, phone_2="01 99 00 12 34", contact_consent=False),
        by=nurse,
        keep_recorded=True,
    )
    assert (patient.phone_1, patient.phone_2, patient.email) == (MOBILE, LANDLINE, "a@example.fr")
    assert patient.preferred_channel is ContactChannel.PHONE
    assert patient.contact_consent_on == date(2026, 11, 20)


def test_a_referral_giving_a_recorded_number_again_changes_nothing(app, nurse):
    patient = give_contact(make_patient(), by=nurse, phone_2="01 99 00 12 34")
    before = patient_changes(patient)
    services.update_contact(
        patient,
        contact_values(phone_1="01 99 00 12 34", phone_2="06 12 34 56 78"),
        by=nurse,
        keep_recorded=True,
    )
    db.session.commit()
    assert (patient.phone_1, patient.phone_2) == (MOBILE, LANDLINE)
    assert patient_changes(patient) == before


def test_only_the_team_may_change_contact_details(app):
    patient = make_patient()
    admin = make_user(roles={Role.ADMIN})
    with pytest.raises(Forbidden):
        services.update_contact(patient, contact_values(), by=admin)


def test_a_name_the_contact_form_does_not_have_is_refused_loudly(app, nurse):
    patient = make_patient()
    with pytest.raises(UnknownField):
        services.update_contact(patient, contact_values(mrn="X1234"), by=nurse)


# --- the pages ----------------------------------------------------------------------------


def contact_form(**overrides):
    data = {
        "phone_1": "06 12 34 56 78",
        "phone_2": "",
        "email": "",
        "preferred_language": "FR",
        "preferred_channel": "PHONE",
        "contact_consent": "y",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def with_version(patient, data):
    """What the form sends: its fields and the version of the record it shows."""
    return {**data, "version": str(reloaded(patient).version)}


def identity_form(patient, **contact):
    """The identity page's form: the family name corrected, and the contact."""
    return {
        "mrn": patient.mrn,
        "last_name": "Dupond",
        "first_name": patient.first_name,
        "birth_on": patient.birth_on.isoformat(),
        "sex": patient.sex.name,
        **contact,
    }


def test_a_bad_number_is_shown_on_its_field_with_what_was_typed_and_nothing_changes(
    client, auth, nurse
):
    referral = make_referral()
    patient = give_contact(referral.patient, phone_1="01 99 00 12 34")
    before = patient_changes(patient)
    auth.login_as(nurse)
    response = client.post(
        f"/patients/{patient.id}/contact?case={referral.id}",
        data=with_version(patient, contact_form(phone_1="06 12 34 56", email="jeanne.dupont")),
    )
    assert response.status_code == 422
    page = soup(response)
    assert "This French number cannot exist" in field_errors(page, "phone_1")
    assert "has no domain" in field_errors(page, "email")
    assert field_value(page, "phone_1") == "06 12 34 56"
    assert field_value(page, "email") == "jeanne.dupont"
    assert field_value(page, "preferred_channel") == "PHONE"
    assert page.find(id="phone_1").get("aria-invalid") == "true"
    assert reloaded(patient).phone_1 == LANDLINE
    assert patient_changes(patient) == before


def test_a_refusal_of_the_service_is_shown_on_its_field_too(client, auth, nurse):
    patient = make_patient()
    auth.login_as(nurse)
    response = client.post(
        f"/patients/{patient.id}/contact",
        data=with_version(patient, contact_form(phone_1="01 99 00 12 34", preferred_channel="SMS")),
    )
    assert response.status_code == 422
    page = soup(response)
    assert "Text messages need a mobile number" in field_errors(page, "preferred_channel")
    assert field_value(page, "phone_1") == "01 99 00 12 34"
    assert reloaded(patient).phone_1 is None


def test_the_nurse_records_a_good_number_stored_as_e164_and_audited(client, auth, nurse):
    referral = make_referral()
    patient = referral.patient
    auth.login_as(nurse)
    form = soup(client.get(f"/patients/{patient.id}/contact?case={referral.id}"))
    assert form.find("label", attrs={"for": "phone_1"}).get_text(strip=True) == "Phone"
    assert form.find(id="phone_1")["type"] == "tel"
    response = client.post(
        f"/patients/{patient.id}/contact?case={referral.id}",
        data=with_version(
            patient, contact_form(phone_1="+33 6 12 34 56 78", preferred_language="EN")
        ),
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/cases/{referral.id}"
    patient = reloaded(patient)
    assert patient.phone_1 == MOBILE
    assert patient.preferred_language is ContactLanguage.EN
    assert (patient.contact_consent_on, patient.contact_consent_by_id) == (
        date(2026, 11, 20),
        nurse.id,
    )
    [changes] = patient_changes(patient)
    assert changes["phone_1"] == [None, MOBILE]
    entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
    assert (entry.entity_type, entry.actor_id) == ("Patient", nurse.id)
    history = text(soup(client.get(f"/cases/{referral.id}/history")))
    assert "Phone" in history
    assert MOBILE in history


def test_the_form_opens_on_the_numbers_as_people_read_them_and_saves_them_unchanged(
    client, auth, nurse
):
    patient = give_contact(make_patient(), by=nurse, phone_2="+44 20 7946 0958")
    auth.login_as(nurse)
    page = soup(client.get(f"/patients/{patient.id}/contact"))
    shown = {name: field_value(page, name) for name in ("phone_1", "phone_2")}
    assert shown == {"phone_1": "06 12 34 56 78", "phone_2": "+44 20 7946 0958"}
    assert checked_values(page, "contact_consent") == {"y"}
    assert "Agreed on 20 Nov 2026, recorded by Claire Nurse" in text(page)
    before = patient_changes(patient)
    response = client.post(
        f"/patients/{patient.id}/contact",
        data=with_version(
            patient, contact_form(**shown, preferred_language="", preferred_channel="")
        ),
    )
    assert response.status_code == 302
    assert patient_changes(patient) == before


def test_unticking_the_box_withdraws_the_consent(client, auth, nurse):
    patient = give_contact(make_patient(), by=nurse)
    auth.login_as(nurse)
    client.post(
        f"/patients/{patient.id}/contact",
        data=with_version(patient, contact_form(contact_consent=None)),
    )
    assert reloaded(patient).contact_consent_on is None


def test_the_identity_page_saves_the_contact_beside_the_identity(client, auth):
    referral = make_referral()
    patient = referral.patient
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    page = soup(client.get(f"/patients/{patient.id}/edit"))
    assert page.find(id="contact-fields") is not None
    response = client.post(
        f"/patients/{patient.id}/edit?case={referral.id}",
        data=with_version(patient, identity_form(patient, **contact_form(phone_1="0612345678"))),
    )
    assert response.status_code == 302
    patient = reloaded(patient)
    assert (patient.last_name, patient.phone_1) == ("Dupond", MOBILE)


def test_the_identity_page_keeps_the_identity_when_the_contact_is_refused(client, auth):
    patient = make_patient()
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    response = client.post(
        f"/patients/{patient.id}/edit",
        data=with_version(
            patient, identity_form(patient, **contact_form(phone_1="", preferred_channel="PHONE"))
        ),
    )
    assert response.status_code == 422
    assert "Add the patient's phone number" in field_errors(soup(response), "preferred_channel")
    assert reloaded(patient).last_name == "Dupont"


def test_clinicians_edit_contact_details_but_not_identities(client, auth, nurse):
    patient = make_patient()
    auth.login_as(nurse)
    assert client.get(f"/patients/{patient.id}/edit").status_code == 403
    assert client.get(f"/patients/{patient.id}/contact").status_code == 200


def test_a_new_referral_records_the_patients_contact(client, auth):
    from tests.cases.test_views import form_data

    user = make_user(roles={Role.RADIOLOGIST})
    auth.login_as(user)
    page = soup(client.get("/cases/new"))
    assert page.find(id="contact-fields") is not None
    response = client.post(
        "/cases/new", data=form_data(user, **contact_form(phone_1="06.12.34.56.78"))
    )
    assert response.status_code == 302
    patient = db.session.scalar(select(Patient).where(Patient.mrn == "80012345"))
    assert (patient.phone_1, patient.contact_consent_by_id) == (MOBILE, user.id)


def test_a_bad_number_on_a_new_referral_saves_no_case_and_no_patient(client, auth):
    from tests.cases.test_views import form_data

    user = make_user(roles={Role.RADIOLOGIST})
    auth.login_as(user)
    response = client.post("/cases/new", data=form_data(user, phone_1="06 12"))
    assert response.status_code == 422
    assert "This French number cannot exist" in field_errors(soup(response), "phone_1")
    assert db.session.scalar(select(func.count()).select_from(Referral)) == 0
    assert db.session.scalar(select(func.count()).select_from(Patient)) == 0


# --- the case page header -----------------------------------------------------------------


def test_the_case_header_shows_the_numbers_to_call_and_the_preferences(client, auth, nurse):
    referral = make_referral()
    give_contact(
        referral.patient,
        phone_2="+44 20 7946 0958",
        email="jeanne@example.fr",
        preferred_channel=ContactChannel.SMS,
        preferred_language=ContactLanguage.EN,
    )
    auth.login_as(nurse)
    header = soup(client.get(f"/cases/{referral.id}")).find(id="patient-contact")
    links = [(a["href"], a.get_text(strip=True)) for a in header.find_all("a")]
    assert links[:3] == [
        ("tel:+33612345678", "06 12 34 56 78"),
        ("tel:+442079460958", "+44 20 7946 0958"),
        ("mailto:jeanne@example.fr", "jeanne@example.fr"),
    ]
    assert "prefers: Text message (SMS), English" in text(header)
    assert "consent to be contacted not recorded" not in text(header)
    assert header.find("a", string="edit contact details")["href"] == (
        f"/patients/{referral.patient_id}/contact?case={referral.id}"
    )


def test_the_case_header_says_when_there_is_no_number_and_no_consent(client, auth, nurse):
    referral = make_referral()
    auth.login_as(nurse)
    header = text(soup(client.get(f"/cases/{referral.id}")).find(id="patient-contact"))
    assert "no phone number" in header
    assert "consent to be contacted not recorded" in header


def test_the_case_header_in_french(client, auth):
    referral = make_referral()
    give_contact(referral.patient, preferred_channel=ContactChannel.PHONE)
    auth.login_as(make_user(roles={Role.CLINICIAN}, locale="fr"))
    header = text(soup(client.get(f"/cases/{referral.id}")).find(id="patient-contact"))
    assert "06 12 34 56 78" in header
    assert "préfère\xa0: Appel téléphonique" in header
    assert "modifier les coordonnées" in header


def test_the_display_filter_is_there_for_every_template(app):
    template = app.jinja_env.from_string("{{ number | phone_display }}")
    assert template.render(number="+442079460958") == "+44 20 7946 0958"
    assert template.render(number=None) == ""
