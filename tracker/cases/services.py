"""Referring a case, completing and editing it, withdrawing it, moving its status."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from blinker import Namespace
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.exc import StaleDataError

from tracker.auth.models import User
from tracker.cases.contact import (
    ContactChannel,
    channel_problem,
    online_channel,
    read_email,
    read_phone,
)
from tracker.cases.forms import ContactFields, ReferralFields
from tracker.cases.models import (
    CaseEvent,
    CaseEventKind,
    CaseNumberCounter,
    Patient,
    Referral,
    Sex,
    name_key,
)
from tracker.cases.permissions import (
    can_correct_identity,
    can_edit_contact,
    can_edit_referral,
)
from tracker.cases.rules import (
    EDITABLE,
    RECENT_REFERRAL,
    CaseStatus,
    birth_date_problem,
    case_date_problem,
    case_number,
    mrn_problem,
    status_after_edit,
)
from tracker.core import locking
from tracker.core.audit_trail import changes_since
from tracker.core.errors import DomainError, Forbidden
from tracker.core.fields import assign, data_fields
from tracker.core.i18n import day_text
from tracker.core.time import local_today, utcnow
from tracker.extensions import db

logger = logging.getLogger(__name__)

SCORE_FIELDS = {"nrs_now": 10, "nrs_average": 10, "nrs_worst": 10, "dn4": 10}


@dataclass(frozen=True)
class PatientIdentity:
    mrn: str
    last_name: str
    first_name: str
    birth_on: date
    sex: Sex


class PatientMismatch(DomainError):
    """The hospital number belongs to a patient with another name or birth date."""

    def __init__(self, existing: Patient) -> None:
        super().__init__(
            _l(
                "Hospital number %(mrn)s already belongs to %(name)s, born on %(birth)s. "
                "Check the number; if this is the same patient, tick “Use the existing "
                "patient record” (their identity is kept as recorded).",
                mrn=existing.mrn,
                name=existing.display_name,
                birth=day_text(existing.birth_on, "d MMMM y"),
            ),
            "mrn",
        )
        self.existing = existing


class RecentReferral(DomainError):
    """The patient was referred a few minutes ago: perhaps the same referral sent twice."""

    def __init__(self, earlier: Referral) -> None:
        super().__init__(
            _l(
                "This patient was referred a few minutes ago (%(case)s). If this is a new "
                "referral, tick “Save anyway”.",
                case=earlier.case_number,
            ),
            "save_anyway",
        )
        self.earlier = earlier


def check_not_just_referred(patient: Patient, *, confirmed: bool) -> None:
    """Refuse a referral for a patient referred within ``RECENT_REFERRAL``,
    unless the referrer ``confirmed`` that it is a new one."""
    if confirmed or patient.id is None:
        return
    earlier = db.session.scalar(
        select(Referral)
        .where(Referral.patient_id == patient.id, Referral.created_at >= utcnow() - RECENT_REFERRAL)
        .order_by(Referral.created_at.desc())
        .limit(1)
    )
    if earlier is not None:
        raise RecentReferral(earlier)


class EditConflict(locking.EditConflict):
    """Someone saved the case after the editor opened it."""

    default_message = _l(
        "Someone else saved this case while you were editing it. Your changes are "
        "not saved yet: check what they changed below, then save again."
    )


# --- patients ---------------------------------------------------------------


def normalize_mrn(mrn: str) -> str:
    return mrn.strip().upper()


def _check_identity(identity: PatientIdentity) -> None:
    problem = mrn_problem(identity.mrn, current_app.config["MRN_PATTERN"])
    if problem:
        raise DomainError(problem, "mrn")
    problem = birth_date_problem(identity.birth_on, local_today())
    if problem:
        raise DomainError(problem, "birth_on")


def find_patient(mrn: str) -> Patient | None:
    return db.session.scalar(select(Patient).where(Patient.mrn == normalize_mrn(mrn)))


def _same_person(patient: Patient, identity: PatientIdentity) -> bool:
    return (
        name_key(patient.last_name) == name_key(identity.last_name)
        and name_key(patient.first_name) == name_key(identity.first_name)
        and patient.birth_on == identity.birth_on
    )


def patient_for_referral(identity: PatientIdentity, *, use_existing: bool = False) -> Patient:
    """The patient with this hospital number, created if new.

    A known number with another name or birth date is refused unless the user
    confirms it is the same person: two records are never merged silently, and
    an existing identity is never overwritten from a referral form.
    """
    identity = PatientIdentity(**{**identity.__dict__, "mrn": normalize_mrn(identity.mrn)})
    _check_identity(identity)
    existing = find_patient(identity.mrn)
    if existing is not None:
        if _same_person(existing, identity) or use_existing:
            return existing
        raise PatientMismatch(existing)
    patient = Patient(mrn=identity.mrn)
    patient.set_identity(
        last_name=identity.last_name,
        first_name=identity.first_name,
        birth_on=identity.birth_on,
        sex=identity.sex,
    )
    db.session.add(patient)
    db.session.flush()
    return patient


def update_patient(
    patient: Patient,
    identity: PatientIdentity,
    *,
    by: User,
    expected_version: int | None = None,
) -> None:
    """Correct a patient's identity (all their cases follow).

    ``expected_version`` is the version of the record the editor started from
    (see ``tracker.core.locking``)."""
    if not can_correct_identity(by, patient):
        raise Forbidden()
    locking.check_version(patient, expected_version)
    identity = PatientIdentity(**{**identity.__dict__, "mrn": normalize_mrn(identity.mrn)})
    _check_identity(identity)
    other = find_patient(identity.mrn)
    if other is not None and other.id != patient.id:
        raise DomainError(_l("Another patient already has this hospital number."), "mrn")
    patient.mrn = identity.mrn
    patient.set_identity(
        last_name=identity.last_name,
        first_name=identity.first_name,
        birth_on=identity.birth_on,
        sex=identity.sex,
    )
    db.session.flush()


# --- how to reach a patient ---------------------------------------------------

#: The form's consent box, which is not a column: it records a date and a person.
CONSENT_FIELD = "contact_consent"
#: The patient's columns that ``ContactFields`` fills in.
CONTACT_COLUMNS = tuple(name for name in data_fields(ContactFields) if name != CONSENT_FIELD)


def update_contact(
    patient: Patient,
    values: dict[str, Any],
    *,
    by: User,
    keep_recorded: bool = False,
    expected_version: int | None = None,
) -> None:
    """Record how to reach the patient for follow-up (every case of theirs shows it).

    ``values`` are ``ContactFields``' data: phone numbers as typed, stored as
    E.164; the e-mail address; the preferred language and way to be contacted;
    and ``contact_consent``: ticked, the consent is recorded with today's date
    and ``by`` (or kept as first recorded); not ticked, it is withdrawn. With
    ``keep_recorded`` (from a referral form, whose patient may be known
    already) what is left empty keeps what is recorded: a referral adds to the
    patient's contact details and never erases them.
    """
    if not can_edit_contact(by, patient):
        raise Forbidden()
    locking.check_version(patient, expected_version)
    values = dict(values)
    consents = bool(values.pop(CONSENT_FIELD, False))
    for name in ("phone_1", "phone_2"):
        if values.get(name):
            values[name] = read_phone(values[name], name)
    if values.get("email"):
        values["email"] = read_email(values["email"], "email")
    if keep_recorded:
        # Nothing erased, and a number recorded already is not taken as a new one.
        values = {
            name: value
            for name, value in values.items()
            if value is not None
            and not (name in ("phone_1", "phone_2") and value in patient.phones)
        }
    given = {name: value or None for name, value in values.items()}
    # Names the form does not declare reach ``assign``, which refuses them.
    contact = {name: getattr(patient, name) for name in CONTACT_COLUMNS} | given
    if contact["phone_2"] and contact["phone_2"] == contact["phone_1"]:
        raise DomainError(_l("This is the same number as the first phone."), "phone_2")
    if contact["phone_2"] and not contact["phone_1"]:
        # The first number is the one called first: a single number is it.
        contact["phone_1"], contact["phone_2"] = contact["phone_2"], None
    phones = [phone for phone in (contact["phone_1"], contact["phone_2"]) if phone]
    problem = channel_problem(contact["preferred_channel"], phones, contact["email"])
    if problem:
        raise DomainError(problem, "preferred_channel")
    assign(patient, contact, ContactFields)
    if consents and patient.contact_consent_on is None:
        patient.contact_consent_on = local_today()
        patient.contact_consent_by_id = by.id
        # Agreed again after opting out from a message: invited again.
        patient.contact_opted_out_on = None
    elif not consents and not keep_recorded:
        patient.contact_consent_on = None
        patient.contact_consent_by_id = None
    db.session.flush()


def questionnaire_channel(patient: Patient) -> ContactChannel | None:
    """How the patient receives the follow-up questionnaires online, if they do
    (``contact.online_channel``; text messages only where the site has an SMS
    gateway, ``TRACKER_SMS_URL``)."""
    return online_channel(
        patient.contact_consent_on,
        patient.preferred_channel,
        patient.phones,
        patient.email,
        sms=bool(current_app.config.get("SMS_URL")),
    )


# --- referrals --------------------------------------------------------------


def next_case_number(on: date) -> str:
    """RCP-<year>-<n>: one counter per year, incremented atomically, so two
    referrals saved at once never get the same number and none is reused."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(CaseNumberCounter)
        .values(year=on.year, last_number=1)
        .on_conflict_do_update(
            index_elements=["year"],
            set_={"last_number": CaseNumberCounter.last_number + 1},
        )
        .returning(CaseNumberCounter.last_number)
    )
    number = db.session.execute(statement).scalar_one()
    return case_number(on.year, number)


