"""Patients and their referred pain cases (the referral data sheet)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.auth.models import User
from tracker.cases.contact import E164_LENGTH, MAX_EMAIL, ContactChannel, ContactLanguage
from tracker.cases.rules import (
    CaseStatus,
    SafetyFact,
    check_transition,
    missing_fields,
    safety_facts,
)
from tracker.catalogue.models import Indication
from tracker.core.audit import Anchored
from tracker.core.enums import LabelledEnum, with_labels
from tracker.core.locking import Versioned
from tracker.core.reads import identifies_patients
from tracker.core.time import local_today, utcnow
from tracker.extensions import Model

if TYPE_CHECKING:
    from tracker.followups.models import CaseVerdict

#: Name keys sort byte by byte on every database, so that a prefix search is a
#: range scan on the index (PostgreSQL's default collations ignore spaces).
NameKey = String(200).with_variant(String(200, collation="C"), "postgresql")


def name_key(*parts: str | None) -> str:
    """Lower-case ASCII words: "Lefèvre-Dupont Éloïse" -> "lefevre dupont eloise"."""
    text = " ".join(part for part in parts if part)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", ascii_text.lower()).strip()


class Sex(LabelledEnum):
    FEMALE = "female"
    MALE = "male"
    UNDETERMINED = "undetermined"


with_labels(
    Sex,
    {Sex.FEMALE: _l("Female"), Sex.MALE: _l("Male"), Sex.UNDETERMINED: _l("Undetermined")},
)


class Patient(Anchored, Versioned, Model):
    """A person with one or more pain cases over the years."""

    __audit_label__ = _l("Patient")

    __tablename__ = "patients"
    __audit_exclude__ = frozenset({"last_first_key", "first_last_key"})

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Hospital identifier (medical record number), unique in the hospital.
    mrn: Mapped[str] = mapped_column(String(20), unique=True)
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    birth_on: Mapped[date]
    sex: Mapped[Sex]
    #: Search keys, "last first" and "first last" (see ``name_key``).
    last_first_key: Mapped[str] = mapped_column(NameKey, index=True)
    first_last_key: Mapped[str] = mapped_column(NameKey, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # How to reach the patient for follow-up (``tracker.cases.contact``). Never
    # put in an e-mail: e-mails leave the hospital.
    #: Phone numbers in E.164 ("+33612345678"); the first is called first.
    phone_1: Mapped[str | None] = mapped_column(String(E164_LENGTH))
    phone_2: Mapped[str | None] = mapped_column(String(E164_LENGTH))
    email: Mapped[str | None] = mapped_column(String(MAX_EMAIL))
    preferred_language: Mapped[ContactLanguage | None]
    preferred_channel: Mapped[ContactChannel | None]
    #: When the patient agreed to be contacted for follow-up, and who recorded
    #: it; both empty until then (and again if they withdraw it).
    contact_consent_on: Mapped[date | None]
    contact_consent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: When the patient asked, from a message, to receive no more online
    #: questionnaires (their consent withdrawn then); empty once it is recorded again.
    contact_opted_out_on: Mapped[date | None]

    referrals: Mapped[list[Referral]] = relationship(back_populates="patient")
    contact_consent_by: Mapped[User | None] = relationship()

    def set_identity(self, *, last_name: str, first_name: str, birth_on: date, sex: Sex) -> None:
        self.last_name = last_name.strip()
        self.first_name = first_name.strip()
        self.birth_on = birth_on
        self.sex = sex
        self.last_first_key = name_key(self.last_name, self.first_name)
        self.first_last_key = name_key(self.first_name, self.last_name)

    @property
    def phones(self) -> list[str]:
        return [phone for phone in (self.phone_1, self.phone_2) if phone]

    @property
    def display_name(self) -> str:
        """As hospital records write it: family name in capitals first."""
        return f"{self.last_name.upper()} {self.first_name}"

    @property
    def age(self) -> int:
        return age_on(self.birth_on, local_today())

    def audit_patient_id(self) -> int | None:
        return self.id


def age_on(birth_on: date, day: date) -> int:
    return day.year - birth_on.year - ((day.month, day.day) < (birth_on.month, birth_on.day))


class PainSide(LabelledEnum):
    LEFT = "left"
    RIGHT = "right"
    BILATERAL = "bilateral"
    MIDLINE = "midline"
    NOT_APPLICABLE = "not_applicable"


with_labels(
    PainSide,
    {
        PainSide.LEFT: _l("Left"),
        PainSide.RIGHT: _l("Right"),
        PainSide.BILATERAL: _l("Bilateral"),
        PainSide.MIDLINE: _l("Midline"),
        PainSide.NOT_APPLICABLE: _l("Not applicable"),
    },
)


class Mechanism(LabelledEnum):
    NOCICEPTIVE = "nociceptive"
    NEUROPATHIC = "neuropathic"
    MIXED = "mixed"


with_labels(
    Mechanism,
    {
        Mechanism.NOCICEPTIVE: _l("Nociceptive"),
        Mechanism.NEUROPATHIC: _l("Neuropathic"),
        Mechanism.MIXED: _l("Mixed"),
    },
)


class Urgency(LabelledEnum):
    ROUTINE = "routine"
    URGENT = "urgent"


with_labels(Urgency, {Urgency.ROUTINE: _l("Routine"), Urgency.URGENT: _l("Urgent")})


class Anticoagulation(LabelledEnum):
    NONE = "none"
    ANTIPLATELET = "antiplatelet"
    ANTICOAGULANT = "anticoagulant"
    BOTH = "both"


with_labels(
    Anticoagulation,
    {
        Anticoagulation.NONE: _l("None"),
        Anticoagulation.ANTIPLATELET: _l("Antiplatelet therapy"),
        Anticoagulation.ANTICOAGULANT: _l("Anticoagulant therapy"),
        Anticoagulation.BOTH: _l("Antiplatelet and anticoagulant therapy"),
    },
)


class TreatmentTried(LabelledEnum):
    NON_OPIOID_ANALGESICS = "non_opioid_analgesics"
    WEAK_OPIOIDS = "weak_opioids"
    STRONG_OPIOIDS = "strong_opioids"
    NEUROPATHIC_DRUGS = "neuropathic_drugs"
    TOPICAL = "topical"
    PHYSIOTHERAPY = "physiotherapy"
    TENS = "tens"
    PSYCHOLOGICAL = "psychological"
    INFILTRATIONS = "infiltrations"
    PREVIOUS_PROCEDURE = "previous_procedure"
    SURGERY = "surgery"
    RADIOTHERAPY = "radiotherapy"


with_labels(
    TreatmentTried,
    {
        TreatmentTried.NON_OPIOID_ANALGESICS: _l("Non-opioid analgesics (paracetamol, NSAIDs)"),
        TreatmentTried.WEAK_OPIOIDS: _l("Weak opioids"),
        TreatmentTried.STRONG_OPIOIDS: _l("Strong opioids"),
        TreatmentTried.NEUROPATHIC_DRUGS: _l(
            "Neuropathic pain drugs (antiepileptics, antidepressants)"
        ),
        TreatmentTried.TOPICAL: _l("Topical treatments (lidocaine, capsaicin)"),
        TreatmentTried.PHYSIOTHERAPY: _l("Physiotherapy"),
        TreatmentTried.TENS: _l("Transcutaneous nerve stimulation (TENS)"),
        TreatmentTried.PSYCHOLOGICAL: _l("Psychological care"),
        TreatmentTried.INFILTRATIONS: _l("Infiltrations"),
        TreatmentTried.PREVIOUS_PROCEDURE: _l("Previous interventional procedure"),
        TreatmentTried.SURGERY: _l("Surgery"),
        TreatmentTried.RADIOTHERAPY: _l("Radiotherapy"),
    },
)


class Referral(Anchored, Versioned, Model):
    """A pain case referred to the RCP: the referral data sheet and its status."""

    __audit_label__ = _l("Case")

    __tablename__ = "referrals"
    __table_args__ = (
        # The lists people live on: status by date, and each filter of the case list.
        Index(None, "status", "referral_on"),
        Index(None, "referral_on"),
        Index(None, "indication_id", "referral_on"),
        Index(None, "referrer_id", "referral_on"),
        Index(None, "referrer_id", "created_at"),  # "my referrals", newest first
        Index(None, "urgency", "referral_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Human-readable and never reused, e.g. RCP-2026-0042.
    case_number: Mapped[str] = mapped_column(String(20), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    status: Mapped[CaseStatus] = mapped_column(default=CaseStatus.DRAFT)
    # Who and when
    #: The team member who refers the case (and presents it by default).
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: A doctor outside the team who sent the patient (GP, surgeon...), if any.
    external_referrer: Mapped[str | None] = mapped_column(String(200))
    referral_on: Mapped[date | None]
    urgency: Mapped[Urgency] = mapped_column(default=Urgency.ROUTINE)

    # The pain
    indication_id: Mapped[int | None] = mapped_column(ForeignKey("indications.id"))
    pain_site: Mapped[str | None] = mapped_column(String(200))
    pain_side: Mapped[PainSide | None]
    mechanism: Mapped[Mechanism | None]
    pain_duration_months: Mapped[int | None]
    #: Baseline pain on the 11-point numeric rating scale (0-10).
    nrs_now: Mapped[int | None]
    nrs_average: Mapped[int | None]
    nrs_worst: Mapped[int | None]
    #: DN4 neuropathic pain questionnaire (0-10; 4 or more suggests neuropathic pain).
    dn4: Mapped[int | None]

    # History and risks
    #: Names of ``TreatmentTried`` members.
    #: Names of ``TreatmentTried`` members (the audit trail shows their labels).
    treatments_tried: Mapped[list[str]] = mapped_column(
        JSON, default=list, info={"enum": TreatmentTried}
    )
    treatments_other: Mapped[str | None] = mapped_column(Text)
    anticoagulation: Mapped[Anticoagulation | None]
    anticoagulation_details: Mapped[str | None] = mapped_column(String(500))
    allergies: Mapped[str | None] = mapped_column(String(500))
    imaging: Mapped[str | None] = mapped_column(Text)

    # Oncology context
    is_oncology: Mapped[bool] = mapped_column(default=False)
    primary_tumour: Mapped[str | None] = mapped_column(String(200))
    has_bone_metastases: Mapped[bool] = mapped_column(default=False)

    # For the meeting
    question: Mapped[str | None] = mapped_column(Text)
    #: The date the patient agreed to the case being presented (recorded by the
    #: referring doctor); empty until then.
    patient_agreed_on: Mapped[date | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    #: The earlier case of the same problem this one presents again (episode 2...).
    previous_referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"), index=True)
    #: Why the case is presented again (pain back after regrowth, new facts...).
    recurrence_reason: Mapped[str | None] = mapped_column(Text)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    patient: Mapped[Patient] = relationship(back_populates="referrals")
    referrer: Mapped[User | None] = relationship(foreign_keys=[referrer_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    indication: Mapped[Indication | None] = relationship()
    previous: Mapped[Referral | None] = relationship(remote_side=[id])
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="referral", order_by="CaseEvent.occurred_at", cascade="all"
    )
    if TYPE_CHECKING:
        #: The retreatment verdict of a treated case (declared by ``CaseVerdict``).
        verdict: Mapped[CaseVerdict | None]

    def audit_case_id(self) -> int | None:
        return self.id

    def audit_patient_id(self) -> int | None:
        return self.patient_id

    @property
    def treatments(self) -> list[TreatmentTried]:
        return [TreatmentTried[name] for name in self.treatments_tried or []]

    @property
    def missing(self) -> list[str]:
        return missing_fields(self)

    @property
    def is_complete(self) -> bool:
        return not self.missing

    @property
    def safety_facts(self) -> list[SafetyFact]:
        return safety_facts(self)

    def move_to(self, status: CaseStatus) -> CaseStatus:
        """Change status if the move is allowed (raises ``InvalidTransition``)."""
        previous = self.status
        check_transition(previous, status)
        self.status = status
        return previous

    def __repr__(self) -> str:
        return f"<Referral {self.case_number} {self.status.name}>"


class CaseEventKind(LabelledEnum):
    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    NOTE = "note"


with_labels(
    CaseEventKind,
    {
        CaseEventKind.CREATED: _l("Referral registered"),
        CaseEventKind.STATUS_CHANGED: _l("Status changed"),
        CaseEventKind.NOTE: _l("Note"),
    },
)


class CaseEvent(Model):
    """A line of the case's timeline that no other record tells (status moves,
    notes such as a roll-over to the next meeting)."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[CaseEventKind]
    from_status: Mapped[CaseStatus | None]
    to_status: Mapped[CaseStatus | None]
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    referral: Mapped[Referral] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class CaseNumberCounter(Model):
    """The last case number given in a year: numbers are never reused."""

    __tablename__ = "case_number_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int]


def enum_names(values: Any) -> list[str]:
    return [value.name for value in values or []]


# A patient's record and their referrals identify them: any page that loads one
# records the read (see ``tracker.core.reads``).
identifies_patients(Patient, patient_id=lambda patient: patient.id)
identifies_patients(
    Referral,
    referral_id=lambda referral: referral.id,
    patient_id=lambda referral: referral.patient_id,
)
