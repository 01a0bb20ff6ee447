"""A second, independent check: what the product emits validates against HL7's
official FHIR R4 JSON schema (``tests/fhir/data``), not only the models it is
built with."""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator

from tests.fhir.helpers import bearer, client_token, treated_case
from tracker.core.time import utcnow
from tracker.fhir import queries, resources

SCHEMA = Path(__file__).parent / "data" / "fhir.schema.json.gz"


@cache
def definitions() -> dict[str, Any]:
    with gzip.open(SCHEMA) as file:
        found = json.load(file)["definitions"]
    # The schema is R4's first publication (4.0.0); its technical correction,
    # 4.0.1 (the R4 servers name), added "4.0.1" to the list of FHIR versions.
    found["CapabilityStatement"]["properties"]["fhirVersion"]["enum"].append("4.0.1")
    return found


def problems(document: dict[str, Any]) -> list[str]:
    """What the R4 schema finds wrong with the resource (validated as its own type,
    so that an error names the element rather than the whole list of types)."""
    validator = Draft6Validator(
        {"$ref": f"#/definitions/{document['resourceType']}", "definitions": definitions()}
    )
    return [
        f"{document['resourceType']}/{document.get('id')} {list(error.absolute_path)}: "
        f"{error.message[:200]}"
        for error in validator.iter_errors(document)
    ]


def test_the_schema_check_refuses_what_r4_forbids():
    assert problems({"resourceType": "Patient", "gender": "undetermined"})
    assert problems({"resourceType": "Observation", "status": "final", "code": {}, "x": 1})
    assert problems({"resourceType": "Patient", "birthDate": "1960-13-01"})
    assert not problems({"resourceType": "Patient", "gender": "other"})


def test_every_resource_of_a_treated_case_passes_the_r4_schema(app):
    procedure = treated_case()
    [record] = queries.load_cases([procedure.referral_id])
    document = resources.as_json(resources.case_bundle(record, utcnow()))
    found = problems(document)
    for entry in document["entry"]:
        found += problems(entry["resource"])
    assert found == []
    assert len(document["entry"]) == 22


def test_the_api_answers_pass_the_r4_schema(app, client):
    procedure = treated_case()
    _client, token = client_token("system/*.read")
    answers = [
        client.get("/fhir/metadata"),
        client.get("/fhir/Questionnaire/pain-followup"),
        client.get(
            f"/fhir/Observation?patient=patient-{procedure.referral.patient_id}&_count=3",
            headers=bearer(token),
        ),
        client.get("/fhir/Procedure/procedure-999999", headers=bearer(token)),
        client.get("/fhir/Procedure?patient=patient-1"),
    ]
    found = []
    for response in answers:
        found += problems(response.get_json())
    assert found == []


def test_every_demo_case_exports_a_bundle_that_validates(app):
    """The demonstration team's cases, whatever stage they reached: each one's
    bundle passes the R4B models (on the way out) and the R4 schema, and reads back."""
    from fhir.resources.R4B.bundle import Bundle
    from sqlalchemy import select

    from tracker.cases.models import Referral
    from tracker.core.audit import acting_as
    from tracker.demo.team import seed_demo
    from tracker.extensions import db

    with acting_as("demo"):
        seed_demo("a long enough demo password")
    ids = list(db.session.scalars(select(Referral.id).order_by(Referral.id)))
    assert len(ids) >= 5
    kinds = set()
    for record in queries.load_cases(ids):
        document = resources.as_json(resources.case_bundle(record, utcnow()))
        assert resources.as_json(Bundle.model_validate(json.loads(json.dumps(document)))) == (
            document
        )
        found = problems(document)
        for entry in document["entry"]:
            found += problems(entry["resource"])
            kinds.add(entry["resource"]["resourceType"])
        assert found == [], record.referral.case_number
    assert {
        "Patient",
        "ServiceRequest",
        "CarePlan",
        "Procedure",
        "Observation",
        "Composition",
        "DocumentReference",
    } <= kinds