def _check_details(details: dict[str, Any], patient: Patient) -> None:
    """Rules that hold whatever form the details come from."""
    today = local_today()
    for name in ("referral_on", "patient_agreed_on"):
        value = details.get(name)
        if value is not None:
            problem = case_date_problem(value, today, patient.birth_on)
            if problem:
                raise DomainError(problem, name)
    for name, maximum in SCORE_FIELDS.items():
        value = details.get(name)
        if value is not None and (not isinstance(value, int) or not 0 <= value <= maximum):
            raise DomainError(_l("Enter a whole number from 0 to %(n)d.", n=maximum), name)
    months = details.get("pain_duration_months")
    if months is not None and months < 0:
        raise DomainError(_l("The duration cannot be negative."), "pain_duration_months")


def _record_event(
    referral: Referral,
    kind: CaseEventKind,
    *,
    by: User | None,
    from_status: CaseStatus | None = None,
    to_status: CaseStatus | None = None,
    note: str | None = None,
) -> None:
    db.session.add(
        CaseEvent(
            referral=referral,
            kind=kind,
            from_status=from_status,
            to_status=to_status,
            note=note,
            actor_id=by.id if by is not None else None,
        )
    )


#: Sent after a case changed status (sender: the referral; ``previous``, ``by``),
#: so that other features follow (a withdrawn case leaves its agenda).
status_changed = Namespace().signal("case-status-changed")


