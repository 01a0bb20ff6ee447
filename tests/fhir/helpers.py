"""A treated case with everything the FHIR export says, and API clients."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.factories import assess, give_contact, make_procedure
from tracker.core.time import local_today
from tracker.extensions import db
from tracker.fhir import services
from tracker.followups.models import AssessmentMode


def treated_case() -> Any:
    """A demo-like case: referral, decision, cryoneurolysis with a grade 2 adverse
    event, a phone follow-up and a patient-reported one."""
    procedure = make_procedure(adverse_event={"cirse_grade": 2, "description": "Haematoma"})
    give_contact(procedure.referral.patient, email="patient@example.org")
    assess(procedure, assessed_on=date(2026, 6, 23), nrs_now=2, nrs_average=3, nrs_worst=5)
    answered = assess(
        procedure,
        assessed_on=date(2026, 7, 16),
        nrs_now=1,
        nrs_average=2,
        nrs_worst=4,
        relief_pct=70,
        pgic=2,
        dn4=3,
    )
    # As the patient's own answers to an invitation are stored (tests/selfreport).
    answered.mode = AssessmentMode.SELF_REPORTED
    db.session.commit()
    return procedure


def client_token(*scopes: str, name: str = "Hospital record", days: int = 30) -> tuple[Any, str]:
    client, token = services.register_client(
        name=name,
        scopes=list(scopes),
        expires_on=local_today() + timedelta(days=days),
        by=None,
    )
    db.session.commit()
    return client, token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
