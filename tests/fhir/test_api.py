"""The read-only FHIR API: scopes, tokens, searches, paging, errors, audit."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from flask import url_for
from sqlalchemy import select

from tests.fhir.helpers import bearer, client_token, treated_case
from tracker.core.audit import AuditAction, AuditEntry
from tracker.extensions import db
from tracker.fhir import services
from tracker.fhir.models import ApiClient
from tracker.fhir.resources import identifier_system

NRS = "http://loinc.org|72514-3"


def error_of(response: Any, status: int) -> OperationOutcome:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/fhir+json"
    return OperationOutcome.model_validate(response.get_json())


def searchset(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/fhir+json"
    document = response.get_json()
    Bundle.model_validate(document)
    assert document["type"] == "searchset"
    return document


def test_a_pain_score_reader_lists_a_patients_nrs_and_nothing_else(app, client):
    procedure = treated_case()
    patient_id = procedure.referral.patient_id
    _client, token = client_token("system/Observation.read")
    found = searchset(
        client.get(
            f"/fhir/Observation?patient=Patient/patient-{patient_id}&code={NRS}",
            headers=bearer(token),
        )
    )
    # Baseline (3) and two follow-ups (3 each): the PGIC, DN4 and relief are not NRS.
    assert found["total"] == 9
    for entry in found["entry"]:
        assert entry["resource"]["code"]["coding"][0]["code"] == "72514-3"
        assert entry["resource"]["subject"]["reference"] == f"Patient/patient-{patient_id}"
    mrn = procedure.referral.patient.mrn
    by_identifier = searchset(
        client.get(
            f"/fhir/Observation?patient:identifier={identifier_system()}|{mrn}&code=72514-3",
            headers=bearer(token),
        )
    )
    assert by_identifier["total"] == 9
    assert (
        error_of(client.get(f"/fhir/Patient/patient-{patient_id}", headers=bearer(token)), 403)
        .issue[0]
        .code
        == "forbidden"
    )


@pytest.mark.parametrize(
    "resource_type", [kind for kind in services.RESOURCE_TYPES if kind != "Observation"]
)
def test_every_other_type_is_refused_to_an_observation_reader(app, client, resource_type):
    """From the URL map: each route of the API, for each type the scope leaves out."""
    _client, token = client_token("system/Observation.read")
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/fhir/<")]
    assert len(rules) == 2  # read and search
    for rule in rules:
        values = {"resource_type": resource_type, "resource_id": "patient-1"}
        url = rule.build({k: values[k] for k in rule.arguments})[1]
        assert error_of(client.get(url, headers=bearer(token)), 403).issue[0].code == "forbidden"


def test_every_type_is_read_with_the_scope_that_names_it(app, client):
    procedure = treated_case()
    patient_id = procedure.referral.patient_id
    _client, token = client_token("system/*.read")
    document = searchset(
        client.get(f"/fhir/CarePlan?patient=patient-{patient_id}", headers=bearer(token))
    )
    plan_id = document["entry"][0]["resource"]["id"]
    read = client.get(f"/fhir/CarePlan/{plan_id}", headers=bearer(token))
    assert read.status_code == 200
    assert read.get_json() == document["entry"][0]["resource"]
    for kind, search in (
        ("ServiceRequest", f"patient=Patient/patient-{patient_id}"),
        ("Procedure", f"patient=Patient/patient-{patient_id}"),
        ("Condition", f"patient=Patient/patient-{patient_id}"),
        ("AdverseEvent", f"subject=Patient/patient-{patient_id}"),
        ("Composition", f"patient=Patient/patient-{patient_id}"),
        ("DocumentReference", f"patient=Patient/patient-{patient_id}"),
        ("QuestionnaireResponse", f"patient=Patient/patient-{patient_id}"),
        ("Patient", f"identifier={procedure.referral.patient.mrn}"),
    ):
        found = searchset(client.get(f"/fhir/{kind}?{search}", headers=bearer(token)))
        assert found["total"] >= 1, kind
        resource = found["entry"][0]["resource"]
        assert client.get(f"/fhir/{kind}/{resource['id']}", headers=bearer(token)).get_json() == (
            resource
        )


def test_a_patient_reader_finds_the_patient_by_hospital_number(app, client):
    procedure = treated_case()
    patient = procedure.referral.patient
    _client, token = client_token("system/Patient.read")
    found = searchset(
        client.get(
            f"/fhir/Patient?identifier={identifier_system()}|{patient.mrn}", headers=bearer(token)
        )
    )
    assert [e["resource"]["id"] for e in found["entry"]] == [f"patient-{patient.id}"]
    other_system = searchset(
        client.get(f"/fhir/Patient?identifier=urn:other|{patient.mrn}", headers=bearer(token))
    )
    assert other_system["total"] == 0


def test_paging_follows_the_next_links(app, client):
    procedure = treated_case()
    _client, token = client_token("system/Observation.read")
    url = f"/fhir/Observation?patient=patient-{procedure.referral.patient_id}&_count=4"
    seen: list[str] = []
    pages = 0
    while url:
        document = searchset(client.get(url, headers=bearer(token)))
        pages += 1
        assert len(document["entry"]) <= 4
        seen += [entry["resource"]["id"] for entry in document["entry"]]
        links = {link["relation"]: link["url"] for link in document["link"]}
        assert "_count=4" in links["self"]
        url = links.get("next", "").replace(app.config["BASE_URL"], "")
    # 4 baseline (NRS x3, DN4) + 3 + 6 follow-up scores.
    assert len(seen) == len(set(seen)) == document["total"] == 13
    assert pages == 4


def test_the_date_search_keeps_the_readings_of_the_days_asked(app, client):
    procedure = treated_case()
    _client, token = client_token("system/Observation.read")
    base = f"/fhir/Observation?patient=patient-{procedure.referral.patient_id}&code={NRS}"
    found = searchset(
        client.get(f"{base}&date=ge2026-06-01&date=lt2026-07-01", headers=bearer(token))
    )
    assert {e["resource"]["effectiveDateTime"] for e in found["entry"]} == {"2026-06-23"}
    assert error_of(client.get(f"{base}&date=June", headers=bearer(token)), 400)


def test_expired_revoked_missing_and_unknown_tokens_are_401(app, client, clock):
    procedure = treated_case()
    url = f"/fhir/Observation?patient=patient-{procedure.referral.patient_id}"
    api_client, token = client_token("system/Observation.read", days=1)
    assert client.get(url, headers=bearer(token)).status_code == 200
    for headers in ({}, {"Authorization": "Basic abc"}, bearer("rcpf_unknown"), bearer("x" * 500)):
        response = client.get(url, headers=headers)
        error_of(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    clock.advance(days=3)
    error_of(client.get(url, headers=bearer(token)), 401)
    clock.advance(days=-3)
    services.revoke_client(api_client, by=None)
    db.session.commit()
    error_of(client.get(url, headers=bearer(token)), 401)


def test_errors_are_operation_outcomes(app, client):
    _client, token = client_token("system/*.read")
    error_of(client.get("/fhir/Observation/assessment-999999-now", headers=bearer(token)), 404)
    error_of(client.get("/fhir/Observation/nonsense", headers=bearer(token)), 404)
    error_of(client.get("/fhir/Patient/patient-999999", headers=bearer(token)), 404)
    error_of(client.get("/fhir/Procedure/procedure-9999999999", headers=bearer(token)), 404)
    error_of(client.get("/fhir/Bundle/case-99999999999999", headers=bearer(token)), 404)
    huge = searchset(client.get("/fhir/CarePlan?patient=patient-9999999999", headers=bearer(token)))
    assert huge["total"] == 0
    error_of(client.get("/fhir/Medication?patient=patient-1", headers=bearer(token)), 404)
    error_of(client.get("/fhir/Observation", headers=bearer(token)), 400)  # no patient
    error_of(client.get("/fhir/Observation?patient=1&_count=0", headers=bearer(token)), 400)
    for hostile in ("²", "-1", "1e3", "99999999999999999999", "%00"):
        url = f"/fhir/Observation?patient=patient-1&_offset={hostile}"
        error_of(client.get(url, headers=bearer(token)), 400)
    error_of(client.get("/fhir/Observation?patient=Bob", headers=bearer(token)), 400)
    error_of(client.get("/fhir/Observation?patient=patient-1&name=x", headers=bearer(token)), 400)
    error_of(client.get("/fhir/Patient", headers=bearer(token)), 400)


def test_the_capability_statement_is_open_and_valid(app, client):
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    statement = CapabilityStatement.model_validate(response.get_json())
    assert {r.type for r in statement.rest[0].resource} == {
        *services.RESOURCE_TYPES,
        "Bundle",
        "Questionnaire",
    }


def test_every_call_is_audited_as_a_read_naming_the_patients(app, client):
    procedure = treated_case()
    patient_id = procedure.referral.patient_id
    api_client, token = client_token("system/Observation.read", name="Data warehouse")
    before = db.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    client.get(f"/fhir/Observation?patient=patient-{patient_id}&_count=2", headers=bearer(token))
    client.get(f"/fhir/Observation/referral-{procedure.referral_id}-now", headers=bearer(token))
    client.get(f"/fhir/Patient/patient-{patient_id}", headers=bearer(token))  # refused: not read
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.id > before).order_by(AuditEntry.id)
    ).all()
    assert [(e.action, e.entity_type, e.entity_id, e.patient_id) for e in entries] == [
        (AuditAction.VIEW, "Observation", "search", patient_id),
        (AuditAction.VIEW, "Observation", f"referral-{procedure.referral_id}-now", patient_id),
    ]
    assert {e.actor_label for e in entries} == {"FHIR API: Data warehouse"}
    assert [e.referral_id for e in entries] == [None, procedure.referral_id]
    assert entries[0].changes["client_id"] == api_client.id


def test_a_staff_login_opens_nothing_in_the_api(app, auth):
    from tests.factories import make_user
    from tracker.web.permissions import Role

    auth.login_as(make_user(roles={Role.ADMIN, Role.COORDINATOR}))
    error_of(auth.client.get("/fhir/Observation?patient=patient-1"), 401)


def test_admins_register_a_client_see_its_token_once_and_revoke_it(app, auth, clock):
    from tests.factories import make_user
    from tracker.core.time import local_today
    from tracker.web.permissions import Role

    auth.login_as(make_user(roles={Role.ADMIN}))
    page = auth.client.post(
        "/admin/fhir-clients",
        data={
            "name": "Dossier patient",
            "scopes": ["system/Observation.read"],
            "expires_on": (local_today() + timedelta(days=90)).isoformat(),
        },
    )
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    [token] = [word for word in text.replace('"', " ").split() if word.startswith("rcpf_")]
    stored = db.session.scalar(select(ApiClient).where(ApiClient.name == "Dossier patient"))
    assert stored.token_hash == services.token_hash(token)
    assert stored.works_through == local_today() + timedelta(days=90)
    assert token not in auth.client.get("/admin/fhir-clients").get_data(as_text=True)
    too_long = auth.client.post(
        "/admin/fhir-clients",
        data={
            "name": "Other",
            "scopes": ["system/Observation.read"],
            "expires_on": (local_today() + timedelta(days=900)).isoformat(),
        },
    )
    assert too_long.status_code == 422
    response = auth.client.post(f"/admin/fhir-clients/{stored.id}/revoke")
    assert response.status_code == 302
    db.session.refresh(stored)
    assert stored.revoked_at is not None
    with app.test_request_context():
        assert url_for("fhir.clients") == "/admin/fhir-clients"


def test_a_search_costs_the_same_queries_whatever_the_number_of_readings(
    app, client, count_queries
):
    from datetime import date

    from tests.factories import assess

    procedure = treated_case()
    _client, token = client_token("system/Observation.read")
    url = f"/fhir/Observation?patient=patient-{procedure.referral.patient_id}&_count=100"

    def cost() -> int:
        db.session.expire_all()
        with count_queries() as counter:
            assert client.get(url, headers=bearer(token)).status_code == 200
        return counter.count

    before = cost()
    for day in (3, 13, 23):
        assess(procedure, assessed_on=date(2026, 9, day), nrs_now=2, nrs_average=3)
    assert cost() == before <= 25


def test_a_whole_case_is_read_as_a_bundle_with_every_scope_only(app, client):
    procedure = treated_case()
    url = f"/fhir/Bundle/case-{procedure.referral_id}"
    _reader, everything = client_token("system/*.read", name="Registry")
    response = client.get(url, headers=bearer(everything))
    assert response.status_code == 200
    document = Bundle.model_validate(response.get_json())
    assert document.type == "collection"
    assert document.id == f"case-{procedure.referral_id}"
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.entity_type, entry.referral_id, entry.patient_id) == (
        "Bundle",
        procedure.referral_id,
        procedure.referral.patient_id,
    )
    _some, token = client_token(*services.SCOPES[:-2])  # all but the last type, and *
    error_of(client.get(url, headers=bearer(token)), 403)
    error_of(client.get("/fhir/Bundle/case-999999", headers=bearer(everything)), 404)
    error_of(client.get("/fhir/Bundle/everything", headers=bearer(everything)), 404)
    error_of(client.get("/fhir/Bundle?patient=patient-1", headers=bearer(everything)), 404)


def test_a_client_form_sent_twice_registers_one_client(app, auth, clock):
    from sqlalchemy import func

    from tests.factories import make_user
    from tracker.core.time import local_today
    from tracker.web.permissions import Role

    auth.login_as(make_user(roles={Role.ADMIN}))
    form = auth.client.get("/admin/fhir-clients").get_data(as_text=True)
    [key] = re.findall(r'name="once_key"[^>]*value="([^"]+)"', form) or re.findall(
        r'value="([^"]+)"[^>]*name="once_key"', form
    )
    data = {
        "once_key": key,
        "name": "Dossier patient",
        "scopes": ["system/Observation.read"],
        "expires_on": (local_today() + timedelta(days=90)).isoformat(),
    }
    assert auth.client.post("/admin/fhir-clients", data=data).status_code == 200
    again = auth.client.post("/admin/fhir-clients", data=data)
    assert again.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(ApiClient)) == 1