def change_status(
    referral: Referral, status: CaseStatus, *, by: User | None, note: str | None = None
) -> None:
    """Move a case (if the move is allowed) and note it on its timeline."""
    previous = referral.move_to(status)
    _record_event(
        referral,
        CaseEventKind.STATUS_CHANGED,
        by=by,
        from_status=previous,
        to_status=status,
        note=note,
    )
    db.session.flush()
    status_changed.send(referral, previous=previous, by=by)


def _settle_status(referral: Referral, by: User | None) -> None:
    wanted = status_after_edit(referral.status, referral.is_complete)
    if wanted is not referral.status:
        change_status(referral, wanted, by=by)


def refer_case(patient: Patient, details: dict[str, Any], *, by: User) -> Referral:
    """Register a referral; it is "referred" at once if complete, else a draft."""
    _check_details(details, patient)
    referral = Referral(
        patient=patient,
        case_number=next_case_number(details.get("referral_on") or local_today()),
        status=CaseStatus.DRAFT,
        created_by_id=by.id,
    )
    assign(referral, details, ReferralFields)
    db.session.add(referral)
    _record_event(referral, CaseEventKind.CREATED, by=by, to_status=CaseStatus.DRAFT)
    db.session.flush()
    _settle_status(referral, by)
    logger.info("Referral %s registered (%s)", referral.case_number, referral.status.name)
    return referral


def update_referral(
    referral: Referral, details: dict[str, Any], *, expected_version: int, by: User
) -> None:
    """Save an edited referral sheet.

    ``expected_version`` is the version the editor started from: if someone
    saved in between, nothing is written and ``EditConflict`` lists their changes.
    """
    if not can_edit_referral(by, referral):
        raise Forbidden()
    if referral.status not in EDITABLE:
        raise DomainError(
            _l(
                "This case has been discussed: its referral sheet is what the meeting saw "
                "and can no longer be changed. Present the case again for new facts."
            )
        )
    locking.check_version(referral, expected_version, conflict=EditConflict)
    _check_details(details, referral.patient)
    assign(referral, details, ReferralFields)
    if referral.status is CaseStatus.SCHEDULED and not referral.is_complete:
        raise DomainError(
            _l(
                "This case is on a meeting's agenda: the fields the meeting needs cannot be "
                "emptied. Remove it from the agenda first."
            )
        )
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise EditConflict(changes_since("Referral", referral.id, expected_version)) from None
    _settle_status(referral, by)


def withdraw(referral: Referral, *, reason: str, by: User) -> None:
    if not can_edit_referral(by, referral):
        raise Forbidden()
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Say why the case is withdrawn."), "reason")
    change_status(referral, CaseStatus.WITHDRAWN, by=by, note=reason)
    referral.withdrawn_reason = reason
    db.session.flush()
