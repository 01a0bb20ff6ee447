"""Referring, completing, editing and withdrawing cases through the services."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests.factories import make_patient, make_referral, make_user, referral_details
from tracker.cases import services
from tracker.cases.models import CaseEvent, Patient, Referral, Sex
from tracker.cases.rules import FIELD_LABELS, CaseStatus, InvalidTransition
from tracker.core.audit import AuditAction, AuditEntry
from tracker.core.errors import DomainError
from tracker.extensions import db
from tracker.web.permissions import Role


def identity(**overrides):
    values = {
        "mrn": "80012345",
        "last_name": "Lefèvre",
        "first_name": "Éloïse",
        "birth_on": date(1958, 2, 3),
        "sex": Sex.FEMALE,
    }
    values.update(overrides)
    return services.PatientIdentity(**values)


def patient_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Patient))


def test_a_complete_referral_is_referred_at_once(app):
    referral = make_referral()
    assert referral.status is CaseStatus.REFERRED
    assert referral.is_complete
    assert referral.case_number == "RCP-2026-0001"
    kinds = [event.kind.name for event in referral.events]
    assert kinds == ["CREATED", "STATUS_CHANGED"]


def test_an_incomplete_referral_stays_a_draft_listing_what_is_missing(app):
    referral = make_referral(nrs_worst=None, question=None, patient_agreed_on=None)
    assert referral.status is CaseStatus.DRAFT
    assert referral.missing == ["nrs_worst", "question", "patient_agreed_on"]


def test_case_numbers_follow_each_other_and_restart_each_year(app):
    first = make_referral()
    second = make_referral()
    next_year = make_referral(referral_on=None)  # numbered by today's year
    assert [first.case_number, second.case_number] == ["RCP-2026-0001", "RCP-2026-0002"]
    assert next_year.case_number == "RCP-2026-0003"
    old = make_referral(referral_on=date(2025, 12, 30))
    assert old.case_number == "RCP-2025-0001"


def test_case_numbers_are_never_reused_after_a_rollback(app):
    make_referral()
    patient = make_patient()
    services.refer_case(patient, referral_details(), by=make_user())
    db.session.rollback()  # the second referral was never saved...
    third = make_referral()
    # ...so its number went back too, and no two saved cases share one.
    numbers = db.session.scalars(select(Referral.case_number)).all()
    assert len(numbers) == len(set(numbers))
    assert third.case_number == "RCP-2026-0002"


def test_same_hospital_number_and_identity_reuses_the_patient(app):
    first = services.patient_for_referral(identity())
    again = services.patient_for_referral(
        identity(mrn=" 80012345 ", last_name="LEFEVRE", first_name="eloise")
    )
    assert again.id == first.id
    assert patient_count() == 1


def test_a_known_number_with_another_identity_is_refused_not_merged(app):
    services.patient_for_referral(identity())
    db.session.commit()
    with pytest.raises(services.PatientMismatch) as refused:
        services.patient_for_referral(identity(first_name="Marie"))
    assert refused.value.field == "mrn"
    assert "LEFÈVRE Éloïse" in str(refused.value.message)
    with pytest.raises(services.PatientMismatch):
        services.patient_for_referral(identity(birth_on=date(1958, 2, 4)))
    assert patient_count() == 1


def test_the_user_may_confirm_it_is_the_same_patient(app):
    first = services.patient_for_referral(identity())
    db.session.commit()
    same = services.patient_for_referral(identity(first_name="Elo"), use_existing=True)
    assert same.id == first.id
    assert same.first_name == "Éloïse"  # the recorded identity is kept


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mrn", "12"),
        ("mrn", "1234-567"),
        ("birth_on", date(2027, 1, 1)),
        ("birth_on", date(1890, 1, 1)),
    ],
)
def test_bad_identity_is_refused_on_its_field(app, field, value):
    with pytest.raises(DomainError) as refused:
        services.patient_for_referral(identity(**{field: value}))
    assert refused.value.field == field
    assert patient_count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nrs_now", 11),
        ("nrs_worst", -1),
        ("dn4", 12),
        ("referral_on", date(2026, 11, 21)),
        ("patient_agreed_on", date(2027, 1, 1)),
        ("pain_duration_months", -3),
    ],
)
def test_bad_details_are_refused_and_nothing_is_saved(app, field, value):
    patient = make_patient()
    with pytest.raises(DomainError) as refused:
        services.refer_case(patient, referral_details(**{field: value}), by=make_user())
    assert refused.value.field == field
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Referral)) == 0


def test_completing_a_draft_makes_it_referred(app):
    referral = make_referral(question=None)
    services.update_referral(
        referral,
        {"question": "Radiofrequency of the genicular nerves?"},
        expected_version=referral.version,
        by=make_user(roles={Role.COORDINATOR}),
    )
    db.session.commit()
    assert referral.status is CaseStatus.REFERRED


def test_emptying_a_waiting_referral_sends_it_back_to_draft(app):
    referral = make_referral()
    services.update_referral(
        referral,
        {"allergies": None},
        expected_version=referral.version,
        by=make_user(roles={Role.COORDINATOR}),
    )
    db.session.commit()
    assert referral.status is CaseStatus.DRAFT


def test_a_scheduled_case_cannot_lose_what_the_meeting_needs(app):
    referral = make_referral()
    services.change_status(referral, CaseStatus.SCHEDULED, by=None)
    db.session.commit()
    with pytest.raises(DomainError, match="on a meeting's agenda"):
        services.update_referral(
            referral,
            {"question": ""},
            expected_version=referral.version,
            by=make_user(roles={Role.COORDINATOR}),
        )
    db.session.rollback()
    assert db.session.get(Referral, referral.id).question == "Cryoneurolysis of the neuroma?"


def test_a_discussed_case_is_locked(app):
    referral = make_referral()
    services.change_status(referral, CaseStatus.SCHEDULED, by=None)
    services.change_status(referral, CaseStatus.DISCUSSED, by=None)
    db.session.commit()
    with pytest.raises(DomainError, match="has been discussed"):
        services.update_referral(
            referral,
            {"nrs_now": 3},
            expected_version=referral.version,
            by=make_user(roles={Role.COORDINATOR}),
        )


def test_an_edit_from_an_old_version_conflicts_and_lists_the_changes(app):
    referral = make_referral()
    started_from = referral.version
    coordinator = make_user(roles={Role.COORDINATOR}, email="sophie@hospital.test")
    from tracker.core.audit import acting_as

    with acting_as("sophie@hospital.test", coordinator.id):
        services.update_referral(
            referral,
            {"nrs_now": 8, "pain_site": "Left foot, 3rd space"},
            expected_version=started_from,
            by=coordinator,
        )
        db.session.commit()
    with pytest.raises(services.EditConflict) as conflict:
        services.update_referral(
            referral,
            {"nrs_now": 5},
            expected_version=started_from,
            by=make_user(roles={Role.COORDINATOR}),
        )
    changes = {
        change.label: (change.old, change.new, change.actor) for change in conflict.value.changes
    }
    assert changes == {
        str(FIELD_LABELS["nrs_now"]): ("7", "8", "sophie@hospital.test"),
        str(FIELD_LABELS["pain_site"]): (
            "Left foot, third web space",
            "Left foot, 3rd space",
            "sophie@hospital.test",
        ),
    }
    db.session.rollback()
    assert db.session.get(Referral, referral.id).nrs_now == 8


def test_withdrawing_needs_a_reason_and_is_on_the_timeline(app):
    referral = make_referral()
    user = make_user(roles={Role.COORDINATOR})
    with pytest.raises(DomainError):
        services.withdraw(referral, reason="  ", by=user)
    services.withdraw(referral, reason="Patient moved to another region", by=user)
    db.session.commit()
    assert referral.status is CaseStatus.WITHDRAWN
    last = db.session.scalars(select(CaseEvent).order_by(CaseEvent.id.desc())).first()
    assert (last.to_status, last.note) == (CaseStatus.WITHDRAWN, "Patient moved to another region")
    with pytest.raises(InvalidTransition):
        services.change_status(referral, CaseStatus.REFERRED, by=user)


def test_every_change_is_audited(app):
    referral = make_referral()
    services.update_referral(
        referral,
        {"nrs_now": 4},
        expected_version=referral.version,
        by=make_user(roles={Role.COORDINATOR}),
    )
    db.session.commit()
    entries = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "Referral", AuditEntry.entity_id == str(referral.id)
        )
    ).all()
    assert entries[0].action is AuditAction.INSERT
    assert any(entry.changes.get("nrs_now") == [7, 4] for entry in entries)
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.entity_type == "Patient")
        )
        == 1
    )


def test_correcting_a_patient_identity(app):
    patient = make_patient(last_name="Dupond")
    services.update_patient(
        patient,
        identity(
            mrn=patient.mrn,
            last_name="Dupont",
            first_name=patient.first_name,
            birth_on=patient.birth_on,
        ),
        by=make_user(roles={Role.COORDINATOR}),
    )
    db.session.commit()
    assert patient.display_name.startswith("DUPONT")
    assert patient.last_first_key.startswith("dupont ")
    other = make_patient()
    with pytest.raises(DomainError) as refused:
        services.update_patient(
            other, identity(mrn=patient.mrn), by=make_user(roles={Role.RADIOLOGIST})
        )
    assert refused.value.field == "mrn"


# --- dates of a case are plausible ------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("referral_on", date(1900, 1, 1), "before 2000"),
        ("patient_agreed_on", date(1999, 12, 31), "before 2000"),
        ("patient_agreed_on", date(2026, 11, 21), "in the future"),
        ("patient_agreed_on", date(2004, 1, 1), "before the patient's birth date"),
    ],
)
def test_the_service_refuses_an_implausible_date_of_a_case(app, field, value, message):
    patient = make_patient(birth_on=date(2005, 5, 5))
    with pytest.raises(DomainError) as refused:
        make_referral(patient=patient, **{field: value})
    assert refused.value.field == field
    assert message in str(refused.value)
    referral = make_referral(patient=patient)
    with pytest.raises(DomainError) as refused:
        services.update_referral(
            referral,
            {field: value},
            expected_version=referral.version,
            by=make_user(roles={Role.COORDINATOR}),
        )
    assert refused.value.field == field
