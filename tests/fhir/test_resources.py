"""Every resource the product emits is valid FHIR (R4B models), says what the
case says, and codes only what the catalogue knows."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from tests.factories import assess, first_indication, make_referral, make_user
from tests.fhir.helpers import treated_case
from tracker.catalogue import services as catalogue_services
from tracker.core.audit import AuditAction, AuditEntry
from tracker.core.errors import DomainError
from tracker.core.time import utcnow
from tracker.extensions import db
from tracker.fhir import queries, resources
from tracker.web.permissions import Role


def bundle_json(referral_id: int) -> dict[str, Any]:
    [record] = queries.load_cases([referral_id])
    return resources.as_json(resources.case_bundle(record, utcnow()))


def by_id(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["resource"]["id"]: entry["resource"] for entry in document["entry"]}


def references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [ref for item in value.values() for ref in references(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in references(item)]
    return []


def test_a_treated_case_bundle_validates_and_round_trips(app):
    procedure = treated_case()
    document = bundle_json(procedure.referral_id)
    text = json.dumps(document)
    again = Bundle.model_validate(json.loads(text))
    assert resources.as_json(again) == document
    assert document["type"] == "collection"
    kinds = set()
    for entry in document["entry"]:
        resource = entry["resource"]
        model = get_fhir_model_class(resource["resourceType"])
        assert resources.as_json(model.model_validate(resource)) == resource
        assert resource["meta"]["lastUpdated"]
        assert entry["fullUrl"].endswith(f"/fhir/{resource['resourceType']}/{resource['id']}")
        kinds.add(resource["resourceType"])
    assert kinds == {
        "Patient",
        "ServiceRequest",
        "Condition",
        "Observation",
        "CarePlan",
        "Procedure",
        "AdverseEvent",
        "Composition",
        "DocumentReference",
        "QuestionnaireResponse",
    }
    ids = [entry["resource"]["id"] for entry in document["entry"]]
    assert len(ids) == len(set(ids))
    # Every reference points to a resource of the bundle.
    present = {f"{r['resourceType']}/{r['id']}" for r in (e["resource"] for e in document["entry"])}
    assert set(references(document["entry"])) <= present


def test_ids_are_stable_from_one_export_to_the_next(app):
    procedure = treated_case()
    first = [e["resource"]["id"] for e in bundle_json(procedure.referral_id)["entry"]]
    second = [e["resource"]["id"] for e in bundle_json(procedure.referral_id)["entry"]]
    assert first == second
    assert f"referral-{procedure.referral_id}" in first
    assert f"procedure-{procedure.id}" in first


def test_pain_scores_are_loinc_72514_3_with_the_reading_said(app):
    procedure = treated_case()
    found = by_id(bundle_json(procedure.referral_id))
    nrs = {
        rid: r
        for rid, r in found.items()
        if r["resourceType"] == "Observation"
        and any(c.get("code") == "72514-3" for c in r["code"].get("coding", []))
    }
    # Baseline now / average / worst, then two assessments of three readings each.
    assert len(nrs) == 9
    phone = [r for rid, r in nrs.items() if r["effectiveDateTime"] == "2026-06-23"]
    assert sorted(r["method"]["text"] for r in phone) == ["Average pain", "Pain now", "Worst pain"]
    assert sorted(r["valueQuantity"]["value"] for r in phone) == [2, 3, 5]
    for r in phone:
        assert r["code"]["coding"][0]["system"] == "http://loinc.org"
        assert r["partOf"] == [{"reference": f"Procedure/procedure-{procedure.id}"}]
        assert r["performer"][0].get("reference") is None  # recorded by the team


def test_patient_reported_scores_are_performed_by_the_patient(app):
    procedure = treated_case()
    found = by_id(bundle_json(procedure.referral_id))
    patient_ref = {"reference": f"Patient/patient-{procedure.referral.patient_id}"}
    own = [
        r
        for r in found.values()
        if r["resourceType"] == "Observation" and r["effectiveDateTime"] == "2026-07-16"
    ]
    assert len(own) == 6  # NRS x3, PGIC, DN4, relief
    assert all(r["performer"] == [patient_ref] for r in own)
    texts = {r["code"]["text"]: r for r in own}
    assert texts["Pain relief estimated by the patient (%)"]["valueQuantity"]["value"] == 70
    pgic = texts["Patient Global Impression of Change (PGIC, 1-7)"]
    assert pgic["valueInteger"] == 2
    assert "coding" not in pgic["code"]  # no code known: never guessed
    assert texts["DN4 neuropathic pain questionnaire, total score (0-10)"]["valueInteger"] == 3


def test_snomed_codes_appear_only_where_the_catalogue_has_them(app):
    procedure = treated_case()
    found = by_id(bundle_json(procedure.referral_id))
    request = found[f"referral-{procedure.referral_id}"]
    assert "coding" not in request["reasonCode"][0]
    assert "coding" not in found[f"procedure-{procedure.id}"]["code"]

    indication = procedure.referral.indication
    catalogue_services.update_entry(
        indication, name_en=indication.name_en, name_fr=indication.name_fr, snomed_code="404684003"
    )
    db.session.commit()
    request = by_id(bundle_json(procedure.referral_id))[f"referral-{procedure.referral_id}"]
    assert request["reasonCode"][0]["coding"] == [
        {"system": "http://snomed.info/sct", "code": "404684003", "display": indication.name}
    ]


def test_a_code_that_is_not_snomed_is_refused_and_changes_nothing(app):
    indication = first_indication()
    for wrong in ("72514-3", "12", "0404684003", "morton"):
        with pytest.raises(DomainError) as refused:
            catalogue_services.update_entry(
                indication,
                name_en=indication.name_en,
                name_fr=indication.name_fr,
                snomed_code=wrong,
            )
        assert refused.value.field == "snomed_code"
        db.session.rollback()
    assert db.session.get(type(indication), indication.id).snomed_code is None


def test_the_patient_carries_the_site_identifier_and_contact(app):
    app.config["FHIR_IDENTIFIER_SYSTEM"] = "urn:oid:1.2.250.1.999.1"
    try:
        procedure = treated_case()
        patient = procedure.referral.patient
        found = by_id(bundle_json(procedure.referral_id))[f"patient-{patient.id}"]
    finally:
        app.config["FHIR_IDENTIFIER_SYSTEM"] = None
    assert found["identifier"][0]["system"] == "urn:oid:1.2.250.1.999.1"
    assert found["identifier"][0]["value"] == patient.mrn
    assert found["name"] == [
        {"use": "official", "family": patient.last_name, "given": [patient.first_name]}
    ]
    assert found["birthDate"] == patient.birth_on.isoformat()
    assert found["gender"] == "female"
    assert {"system": "email", "value": "patient@example.org"} in found["telecom"]
    assert any(t["system"] == "phone" for t in found["telecom"])


def test_the_condition_and_request_say_site_side_mechanism_onset_and_consent(app):
    referral = make_referral(referral_on=date(2026, 5, 26), pain_duration_months=18)
    found = by_id(bundle_json(referral.id))
    condition = found[f"condition-{referral.id}"]
    assert condition["onsetDateTime"] == "2024-11"
    assert condition["bodySite"] == [{"text": "Left foot, third web space (side: Left)"}]
    assert {"text": "Mechanism: Neuropathic"} in condition["note"]
    request = found[f"referral-{referral.id}"]
    assert request["status"] == "active"
    notes = [note["text"] for note in request["note"]]
    assert "Cryoneurolysis of the neuroma?" in notes
    assert "The patient agreed on 2 November 2026 to the case being presented." in notes
    assert request["requester"]["display"] == referral.referrer.full_name
    assert "CarePlan" not in {r["resourceType"] for r in found.values()}


def test_the_care_plan_follows_the_proposal_through(app):
    procedure = treated_case()
    found = by_id(bundle_json(procedure.referral_id))
    plan = found[f"decision-{procedure.plan.decision_id}"]
    assert plan["status"] == "completed"
    [activity] = plan["activity"]
    assert activity["detail"]["status"] == "completed"
    assert activity["outcomeReference"] == [{"reference": f"Procedure/procedure-{procedure.id}"}]
    event = next(r for r in found.values() if r["resourceType"] == "AdverseEvent")
    assert event["severity"]["text"].startswith("Grade 2")


def test_a_case_is_loaded_in_a_fixed_number_of_queries(app, count_queries):
    procedure = treated_case()
    referral_id = procedure.referral_id

    def cost() -> int:
        db.session.expire_all()
        with count_queries() as counter:
            bundle_json(referral_id)
        return counter.count

    before = cost()
    for day in (10, 20, 30):
        assess(procedure, assessed_on=date(2026, 8, day), nrs_average=4)
    assert cost() == before <= 20


def test_the_team_downloads_the_bundle_from_the_case_page_and_it_is_audited(app, auth):
    procedure = treated_case()
    auth.login_as(make_user(roles={Role.CLINICIAN}))
    page = auth.client.get(f"/cases/{procedure.referral_id}").get_data(as_text=True)
    link = f"/cases/{procedure.referral_id}/fhir.json"
    assert link in page
    assert "FHIR bundle (JSON)" in page
    response = auth.client.get(link)
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    assert "attachment" in response.headers["Content-Disposition"]
    Bundle.model_validate(response.get_json())
    entry = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == AuditAction.DOWNLOAD)
        .order_by(AuditEntry.id.desc())
    ).first()
    assert entry.referral_id == procedure.referral_id
    assert entry.patient_id == procedure.referral.patient_id
    assert entry.changes == {"format": "fhir"}


def test_an_unknown_case_is_not_found(app, auth):
    auth.login_as(make_user(roles={Role.CLINICIAN}))
    assert auth.client.get("/cases/999999/fhir.json").status_code == 404


def test_the_decision_sheet_is_referenced_by_the_address_of_its_pdf(app, auth):
    procedure = treated_case()
    decision_id = procedure.plan.decision_id
    sheet = by_id(bundle_json(procedure.referral_id))[f"decision-sheet-{decision_id}-pdf"]
    [content] = sheet["content"]
    assert content["attachment"]["contentType"] == "application/pdf"
    assert sheet["context"]["related"] == [
        {"reference": f"CarePlan/decision-{decision_id}"},
        {"reference": f"Composition/decision-sheet-{decision_id}"},
    ]
    path = content["attachment"]["url"].removeprefix(app.config["BASE_URL"])
    auth.login_as(make_user(roles={Role.CLINICIAN}))
    response = auth.client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"


def test_patient_answers_are_a_response_to_the_published_questionnaire(app, client):
    procedure = treated_case()
    found = by_id(bundle_json(procedure.referral_id))
    [answers] = [r for r in found.values() if r["resourceType"] == "QuestionnaireResponse"]
    questionnaire = client.get("/fhir/Questionnaire/pain-followup").get_json()  # no token
    assert answers["questionnaire"] == questionnaire["url"]
    assert answers["author"] == {"reference": f"Patient/patient-{procedure.referral.patient_id}"}
    given = {item["linkId"]: item["answer"] for item in answers["item"]}
    assert given["nrs_average"] == [{"valueInteger": 2}]
    assert given["relief_pct"] == [{"valueInteger": 70}]
    assert given["pain_is_back"] == [{"valueBoolean": False}]
    asked = {item["linkId"]: item for item in questionnaire["item"]}
    assert set(given) <= set(asked)
    options = [option["valueString"] for option in asked["pgic"]["answerOption"]]
    assert given["pgic"] == [{"valueString": "2 - Much improved"}]
    assert given["pgic"][0]["valueString"] in options


def test_the_decision_sheet_is_a_composition_of_its_own_sections(app):
    procedure = treated_case()
    decision = procedure.plan.decision
    decision.reasons = "Neuroma <8 mm> & refractory"
    db.session.commit()
    found = by_id(bundle_json(procedure.referral_id))
    sheet = found[f"decision-sheet-{decision.id}"]
    assert sheet["resourceType"] == "Composition"
    assert sheet["status"] == "final"
    titles = [section["title"] for section in sheet["section"]]
    assert "Patient and case" not in titles  # the Patient resource says who
    assert "Meeting" in titles
    text = " ".join(section["text"]["div"] for section in sheet["section"])
    assert "Neuroma &lt;8 mm&gt; &amp; refractory" in text
    decided = next(s for s in sheet["section"] if s.get("entry"))
    assert decided["entry"] == [{"reference": f"CarePlan/decision-{decision.id}"}]
