"""A referral started from the hospital record: a FHIR Patient (or a Bundle)
pasted, uploaded or fetched from the hospital's FHIR server prefills the form,
and saving it makes the same patient as typing would."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from tests.factories import first_indication, make_patient, make_user
from tests.html import field_errors, field_value, soup, text
from tracker.cases.models import Patient, Referral
from tracker.core.audit import AuditEntry
from tracker.core.specialties import Specialty
from tracker.extensions import db
from tracker.fhir.resources import identifier_system
from tracker.web.permissions import Role

SITE = "urn:oid:1.2.250.1.999.1.1"
OTHER = "urn:oid:1.2.250.1.213.1.4.8"  # another hospital's numbers


@pytest.fixture
def radiologist(auth, app, monkeypatch):
    monkeypatch.setitem(app.config, "FHIR_IDENTIFIER_SYSTEM", SITE)
    user = make_user(
        roles={Role.RADIOLOGIST},
        specialty=Specialty.INTERVENTIONAL_RADIOLOGY,
        full_name="Dr Julien Moreau",
        email="julien.moreau@hospital.test",
    )
    auth.login_as(user)
    return user


def patient_resource(**overrides: Any) -> dict[str, Any]:
    resource = {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [
            # Another hospital's number, of type MR too, listed first.
            {"type": {"coding": [{"code": "MR"}]}, "system": OTHER, "value": "2580275123456"},
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                    ]
                },
                "system": SITE,
                "value": "80012345",
            },
        ],
        "name": [
            {"use": "maiden", "family": "Durand", "given": ["Éloïse"]},
            {"use": "official", "family": "Lefèvre", "given": ["Éloïse", "Anaïs"]},
        ],
        "gender": "female",
        "birthDate": "1958-02-03",
    }
    resource.update(overrides)
    return resource


def bundle(*resources: dict[str, Any], kind: str = "collection") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [{"resource": resource} for resource in resources],
    }


def referral_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Referral))


def patient_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Patient))


def submitted(page: Any) -> dict[str, Any]:
    """What a browser sends when the user presses Save on this page."""
    form = page.find(attrs={"name": "once_key"}).find_parent("form")
    data: dict[str, Any] = {}
    for element in form.find_all(["input", "select", "textarea"]):
        name = element.get("name")
        if not name or name.startswith("record-") or element.get("type") == "file":
            continue
        if element.get("type") in ("checkbox", "radio"):
            if element.has_attr("checked"):
                data.setdefault(name, []).append(element.get("value", "y"))
            continue
        data[name] = field_value(page, name) or ""
    return data


def import_record(client: Any, record: Any, **data: Any) -> Any:
    payload = {"record-text": record if isinstance(record, str) else json.dumps(record)}
    return client.post("/cases/new", data={**payload, **data, "record-action": "paste"})


def typed(referrer: Any, **overrides: str) -> dict[str, Any]:
    data = {
        "mrn": "80012345",
        "last_name": "Lefèvre",
        "first_name": "Éloïse Anaïs",
        "birth_on": "1958-02-03",
        "sex": "FEMALE",
        "referrer_id": str(referrer.id),
        "referral_on": "2026-11-18",
        "urgency": "ROUTINE",
        "indication_id": str(first_indication().id),
        "question": "Cryoneurolysis?",
    }
    data.update(overrides)
    return data


def columns(patient: Patient) -> dict[str, Any]:
    # What differs between two patients whatever their identity: the row, its seal.
    skip = {"id", "mrn", "created_at", "updated_at", "version", "created_by_id", "audit_seal"}
    return {
        column.key: getattr(patient, column.key)
        for column in Patient.__table__.columns
        if column.key not in skip
    }


# --- the pasted record -----------------------------------------------------------


def test_a_patient_with_accents_and_two_identifiers_prefills_the_form(client, radiologist):
    before = (referral_count(), patient_count())

    response = import_record(client, patient_resource())

    assert response.status_code == 200
    page = soup(response)
    assert field_value(page, "mrn") == "80012345"  # the site's number, not the national one
    assert field_value(page, "last_name") == "Lefèvre"
    assert field_value(page, "first_name") == "Éloïse Anaïs"  # official, not maiden
    assert field_value(page, "birth_on") == "1958-02-03"
    assert field_value(page, "sex") == "FEMALE"
    assert field_value(page, "phone_1") == ""
    said = text(page.find(id="record-imported"))
    assert "Imported from the record: hospital number, family name, first name" in said
    assert "Nothing is saved yet" in said
    assert (referral_count(), patient_count()) == before
    # The record's text is not sent again with the referral.
    assert field_value(page, "record-text") == ""


def test_saving_the_prefilled_form_makes_the_same_patient_as_typing(client, radiologist):
    page = soup(import_record(client, patient_resource(), **typed(radiologist, mrn="", sex="")))
    data = submitted(page)
    assert data["referrer_id"] == str(radiologist.id)  # what was typed stays

    assert client.post("/cases/new", data=data).status_code == 302
    imported = db.session.scalar(select(Patient).where(Patient.mrn == "80012345"))
    assert client.post("/cases/new", data=typed(radiologist, mrn="80099999")).status_code == 302
    by_hand = db.session.scalar(select(Patient).where(Patient.mrn == "80099999"))

    assert imported is not None
    assert by_hand is not None
    assert columns(imported) == columns(by_hand)
    assert imported.last_name == "Lefèvre"
    assert imported.first_name == "Éloïse Anaïs"


def test_the_hospital_number_falls_back_to_the_mr_identifier_then_is_asked(client, radiologist):
    record = patient_resource()
    record["identifier"] = [
        {"system": OTHER, "value": "2580275123456"},  # no type: not taken
        {"type": {"coding": [{"code": "MR"}]}, "system": "urn:oid:1.2.3", "value": "80012345"},
    ]
    assert field_value(soup(import_record(client, record)), "mrn") == "80012345"

    record["identifier"] = [{"system": OTHER, "value": "2580275123456"}]
    page = soup(import_record(client, record, mrn="TYPED1"))
    assert field_value(page, "mrn") == ""  # another patient's number never stays
    assert "Hospital number: the record has no identifier of this hospital" in text(
        page.find(id="record-not-imported")
    )


def test_the_default_identifier_system_is_the_sites_own(app, client, radiologist, monkeypatch):
    monkeypatch.setitem(app.config, "FHIR_IDENTIFIER_SYSTEM", None)
    with app.test_request_context():
        system = identifier_system()
    record = patient_resource(identifier=[{"system": system, "value": "80054321"}])
    assert field_value(soup(import_record(client, record)), "mrn") == "80054321"


def test_an_identity_mismatch_goes_through_the_conflict_rule(client, radiologist):
    make_patient(mrn="80012345", last_name="Martin", first_name="Paul")
    page = soup(import_record(client, patient_resource(), **typed(radiologist, mrn="")))
    before = referral_count()

    response = client.post("/cases/new", data=submitted(page))

    assert response.status_code == 422
    refused = soup(response)
    assert "already belongs to MARTIN Paul" in field_errors(refused, "mrn")
    assert refused.find(attrs={"name": "use_existing_patient"}) is not None
    assert referral_count() == before


def test_telecom_fills_the_contact_through_its_own_checks(client, radiologist):
    record = patient_resource(
        telecom=[
            {"system": "phone", "value": "+33612345678"},
            {"system": "phone", "value": "not a number"},
            {"system": "phone", "value": "0478000000", "use": "old"},
            {"system": "email", "value": "eloise@Example.ORG"},
        ],
        communication=[{"language": {"coding": [{"code": "fr-FR"}]}, "preferred": True}],
    )
    page = soup(import_record(client, record))
    assert field_value(page, "phone_1") == "06 12 34 56 78"
    assert field_value(page, "phone_2") == ""
    assert field_value(page, "email") == "eloise@example.org"
    assert field_value(page, "preferred_language") == "FR"
    assert "Phone not a number" in text(page.find(id="record-not-imported"))


def test_a_bundle_fills_what_maps_and_says_what_does_not(client, radiologist):
    indication = first_indication()
    indication.snomed_code = "230572002"
    db.session.commit()
    resources = [
        patient_resource(),
        {
            "resourceType": "Condition",
            "subject": {"reference": "Patient/p1"},
            "code": {
                "coding": [{"system": "http://snomed.info/sct", "code": "230572002"}],
                "text": "Morton neuroma",
            },
            "bodySite": [{"text": "Left foot, third web space"}],
        },
        {
            "resourceType": "Condition",
            "subject": {"reference": "Patient/p1"},
            "code": {"text": "Type 2 diabetes"},
        },
        {
            "resourceType": "AllergyIntolerance",
            "patient": {"reference": "Patient/p1"},
            "code": {"text": "Iodinated contrast"},
        },
        {
            "resourceType": "AllergyIntolerance",
            "patient": {"reference": "Patient/p1"},
            "verificationStatus": {"coding": [{"code": "refuted"}]},
            "code": {"text": "Penicillin"},
        },
        {
            "resourceType": "MedicationStatement",
            "status": "active",
            "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": {
                "coding": [{"system": "http://www.whocc.no/atc", "code": "B01AF02"}],
                "text": "Apixaban",
            },
            "dosage": [{"text": "5 mg twice a day"}],
        },
        {
            "resourceType": "MedicationStatement",
            "status": "active",
            "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": {"text": "Paracetamol"},
        },
        {
            "resourceType": "MedicationStatement",
            "status": "stopped",
            "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": {"text": "Clopidogrel"},
        },
        {"resourceType": "Observation", "status": "final", "code": {"text": "Weight"}},
    ]
    before = referral_count()
    page = soup(import_record(client, bundle(*resources)))

    assert field_value(page, "mrn") == "80012345"
    assert field_value(page, "indication_id") == str(indication.id)
    assert field_value(page, "pain_site") == "Left foot, third web space"
    assert field_value(page, "allergies") == "Iodinated contrast"
    assert field_value(page, "anticoagulation") == "ANTICOAGULANT"
    assert field_value(page, "anticoagulation_details") == "Apixaban (5 mg twice a day)"
    missed = text(page.find(id="record-not-imported"))
    assert "Type 2 diabetes" in missed
    assert "Paracetamol" in missed
    assert "1 Observation" in missed
    assert "Clopidogrel" not in text(page)
    assert referral_count() == before


def test_antiplatelets_and_anticoagulants_together_are_both(client, radiologist):
    def statement(name: str) -> dict[str, Any]:
        return {
            "resourceType": "MedicationStatement",
            "status": "active",
            "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": {"text": name},
        }

    page = soup(
        import_record(
            client,
            bundle(
                patient_resource(),
                statement("Kardégic 75 mg"),
                statement("Aspirine"),
                statement("Warfarin"),
            ),
        )
    )
    assert field_value(page, "anticoagulation") == "BOTH"


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("{not json", "This is not JSON"),
        ("[1, 2]", "not a FHIR resource"),
        (json.dumps({"hello": "world"}), "not a FHIR resource"),
        (
            json.dumps({"resourceType": "Practitioner", "id": "d1"}),
            "FHIR Practitioner, not a Patient",
        ),
        (
            json.dumps({"resourceType": "Patient", "gender": "female", "shoeSize": 42}),
            "not a valid FHIR R4 Patient",
        ),
        (
            json.dumps({"resourceType": "Patient", "birthDate": "03/02/1958"}),
            "not a valid FHIR R4 Patient",
        ),
        (json.dumps(bundle({"resourceType": "Practitioner"})), "holds no Patient"),
        (json.dumps(bundle(patient_resource(), patient_resource())), "holds 2 patients"),
        ("   ", "Paste the record or choose its file"),
        ("{" * 100_000, "This is not JSON"),
    ],
)
def test_what_is_not_a_patients_record_is_refused_with_nothing_prefilled(
    client, radiologist, record, message
):
    before = (referral_count(), patient_count())
    response = import_record(client, record, last_name="Typed")

    assert response.status_code == 422
    page = soup(response)
    assert message in field_errors(page, "record-text")
    assert field_value(page, "last_name") == "Typed"  # what was typed stays, nothing added
    assert page.find(id="record-imported") is None
    assert (referral_count(), patient_count()) == before


def test_a_record_over_one_megabyte_is_refused(client, radiologist):
    record = patient_resource(text={"status": "generated", "div": "x" * 1_000_001})
    response = import_record(client, record)
    assert response.status_code == 422
    assert "larger than 1 MB" in field_errors(soup(response), "record-text")


def test_an_uploaded_file_is_read_as_pasted(client, radiologist):
    upload = (io.BytesIO(json.dumps(patient_resource()).encode()), "patient.json")
    response = client.post(
        "/cases/new",
        data={"record-upload": upload, "record-action": "paste"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert field_value(soup(response), "last_name") == "Lefèvre"

    binary = (io.BytesIO(b"\xff\xfe\x00garbage"), "scan.pdf")
    response = client.post(
        "/cases/new",
        data={"record-upload": binary, "record-action": "paste"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "not text" in field_errors(soup(response), "record-upload")


def test_the_import_is_recorded_as_a_read_of_the_patient_it_names(client, radiologist):
    known = make_patient(mrn="80012345", last_name="Lefèvre", first_name="Éloïse Anaïs")
    import_record(client, patient_resource())
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "HospitalRecord")
    ).one()
    assert entry.patient_id == known.id
    assert entry.changes["source"] == "pasted"
    assert "mrn" in entry.changes["fields"]
    assert "80012345" not in json.dumps(entry.changes)


def test_only_those_who_refer_may_import(client, auth):
    auth.login_as(make_user(roles={Role.ADMIN}))
    response = import_record(client, patient_resource())
    assert response.status_code == 403


def test_the_form_shows_the_import_block_without_a_server(client, radiologist):
    page = soup(client.get("/cases/new"))
    assert page.find(id="record-import") is not None
    assert page.find(attrs={"name": "record-text"}) is not None
    assert page.find(attrs={"name": "record-number"}) is None  # no server configured


# --- the hospital's FHIR server ----------------------------------------------------


class FhirSource(BaseHTTPRequestHandler):
    """A hospital FHIR server that knows one patient."""

    seen: list[str] = []

    def do_GET(self) -> None:
        FhirSource.seen.append(self.path)
        url = urlsplit(self.path)
        identifier = parse_qs(url.query).get("identifier", [""])[0]
        if url.path == "/fhir/Patient" and identifier == f"{SITE}|80012345":
            body = bundle(patient_resource(), kind="searchset")
        elif url.path == "/fhir/Patient" and identifier.endswith("|80000500"):
            self.send_response(500)
            self.end_headers()
            return
        else:
            body = bundle(kind="searchset")
            body.pop("entry")
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fhir_source(app, monkeypatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FhirSource)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    monkeypatch.setitem(app.config, "FHIR_SOURCE_URL", base)
    monkeypatch.setitem(app.config, "FHIR_SOURCE_TIMEOUT", 5)
    FhirSource.seen.clear()
    yield base
    server.shutdown()
    server.server_close()
    thread.join()


def fetch(client: Any, number: str, **data: Any) -> Any:
    return client.post(
        "/cases/new", data={"record-number": number, "record-action": "fetch", **data}
    )


def test_the_patient_is_fetched_from_the_hospital_server_by_number(
    client, radiologist, fhir_source
):
    page = soup(client.get("/cases/new"))
    assert page.find(attrs={"name": "record-number"}) is not None

    response = fetch(client, "80012345")

    assert response.status_code == 200
    page = soup(response)
    assert field_value(page, "last_name") == "Lefèvre"
    assert field_value(page, "mrn") == "80012345"
    assert FhirSource.seen == ["/fhir/Patient?identifier=urn%3Aoid%3A1.2.250.1.999.1.1%7C80012345"]
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "HospitalRecord")
    ).one()
    assert entry.changes["source"] == "server"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("80077777", "knows no patient with number 80077777"),
        ("80000500", "refused the search (error 500)"),
        ("", "Type the hospital number to look up"),
        ("12", "hospital number"),
    ],
)
def test_what_the_server_cannot_give_is_said(client, radiologist, fhir_source, number, message):
    response = fetch(client, number, last_name="Typed")
    assert response.status_code == 422
    page = soup(response)
    assert message in field_errors(page, "record-number")
    assert field_value(page, "last_name") == "Typed"


def test_a_server_that_is_down_is_said(app, client, radiologist, monkeypatch):
    with socket.socket() as probe:  # a port where no one listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setitem(app.config, "FHIR_SOURCE_URL", f"http://127.0.0.1:{port}/fhir")
    before = referral_count()
    response = fetch(client, "80012345")
    assert response.status_code == 422
    assert "cannot be reached" in field_errors(soup(response), "record-number")
    assert referral_count() == before


def test_fetching_without_a_server_is_refused_in_words(client, radiologist):
    response = fetch(client, "80012345")
    assert response.status_code == 422
    # No field to show it on: the summary at the top of the form says it.
    assert "No hospital FHIR server is configured" in text(
        soup(response).find(id="error-summary-title").parent
    )


def test_an_import_uses_the_same_number_of_queries_for_1_and_20_conditions(
    client, radiologist, count_queries
):
    indication = first_indication()
    indication.snomed_code = "230572002"
    db.session.commit()

    def condition(number: int) -> dict[str, Any]:
        return {
            "resourceType": "Condition",
            "subject": {"reference": "Patient/p1"},
            "code": {
                "coding": [{"system": "http://snomed.info/sct", "code": str(230572002 + number)}],
                "text": f"Condition {number}",
            },
        }

    def queries(count: int) -> int:
        record = bundle(patient_resource(), *(condition(n) for n in range(count)))
        with count_queries() as counter:
            response = import_record(client, record)
        assert response.status_code == 200
        return counter.count

    assert queries(1) == queries(20)


def test_a_second_condition_of_an_indication_is_said_not_used(client, radiologist):
    indication = first_indication()
    indication.snomed_code = "230572002"
    db.session.commit()
    coded = {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "230572002"}]},
    }
    page = soup(import_record(client, bundle(patient_resource(), coded, coded)))
    assert field_value(page, "indication_id") == str(indication.id)
    assert "already taken from another one" in text(page.find(id="record-not-imported"))
